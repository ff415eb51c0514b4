"""Geocoder benchmark: accuracy per query form, confident mistakes and latency, on the cases that
`tests/geocode_cases.py` generates from the imported map.

    .venv/bin/python benchmarks/geocode_eval.py [--map PATH] [--url URL] [--seed 7] [--per-form 40] [--json]

--map (default: the bundled map) is imported, with its fleet, into a database of its own, `<DB>_geoeval_<map>`
(<DB>: DISPATCH_DATABASE_URL's), unless that database holds it already; --url names another database (the map
imported there too if it is not). The forms the map cannot give (no corners, no house on a place) are listed as
skipped.

Per form: share right, confidently wrong (wrong at confidence >= 0.5; for reverse cases, a label without the
expected street), misranked candidate lists; then the calibration table (share right per confidence band of the
top answer). The rules are tests/geocode_judge.py's.

A measurement, not a test: it exits 0 whatever the numbers say. A query that raises is counted wrong and shown
among the failures rather than stopping the run; only a failure to build the index or read the cases crashes.
With --json the tables go to stderr and stdout holds one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `tests` is not installed; run from anywhere

import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from rich.text import Text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from dispatch.config import BUNDLED_MAP, get_settings  # noqa: E402
from dispatch.setup import ensure_database, load_map_with_fleet, migrate  # noqa: E402
from geo.osm.importer import file_sha256, latest_import  # noqa: E402
from tests.geocode_cases import (  # noqa: E402
    EXACT_FORMS,
    FORMS,
    MISSPELT_FORMS,
    Case,
    distance_m,
    generate_cases,
    is_confident_wrong,
    is_right,
)
from tests.geocode_judge import BANDS, CONFIDENT, band_of, is_ranked  # noqa: E402

# Candidates asked for: a street name exists in up to six municipalities, and an ambiguous case is only right
# when every one of them is offered.
LIMIT = 10


@dataclass
class Outcome:
    case: Case
    result: object | None  # None when the geocoder raised
    error: str | None
    ns: int
    right: bool = False
    confident_wrong: bool = False
    sure: bool = False  # an answer (not "none") with confidence >= 0.9
    kind_ok: bool = False  # match kind as expected
    ranked: bool = True  # candidates in non-increasing confidence


def map_database(map_path: Path, url: str | None) -> tuple[str, float, bool]:
    """The libpq URL of a database holding the map (made, migrated and the map imported if it does not hold it
    yet), the import's duration in seconds and whether it was imported now."""
    settings = get_settings()
    if url is None:
        slug = re.sub(r"[^a-z0-9]+", "_", map_path.name.split(".")[0].lower()).strip("_") or "map"
        db_url = make_url(settings.database_url)
        url = db_url.set(database=f"{db_url.database}_geoeval_{slug}"[:63]).render_as_string(hide_password=False)
    own = settings.model_copy(update={"database_url": url})
    ensure_database(own)
    migrate(own)
    latest = latest_import(own.libpq_url)
    if latest is not None and latest["sha256"] == file_sha256(map_path):
        with psycopg.connect(own.libpq_url) as conn:
            row = conn.execute("SELECT duration_s FROM map_imports ORDER BY id DESC LIMIT 1").fetchone()
        return own.libpq_url, float(row[0] if row else 0.0), False
    return own.libpq_url, load_map_with_fleet(map_path, own.libpq_url).duration_s, True


def _geocode(geocoder, case: Case, limit: int):
    try:
        if case.expect == "reverse":
            return geocoder.reverse(case.lat, case.lon), None
        return geocoder.geocode(case.q, limit=limit), None
    except Exception as exc:  # noqa: BLE001 - a crash on one query is a finding to report, not the end of the run
        return None, f"{type(exc).__name__}: {exc}"[:200]


def run(geocoder, cases: list[Case], limit: int) -> list[Outcome]:
    for case in cases:  # warm-up: lazy loading, caches and allocator growth stay out of the timings
        _geocode(geocoder, case, limit)
    outcomes = []
    for case in cases:
        start = time.perf_counter_ns()
        result, error = _geocode(geocoder, case, limit)
        out = Outcome(case, result, error, time.perf_counter_ns() - start)
        if result is not None:
            try:
                out.right, out.confident_wrong = is_right(case, result), is_confident_wrong(case, result)
                conf = getattr(result, "confidence", None) or 0.0
                out.sure = result.match != "none" and conf >= 0.9
                out.kind_ok = result.match == case.expect or (case.expect == "reverse" and out.right)
                out.ranked = is_ranked(result)
            except (AttributeError, TypeError, ValueError) as exc:  # a malformed result is wrong, and shown
                out.error = f"bad result: {type(exc).__name__}: {exc}"[:200]
                out.right = out.confident_wrong = out.sure = out.kind_ok = out.ranked = False
        outcomes.append(out)
    return outcomes


