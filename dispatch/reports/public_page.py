"""The public response-times page: a chart and a table per municipality, server-rendered (inline SVG, no
script, no external resource), readable by screen readers and printable."""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from html import escape

from dispatch.reports.queries import OUTSIDE, UNKNOWN
from dispatch.reports.targets import Target

WITHHELD = "withheld"
NONE = "–"
MEDIAN_COLOUR, P90_COLOUR = "#0b4f8a", "#6f9fd2"  # 8.6:1 and 3.0:1 on white (bars are graphics: 3:1)
TARGET_COLOUR = "#b35900"  # 4.9:1 on white: the target line and its label
PRIORITY_NAMES = {1: "life-threatening calls", 2: "urgent calls", 3: "prompt calls", 4: "routine calls"}
TICK_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 240, 480)
# The chart's drawing box (SVG user units; it scales with the page).
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 560, 226, 46, 8, 12, 56

STYLE = """
:root{color:#1a1a1a;background:#fff;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0}header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{border-bottom:4px solid #0b4f8a;padding-top:1rem}h1{font-size:1.8rem;margin:.3rem 0}
h2{font-size:1.35rem;margin:2rem 0 .5rem;border-top:1px solid #ccc;padding-top:1rem}main>h2:first-child{border:0}
h3{font-size:1.05rem;margin:.6rem 0}
a{color:#0b4f8a}a:focus-visible,[tabindex]:focus-visible{outline:3px solid #b35900;outline-offset:2px}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}
.lede{font-size:1.1rem;max-width:48rem}.key{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;padding:0;list-style:none}
.swatch{display:inline-block;width:1rem;height:1rem;vertical-align:-.15rem;margin-right:.4rem;border:1px solid #1a1a1a}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,22rem),1fr));gap:1rem}
figure{margin:0}svg{width:100%;height:auto;display:block}figcaption{font-weight:600}
.table{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}th,td{padding:.25rem .6rem;border-bottom:1px solid #ccc;
text-align:right;white-space:nowrap}th[scope=row],thead th:first-child{text-align:left}
.withheld{color:#595959;font-style:italic}th[scope=row] small{display:block;font-weight:400;color:#4a4a4a}
.line{display:inline-block;width:1.6rem;vertical-align:.3rem;margin-right:.4rem;border-top:3px dashed #b35900}
dl dt{font-weight:600}dl dd{margin:0 0 .6rem 0;max-width:48rem}
footer{margin-top:2rem;border-top:1px solid #ccc;padding-bottom:2rem;color:#4a4a4a;font-size:.9rem}
@media print{:root{font-size:10pt}nav,.skip{display:none}header{border-bottom:2px solid #000}
section{break-inside:avoid}h2{break-after:avoid}a{color:#000;text-decoration:none}.table{overflow:visible}}
.skip{position:absolute;left:-100rem}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.3rem}
"""


def minutes(seconds: float | None) -> str:
    """A duration as citizens read it, never as decimal minutes (4.5 min reads as 4 min 50 s): "4 min 30 s" to
    the nearest 10 seconds, "40 s", "8 min", and from an hour on "2 h 05 min" to the minute; "–" for none."""
    if seconds is None:
        return NONE
    tens = round(seconds / 10)
    if tens < 360:
        whole, rest = divmod(tens * 10, 60)
        if not whole:
            return f"{rest} s"
        return f"{whole} min {rest} s" if rest else f"{whole} min"
    whole = round(seconds / 60)
    return f"{whole // 60} h {whole % 60:02d} min"


def share(fraction: float) -> str:
    """0.9 as "9 calls in 10", 0.95 as "19 calls in 20"."""
    f = Fraction(fraction).limit_denominator(100)
    return f"{f.numerator} calls in {f.denominator}"


def target_text(target: Target) -> str:
    return f"first unit on scene within {minutes(target.seconds)} for {share(target.fraction)}"


@dataclass(frozen=True)
class View:
    """What every chart and table of the page shares."""

    months: list[str]  # "YYYY-MM", oldest first
    today: date | None  # the current month is a part month up to this day
    min_count: int
    top_min: int = 1
    p1_target: Target | None = None

    def name(self, month: str) -> str:
        """ "November 2026", and for the current month "December 2026, to 6 December"."""
        if self.today is not None and month == f"{self.today:%Y-%m}":
            return f"{month_label(month)}, to {self.today.day} {calendar.month_name[self.today.month]}"
        return month_label(month)

    def partial(self, month: str) -> bool:
        return self.today is not None and month == f"{self.today:%Y-%m}"


