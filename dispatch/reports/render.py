"""A report as data: CSV rows (one per group and interval, one per group and target) and JSON."""

import csv
import io

import orjson

CSV_COLUMNS = (
    "group_by",
    "key",
    "row",
    "name",
    "count",
    "p50_s",
    "p90_s",
    "p95_s",
    "target_s",
    "goal",
    "met",
    "fraction",
    "ok",
    "satisfaction_mean",
    "priority",
)


def _rows(report: dict):
    group_by = report["group_by"]
    blocks = [("(all)", report["overall"])] + [(g["key"], g) for g in report["groups"]]
    for key, block in blocks:
        for name, s in block["intervals"].items():
            yield {
                "group_by": group_by,
                "key": key,
                "row": "interval",
                "name": name,
                "count": s["count"],
                "p50_s": s["p50"],
                "p90_s": s["p90"],
                "p95_s": s["p95"],
            }
        for c in block["compliance"]:
            yield {
                "group_by": group_by,
                "key": key,
                "row": "target",
                "name": c["target"],
                "count": c["count"],
                "target_s": c["seconds"],
                "goal": c["goal"],
                "met": c["met"],
                "fraction": c["fraction"],
                "ok": c["ok"],
            }
        f = block["feedback"]
        yield {
            "group_by": group_by,
            "key": key,
            "row": "feedback",
            "name": "answered/offered",
            "count": f["offered"],
            "met": f["answered"],
            "satisfaction_mean": f["satisfaction_mean"],
        }
        yield {"group_by": group_by, "key": key, "row": "feedback", "name": "complaints", "count": f["complaints"]}


def report_csv(*reports: dict) -> str:
    """Long-form CSV of one or more reports (one per grouping); empty cells where a value does not apply.
    Feedback rows carry links offered in `count`, answers in `met` and the mean satisfaction in its own column;
    `priority` is the report's filter (empty for all priorities)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for report in reports:
        for row in _rows(report):
            row["priority"] = report.get("priority")
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def report_json(full: dict) -> bytes:
    return orjson.dumps(full, option=orjson.OPT_INDENT_2)