def percentile_ms(ns: list[int], p: float) -> float | None:
    """Nearest-rank percentile, in milliseconds, rounded to microseconds."""
    if not ns:
        return None
    ordered = sorted(ns)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] / 1e6, 3)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _fmt(value, spec: str = "", unit: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{unit}"


def summarize(outs: list[Outcome]) -> dict:
    n = len(outs)
    ns = [o.ns for o in outs]
    return {
        "cases": n,
        "right_pct": _pct(sum(o.right for o in outs), n),
        "sure_pct": _pct(sum(o.sure for o in outs), n),
        "confident_wrong": sum(o.confident_wrong for o in outs),
        "misranked": sum(not o.ranked for o in outs),
        "kind_ok_pct": _pct(sum(o.kind_ok for o in outs), n),
        "errors": sum(o.error is not None for o in outs),
        "p50_ms": percentile_ms(ns, 50),
        "p99_ms": percentile_ms(ns, 99),
    }


def _where(lat, lon) -> str:
    return "" if lat is None or lon is None else f" @{lat:.5f},{lon:.5f}"


def failure_rows(outcomes: list[Outcome], show: int) -> list[dict]:
    """Up to `show` failing cases, taken round-robin over the forms (confident mistakes first within a form)
    so that one broken form does not hide the others."""
    queues = defaultdict(list)
    for o in sorted(outcomes, key=lambda o: (not o.confident_wrong, o.error is None)):
        if not o.right:
            queues[o.case.form].append(o)
    picked = []
    while len(picked) < show and any(queues.values()):
        for form in FORMS:
            if queues[form] and len(picked) < show:
                picked.append(queues[form].pop(0))
    rows = []
    for o in picked:
        c, r = o.case, o.result
        dist = None
        if r is not None and o.error is None and c.lat is not None and r.lat is not None and r.lon is not None:
            dist = round(distance_m(c, r.lat, r.lon), 1)
        got = o.error or f"{r.match}{_where(r.lat, r.lon)} {r.label or ''}".strip()
        if r is not None and o.error is None and c.expect == "reverse":
            got += f"; a street expected: {' | '.join(c.street_names)}"
        if r is not None and o.error is None and c.form == "outside":
            got += f" in_service_area={r.in_service_area}"
        if r is not None and o.error is None and c.ambiguous:  # which municipalities were offered
            got += f"; candidates in: {', '.join(sorted({str(x.municipality) for x in r.candidates or ()}))}"
        rows.append(
            {
                "form": c.form,
                "q": c.q if len(c.q) <= 80 else c.q[:77] + "...",
                "expected": f"{c.expect}{_where(c.lat, c.lon)}" + (" (ambiguous)" if c.ambiguous else ""),
                "got": got,
                "distance_m": dist,
                "confidence": None if r is None or o.error else getattr(r, "confidence", None),
                "confident_wrong": o.confident_wrong,
            }
        )
    return rows


def calibration(outcomes: list[Outcome]) -> list[dict]:
    """Share right per band of the top answer's confidence (reverse answers state none and are left out)."""
    rows = []
    for lo, hi in BANDS:
        name = band_of(lo)
        outs = [o for o in outcomes if o.result is not None and o.case.expect != "reverse" and o.error is None]
        outs = [o for o in outs if band_of(o.result.confidence) == name]
        right = _pct(sum(o.right for o in outs), len(outs))
        rows.append({"band": f"{lo:.1f}-{hi:.1f}", "cases": len(outs), "right_pct": right})
    return rows


def report(console: Console, per_form: dict, totals: dict, failures: list[dict], bands: list[dict]) -> None:
    table = Table(title="Geocoder accuracy and latency per query form")
    for col in ("form", "cases", "right %", "sure %", "conf. wrong", "misranked", "kind ok %", "errors"):
        table.add_column(col, justify="left" if col == "form" else "right")
    for col in ("p50 ms", "p99 ms"):
        table.add_column(col, justify="right")
    for form, s in per_form.items():
        table.add_row(
            form,
            str(s["cases"]),
            _fmt(s["right_pct"], ".1f"),
            _fmt(s["sure_pct"], ".1f"),
            Text(str(s["confident_wrong"]), style="bold red" if s["confident_wrong"] else ""),
            Text(str(s["misranked"]), style="bold red" if s["misranked"] else ""),
            _fmt(s["kind_ok_pct"], ".1f"),
            str(s["errors"]),
            _fmt(s["p50_ms"], ".2f"),
            _fmt(s["p99_ms"], ".2f"),
        )
    console.print(table)
    console.print(
        f"[dim]sure % = answered with confidence >= 0.9; conf. wrong = wrong at confidence >= {CONFIDENT} (for "
        "'none' cases: any such answer; for reverse: a label without the expected street); misranked = candidates "
        "not in non-increasing confidence; kind ok % = match kind as expected, not needed for 'right'[/dim]"
    )
    cal = Table(title="Calibration: share right per confidence band of the top answer")
    for col in ("confidence", "cases", "right %"):
        cal.add_column(col, justify="right")
    for row in bands:
        cal.add_row(row["band"], str(row["cases"]), _fmt(row["right_pct"], ".1f"))
    console.print(cal)

    t = Table(title="Totals", show_header=False)
    t.add_column("figure")
    t.add_column("value", justify="right")
    for label, key, unit in (
        ("accuracy, exact forms", "exact_forms_right_pct", "%"),
        ("accuracy, misspelt/abbreviated forms", "misspelt_forms_right_pct", "%"),
        ("accuracy, all cases", "all_right_pct", "%"),
        ("confident-wrong answers", "confident_wrong", ""),
        ("misranked candidate lists", "misranked", ""),
        ("queries that raised", "errors", ""),
        ("latency p50", "p50_ms", " ms"),
        ("latency p99", "p99_ms", " ms"),
        ("latency max", "max_ms", " ms"),
        ("map import", "import_s", " s"),
        ("index build", "build_index_s", " s"),
        ("case generation", "generate_cases_s", " s"),
        ("cases", "cases", ""),
    ):
        t.add_row(label, _fmt(totals[key], unit=unit))
    console.print(t)

    if failures:
        f = Table(title=f"Failing cases (first {len(failures)}, round-robin over forms)")
        for col in ("form", "q", "expected", "got", "dist m", "conf"):
            f.add_column(col, overflow="fold")
        for row in failures:
            conf = "-" if row["confidence"] is None else f"{row['confidence']:.2f}"
            f.add_row(
                row["form"],
                Text(repr(row["q"])),
                Text(row["expected"]),
                Text(row["got"]),
                "-" if row["distance_m"] is None else f"{row['distance_m']:.0f}",
                Text(conf, style="bold red" if row["confident_wrong"] else ""),
            )
        console.print(f)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--map", type=Path, default=BUNDLED_MAP, help="the map to evaluate on (default: bundled)")
    parser.add_argument("--url", help="libpq URL of the map's database (default: <DB>_geoeval_<map>)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-form", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print one JSON object with the figures at the end")
    parser.add_argument("--show", type=int, default=15, help="failing cases to list")
    parser.add_argument(
        "--geocoder",
        default="geo.geocoder",
        help="module providing build_index and Geocoder, to compare implementations",
    )
    args = parser.parse_args(argv)
    console = Console(stderr=args.json)  # with --json, stdout carries nothing but the JSON
    if not console.is_terminal:
        console.width = 160  # piped or logged: Rich would squeeze the tables into 80 columns

    args.url, import_s, imported = map_database(args.map, args.url)
    console.print(f"{args.map.name}: {'imported in' if imported else 'imported earlier, in'} {import_s:.2f} s")
    module = importlib.import_module(args.geocoder)
    start = time.perf_counter()
    index = module.build_index(args.url)
    build_s = time.perf_counter() - start
    console.print(f"build_index: {build_s:.2f} s")
    geocoder = module.Geocoder(index)

    start = time.perf_counter()
    skipped: dict[str, str] = {}
    cases = generate_cases(args.url, seed=args.seed, per_form=args.per_form, skipped=skipped)
    gen_s = time.perf_counter() - start
    console.print(f"{len(cases)} cases (seed {args.seed}, up to {args.per_form} per form) in {gen_s:.2f} s")
    for form, why in skipped.items():
        console.print(f"[yellow]skipped[/yellow] {form}: {why}")

    outcomes = run(geocoder, cases, LIMIT)
    by_form = defaultdict(list)
    for o in outcomes:
        by_form[o.case.form].append(o)
    per_form = {form: summarize(by_form[form]) for form in FORMS if by_form[form]}

    def pooled(forms) -> float:
        outs = [o for f in forms for o in by_form[f]]
        return _pct(sum(o.right for o in outs), len(outs))

    ns = [o.ns for o in outcomes]
    totals = {
        "exact_forms_right_pct": pooled(EXACT_FORMS),
        "misspelt_forms_right_pct": pooled(MISSPELT_FORMS),
        "all_right_pct": pooled(FORMS),
        "confident_wrong": sum(o.confident_wrong for o in outcomes),
        "misranked": sum(not o.ranked for o in outcomes),
        "errors": sum(o.error is not None for o in outcomes),
        "p50_ms": percentile_ms(ns, 50),
        "p99_ms": percentile_ms(ns, 99),
        "max_ms": percentile_ms(ns, 100),
        "import_s": round(import_s, 3),
        "build_index_s": round(build_s, 3),
        "generate_cases_s": round(gen_s, 3),
        "cases": len(cases),
    }
    failures = failure_rows(outcomes, args.show)
    bands = calibration(outcomes)
    report(console, per_form, totals, failures, bands)
    if args.json:
        print(
            json.dumps(
                {
                    "map": args.map.name,
                    "seed": args.seed,
                    "per_form": args.per_form,
                    "geocoder": args.geocoder,
                    "limit": LIMIT,
                    "forms": per_form,
                    "totals": totals,
                    "calibration": bands,
                    "skipped": skipped,
                    "failures": failures,
                },
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