def cell(seconds: float | None, responses: int, min_count: int) -> str:
    """A figure of the table: the time; "withheld" for too few responses to show one; "–" for none at all."""
    if responses and responses < min_count:
        return WITHHELD
    return minutes(seconds) if responses else NONE


def month_label(month: str, *, short: bool = False) -> str:
    year, number = month.split("-")
    names = calendar.month_abbr if short else calendar.month_name
    return f"{names[int(number)]} {year}"


def _scale(rows: list[dict], target: Target | None) -> int:
    """The charts' common top, in minutes: a tick step above the longest 90th percentile shown (and the target)."""
    longest = max(
        (r[k]["p90_s"] or 0 for r in rows for k in ("all_priorities", "priority_1")),
        default=0,
    )
    top = max(longest / 60, (target.seconds / 60) if target else 0, 1)
    step = next((s for s in TICK_STEPS_MIN if top / s <= 5), TICK_STEPS_MIN[-1])
    return step * (int(top // step) + 1)


def _described(view: View, by_month: dict[str, dict], key: str, count_key: str) -> str:
    parts = []
    for month in view.months:
        row = by_month.get(month)
        n = row[count_key] if row else 0
        stats = row[key] if row else {"p50_s": None, "p90_s": None}
        if n and n < view.min_count:
            parts.append(f"{view.name(month)}: withheld, fewer than {view.min_count} responses")
        elif n:
            parts.append(
                f"{view.name(month)}: median {minutes(stats['p50_s'])}, 90th percentile {minutes(stats['p90_s'])}"
            )
        else:
            parts.append(f"{view.name(month)}: no responses")
    return "; ".join(parts) + "."


def chart(ident: str, title: str, view: View, by_month: dict[str, dict], key: str, count_key: str) -> str:
    """Bars of the median and the 90th percentile per month, on a common scale of `view.top_min` minutes; on the
    priority-1 chart, the priority-1 target as a dashed line."""
    months, top_min = view.months, view.top_min
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(months), 1)
    bar = min(slot * 0.36, 28)

    def y(seconds: float) -> float:
        return TOP + plot_h * (1 - min(seconds / 60 / top_min, 1))

    target = view.p1_target if key == "priority_1" else None
    about_target = (
        f" The dashed line is the target: {target_text(target)}"
        + (", to compare with the 90th percentile." if target.fraction == 0.9 else ".")
        if target
        else ""
    )
    step = next((s for s in TICK_STEPS_MIN if top_min % s == 0 and top_min / s <= 6), top_min)
    out = [
        f'<svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{ident}-t {ident}-d" '
        f'font-size="14" font-family="system-ui,sans-serif">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">Median and 90th percentile by month, in minutes. '
        f"{escape(_described(view, by_month, key, count_key))}{escape(about_target)}</desc>",
    ]
    for tick in range(0, top_min + 1, step):
        ty = y(tick * 60)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#d0d0d0"/>'
            f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" fill="#333">{tick}</text>'
        )
    out.append(
        f'<text x="4" y="{TOP + plot_h / 2:.0f}" transform="rotate(-90 12 {TOP + plot_h / 2:.0f})" '
        f'text-anchor="middle" fill="#333">min</text>'
    )
    for i, month in enumerate(months):
        cx = LEFT + slot * (i + 0.5)
        row = by_month.get(month)
        n = row[count_key] if row else 0
        stats = row[key] if row else {"p50_s": None, "p90_s": None}
        if stats["p50_s"] is not None:
            for dx, value, colour in ((-bar, stats["p50_s"], MEDIAN_COLOUR), (0, stats["p90_s"], P90_COLOUR)):
                top = y(value or 0)
                out.append(
                    f'<rect x="{cx + dx:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{TOP + plot_h - top:.1f}" '
                    f'fill="{colour}" stroke="#1a1a1a" stroke-width=".5"/>'
                )
        elif n:
            out.append(
                f'<text x="{cx:.1f}" y="{TOP + plot_h - 4}" text-anchor="start" fill="#595959" font-size="12" '
                f'transform="rotate(-90 {cx + 3:.1f} {TOP + plot_h - 4})">withheld</text>'
            )
        label = calendar.month_abbr[int(month[5:])]
        lines = [label]
        if i == 0 or month.endswith("-01"):
            lines.append(month[:4])
        if view.today is not None and view.partial(month):
            lines.append(f"to {view.today.day}")  # a part month: its figures are so far
        for k, line in enumerate(lines):
            out.append(
                f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 16 * (k + 1)}" text-anchor="middle" fill="#333">'
                f"{line}</text>"
            )
    if target:
        ty = y(target.seconds)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="{TARGET_COLOUR}" '
            f'stroke-width="2.5" stroke-dasharray="8 5"/>'
            f'<text x="{WIDTH - RIGHT - 2}" y="{ty - 5:.1f}" text-anchor="end" fill="{TARGET_COLOUR}" '
            f'font-weight="600" paint-order="stroke" stroke="#fff" stroke-width="3">'
            f"target {minutes(target.seconds)}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#1a1a1a"/></svg>'
    )
    return "".join(out)


