"""The report as one HTML page with its charts embedded: what a commander prints or mails."""

import base64
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from dispatch.reports import charts, queries

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}td,th{border-bottom:1px solid #ddd;
padding:.2em .6em;text-align:right}td:first-child,th:first-child{text-align:left}.miss{color:#c0392b;
font-weight:bold}.ok{color:#1e8449}img{max-width:100%}h2{margin-top:1.6em}small{color:#666}"""


def _s(value) -> str:
    if value is None:
        return "–"
    return f"{int(value) // 60}:{round(value) % 60:02d}" if value >= 60 else f"{value:.0f} s"


def _local(moment: str, zone: ZoneInfo) -> str:
    return f"{datetime.fromisoformat(moment).astimezone(zone):%Y-%m-%d %H:%M}"


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _interval_table(report: dict, intervals: tuple[str, ...]) -> str:
    head = "".join(f"<th colspan=4>{escape(i.replace('_', ' '))}</th>" for i in intervals)
    sub = "<th></th>" + "<th>n</th><th>p50</th><th>p90</th><th>p95</th>" * len(intervals)
    rows = []
    for key, block in [("all", report["overall"])] + [(g["key"], g) for g in report["groups"]]:
        cells = "".join(
            f"<td>{s['count']:,}</td><td>{_s(s['p50'])}</td><td>{_s(s['p90'])}</td><td>{_s(s['p95'])}</td>"
            for s in (block["intervals"][i] for i in intervals)
        )
        rows.append(f"<tr><td>{escape(str(key))}</td>{cells}</tr>")
    return f"<table><tr><th>{escape(report['group_by'])}</th>{head}</tr><tr>{sub}</tr>{''.join(rows)}</table>"


def _compliance_table(report: dict) -> str:
    rows = []
    for c in report["overall"]["compliance"]:
        cls = "" if c["ok"] is None else ("ok" if c["ok"] else "miss")
        share = "–" if c["fraction"] is None else f"{c['fraction'] * 100:.1f} %"
        rows.append(
            f"<tr><td>{escape(c['name'])}</td><td>{c['count']:,}</td><td>{c['met']:,}</td>"
            f"<td class={cls}>{share}</td><td>{c['goal'] * 100:g} %</td></tr>"
        )
    sources = "".join(f"<li><b>{escape(t['key'])}</b>: {escape(t['source'])}</li>" for t in report["targets"])
    return (
        f"<table><tr><th>target</th><th>incidents / units</th><th>within</th><th>share</th><th>goal</th></tr>"
        f"{''.join(rows)}</table><small><ul>{sources}</ul></small>"
    )


def _feedback(report: dict) -> str:
    f = report["overall"]["feedback"]
    scores = ", ".join(f"{k}: {v}" for k, v in f["satisfaction"].items())
    mean = "–" if f["satisfaction_mean"] is None else f"{f['satisfaction_mean']:.2f}"
    return (
        f"<p>Feedback links sent {f['offered']:,}, answered {f['answered']:,}; mean satisfaction {mean} "
        f"(1–5; {scores}); complaints {f['complaints']:,}.</p>"
    )


def report_html(full: dict, *, title: str = "Response times") -> str:
    by = full["by"]
    zone = ZoneInfo(full["time_zone"])
    first = next(iter(by.values()))
    distribution = {int(p): bars for p, bars in full["distribution"].items()}
    parts = [
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title><style>{STYLE}</style>",
        f"<h1>{escape(title)}</h1><p>Incidents received from {_local(full['from'], zone)} to "
        f"{_local(full['to'], zone)} ({escape(full['time_zone'])} time, as the hours and days below). Exact "
        f"percentiles (linear interpolation, as PostgreSQL's percentile_cont); cancelled and merged incidents "
        f"left out. Times in minutes:seconds.</p>",
        "<h2>Compliance with the targets</h2>",
        _compliance_table(first),
        _feedback(first),
        _img(charts.distribution_chart(distribution, first), "response-time distribution per priority"),
    ]
    if "hour" in by:
        parts.append(_img(charts.hourly_chart(by["hour"]), "percentiles by hour of the day"))
    if "municipality" in by:
        parts.append(_img(charts.compliance_chart(by["municipality"]), "compliance by municipality"))
    incident = ("processing", "response", "on_scene", "total")
    for grouping, report in by.items():
        parts.append(f"<h2>By {escape(grouping)}</h2>")
        if grouping not in queries.UNIT_GROUPINGS:
            parts.append(_interval_table(report, incident))
        parts.append(_interval_table(report, ("turnout", "travel")))
    parts.append(
        f"<p><small>Made {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `dispatch report`. "
        "Definitions and targets: docs/reports.md.</small></p></html>"
    )
    return "\n".join(parts)