def _row_name(view: View, month: str) -> str:
    if view.today is not None and view.partial(month):
        return f"{month_label(month)}<small>to {view.today.day} {calendar.month_name[view.today.month]}</small>"
    return month_label(month)


def table(caption: str, view: View, by_month: dict[str, dict]) -> str:
    rows = []
    for month in reversed(view.months):  # the latest first
        r = by_month.get(month)
        head = f'<th scope="row">{_row_name(view, month)}</th>'
        if r is None:
            rows.append(f"<tr>{head}<td>0</td>" + f"<td>{NONE}</td>" * 6 + "</tr>")
            continue
        cells = [str(r["incidents"])]
        for count_key, key in (("responses", "all_priorities"), ("priority_1_responses", "priority_1")):
            n = r[count_key]
            cells.append(str(n))
            for p in ("p50_s", "p90_s"):
                text = cell(r[key][p], n, view.min_count)
                cells.append(f'<span class="withheld">{text}</span>' if text == WITHHELD else text)
        rows.append(f"<tr>{head}" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (
        f'<div class="table" tabindex="0" role="region" aria-label="{escape(caption)}"><table>'
        f"<caption>{escape(caption)}</caption><thead>"
        '<tr><td></td><td></td><th colspan="3" scope="colgroup">All priorities</th>'
        '<th colspan="3" scope="colgroup">Life-threatening (priority 1)</th></tr>'
        '<tr><th scope="col">Month</th><th scope="col">Incidents</th>'
        + '<th scope="col">Responses</th><th scope="col">Median</th><th scope="col">90th percentile</th>' * 2
        + f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _section(ident: str, name: str, view: View, by_month: dict) -> str:
    figures = "".join(
        f'<figure><figcaption id="{ident}-{key}-c">{caption}</figcaption>'
        + chart(
            f"{ident}-{key}",
            f"{name}: {caption.lower()}, median and 90th percentile by month",
            view,
            by_month,
            key,
            count_key,
        )
        + "</figure>"
        for key, count_key, caption in (
            ("all_priorities", "responses", "All priorities"),
            ("priority_1", "priority_1_responses", "Life-threatening (priority 1)"),
        )
    )
    return (
        f'<section aria-labelledby="{ident}-h"><h2 id="{ident}-h">{escape(name)}</h2>'
        f'<div class="charts">{figures}</div>{table(f"{name}: response times by month", view, by_month)}'
        "</section>"
    )


def _targets(targets: Sequence[Target]) -> str:
    """The centre's response targets by priority, as a list for citizens ("" without any)."""
    items = [
        f"<li><b>{escape(PRIORITY_NAMES.get(p, f'priority {p}').capitalize())}</b> (priority {p}): "
        f"{escape(target_text(t))}.</li>"
        for p, t in sorted(((p, t) for t in targets for p in (t.priorities or [])), key=lambda pt: pt[0])
    ]
    if not items:
        return ""
    return (
        "<p>The centre's own targets, from the call to the first unit on scene (the dashed line on the "
        f"life-threatening charts):</p><ul>{''.join(items)}</ul>"
    )


def page(
    data: dict,
    *,
    months: list[str],
    min_count: int,
    time_zone: str,
    as_of: str,
    today: date | None = None,
    targets: Sequence[Target] = (),
) -> str:
    """The whole page for `data` (service.public_response_times) over `months` ("YYYY-MM", oldest first), the
    current month shown as the part month it is up to `today`; `targets` are the response targets by priority."""
    area = data["service_area"]
    where = f" in {area}" if area else ""
    by_place: dict[str, dict[str, dict]] = {}
    for row in data["months"]:
        by_place.setdefault(row["municipality"], {})[row["month"]] = row
    places = sorted(p for p in by_place if p not in (OUTSIDE, UNKNOWN))
    others = sum(r["incidents"] for p in (OUTSIDE, UNKNOWN) for r in by_place.get(p, {}).values())
    totals = {r["month"]: r for r in data["totals"]}
    # The months before the first incident recorded say nothing (the service's records begin later): left out.
    asked = len(months)
    first = next((i for i, m in enumerate(months) if m in totals), len(months) - 1)
    months = months[first:]
    targets = [t for t in targets if t.interval == "response" and t.priorities]
    p1_target = next((t for t in targets if t.priorities == [1]), None)
    view = View(months, today, min_count, _scale(data["months"] + data["totals"], p1_target), p1_target)
    sections = [
        _section("all", "All incidents", view, totals),
        *(_section(f"m{k}", name, view, by_place[name]) for k, name in enumerate(places, 1)),
    ]
    nav = "".join(f'<li><a href="#m{k}-h">{escape(name)}</a></li>' for k, name in enumerate(places, 1))
    outside_note = (
        f" {others:,} of these months' incidents were outside the service area or could not be placed in a "
        "municipality: they count in the figures for all incidents, not in any municipality's."
        if others
        else ""
    )
    last, part_note = month_label(months[-1]), ""
    if today is not None and view.partial(months[-1]):
        last = f"{today.day} {month_label(months[-1])} (this month so far)"
        part_note = (
            f"The figures for {month_label(months[-1])} run to {today.day} {calendar.month_name[today.month]}: "
            "the month is not over, and they change until it ends. "
        )
    span = f"{month_label(months[0])} to {last}"
    empty = "" if places or data["totals"] else "<p>No incidents were recorded in these months.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Emergency response times{escape(where)}</title>
<meta name="description" content="How long the emergency service takes to reach people{escape(where)},
by month and municipality.">
<link rel="icon" href="data:,"><style>{STYLE}</style></head>
<body><a class="skip" href="#main">Skip to the figures</a>
<header><h1>Emergency response times{escape(where)}</h1>
<p class="lede">How long it took, from the moment an emergency call was received until the first emergency unit
arrived on scene, month by month: {span}.</p>
<nav aria-label="Municipalities"><ul><li><a href="#all-h">All incidents</a></li>{nav}</ul></nav></header>
<main id="main">
<h2>How to read these figures</h2>
<ul class="key">
<li><span class="swatch" style="background:{MEDIAN_COLOUR}"></span><b>Median</b>: half of the responses were this fast
or faster.</li>
<li><span class="swatch" style="background:{P90_COLOUR}"></span><b>90th percentile</b>: nine responses in ten were
this fast or faster.</li>{
        '<li><span class="line"></span><b>Target</b>: the priority-1 target, on the life-threatening charts.</li>'
        if p1_target
        else ""
    }</ul>
<p>Every chart uses the same scale in minutes, so municipalities can be compared. <b>Life-threatening</b> are the
incidents of priority 1, where every minute counts. A month marked <i>withheld</i> had fewer than {min_count}
responses.{outside_note}</p>
<p>{part_note}<b>Incidents</b>
counts every incident, also those still in progress; <b>responses</b> counts those a unit has reached. An incident
in progress counts as a response once its first unit arrives, so a month's responses can be fewer than its
incidents without anyone having been left without help.</p>
{_targets(targets)}{empty}
{"".join(sections)}
<h2>How the figures are made</h2>
<dl>
<dt>The interval</dt><dd>From the moment the call is received at the dispatch centre to the moment the first unit
reports arriving on scene, as the centre's system records them. Cancelled incidents and duplicate calls about the
same incident are left out. Times are shown to the nearest 10 seconds, and from an hour on to the minute.</dd>
<dt>Incidents and responses</dt><dd>Incidents are all the month's incidents, closed or still in progress.
Responses are the incidents a unit has reached: one still in progress counts as soon as its first unit arrives on
scene; one closed without a unit on scene (advice given on the phone, for instance) never does.</dd>
<dt>Targets</dt><dd>The targets are the centre's own, set for the whole service area; a target "for 9 calls in
10" is met when the 90th percentile is within it.</dd>
<dt>Exact percentiles</dt><dd>The median and the 90th percentile are computed from every response of the month,
not estimated from averages or samples (interpolating between the two nearest responses).</dd>
<dt>Withheld months</dt><dd>Where a municipality had fewer than {min_count} responses in a month, no times are
shown: so few say little about the service, and a single person's emergency could be read out of them.</dd>
<dt>Months and places</dt><dd>Months are calendar months in {escape(time_zone)} time. An incident counts in the
municipality where it was located. The service also answers calls from just across its border: those incidents are
not shown as a municipality.</dd>
<dt>Personal data</dt><dd>This page shows counts and times only: no names, numbers, addresses or single incidents.
</dd></dl></main>
<footer><p>Figures as of {escape(as_of)}, refreshed every few minutes. The same figures as data:
<a href="?format=json&amp;months={asked}">JSON</a>.</p></footer>
</body></html>"""
