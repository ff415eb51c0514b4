"""Report benchmark: 1,000,000 generated incidents of a year with their assignments, events and unit status log, in
a database of their own, then the reports timed: the API's report for each grouping, the whole `dispatch report`,
the same incident intervals folded from the event log instead of the incident timestamps, for comparison, the
workload report (GET /api/reports/units) over the year and over a month, and pages of the drill-down (the
incidents behind a cell).

    .venv/bin/python benchmarks/reports.py [--incidents 1000000] [--url URL] [--repeat 3] [--keep] [--json]

A measurement, not a test: it prints numbers and exits 0 whatever they are. The data are generated in
PostgreSQL with generate_series from a fixed seed (same arguments, same rows): priorities, types and the 11
municipalities in the proportions of a combined centre, 1 to 3 units an incident, interval times drawn around
the standards' targets. --keep leaves an existing database of the same size as it is (no regeneration).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from dispatch.config import Environment, Settings  # noqa: E402
from dispatch.db import make_async_engine, make_sessionmaker  # noqa: E402
from dispatch.incidents.types import incident_types  # noqa: E402
from dispatch.reports import drill, service  # noqa: E402
from dispatch.reports.html import report_html  # noqa: E402
from dispatch.reports.service import FULL_GROUPINGS, GroupBy, parse_period  # noqa: E402
from dispatch.reports.targets import Interval, load_targets  # noqa: E402
from dispatch.reports.workload import workload  # noqa: E402
from dispatch.setup import migrate, recreate_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dispatch_reports_bench"
console = Console(stderr=True)
MUNICIPALITIES = [
    "Vaduz",
    "Schaan",
    "Triesen",
    "Balzers",
    "Eschen",
    "Mauren",
    "Triesenberg",
    "Ruggell",
    "Gamprin",
    "Schellenberg",
    "Planken",
]

# One statement each; `g` is the incident number. random() after setseed() is the same on every run.
STATIONS = """INSERT INTO stations (kind, name, municipality, location)
SELECT 'fire', 'Bench station ' || n, (ARRAY{munis})[n], ST_MakePoint(9.50 + n * 0.01, 47.10)::geography
FROM generate_series(1, 8) n"""
# One unit of each kind at each of the eight stations.
UNITS = """INSERT INTO units (call_sign, kind, capabilities, status, home_station_id)
SELECT 'Bench ' || k || ' ' || n, k::unit_kind, ARRAY[CASE k WHEN 'patrol' THEN 'police' ELSE k END], 'available',
       (SELECT min(id) FROM stations) + n - 1
FROM unnest(ARRAY['engine', 'ambulance', 'patrol', 'ladder']) k, generate_series(1, 8) n"""
INCIDENTS = """INSERT INTO incidents (id, type_code, priority, status, municipality, geocode_match, geocode_confidence,
    received_at, queued_at, dispatched_at, acknowledged_at, en_route_at, on_scene_at, cleared_at, closed_at)
SELECT g, t.type_code, t.priority, CASE WHEN r.cancel THEN 'cancelled' ELSE 'closed' END::incident_status, r.muni,
       'address', 1.0, r.at, r.at, r.at + r.proc, r.at + r.proc + r.ack, r.at + r.proc + r.turn,
       r.at + r.proc + r.turn + r.travel, r.at + r.proc + r.turn + r.travel + r.scene,
       r.at + r.proc + r.turn + r.travel + r.scene + interval '2 minutes'
FROM generate_series(1, :n) g
CROSS JOIN LATERAL (SELECT
    timestamptz '2025-01-01 00:00+01' + (g::float8 / :n) * interval '365 days' AS at,
    (ARRAY{munis})[1 + (random() ^ 1.6 * 11)::int % 11] AS muni, random() < 0.01 AS cancel, random() AS pick,
    make_interval(secs => 15 + random() * 60 + random() * random() * 120) AS proc,
    make_interval(secs => 3 + random() * 10) AS ack,
    make_interval(secs => 25 + random() * 60 + random() * random() * 60) AS turn,
    make_interval(secs => 60 + random() * 300 + random() * random() * 600) AS travel,
    make_interval(secs => 600 + random() * 2400) AS scene) r
CROSS JOIN LATERAL (SELECT CASE WHEN r.pick < 0.25 THEN 1 WHEN r.pick < 0.6 THEN 2 WHEN r.pick < 0.9 THEN 3 ELSE 4
                           END AS priority,
                           (ARRAY['CARDIAC', 'FALL', 'RTC-INJ', 'FIRE-BLDG', 'THEFT'])[1 + (r.pick * 5)::int % 5]
                           AS type_code) t"""
# 1 to 3 units; the first is the incident's first en route and on scene, the others a little later.
ASSIGNMENTS = """INSERT INTO assignments (incident_id, unit_id, slot, status, assigned_at, acknowledged_at,
    en_route_at, on_scene_at, cleared_at)
SELECT i.id, u.id, u.capabilities[1], 'cleared', i.dispatched_at + (k - 1) * interval '5 seconds',
       i.acknowledged_at + (k - 1) * interval '5 seconds', i.en_route_at + (k - 1) * interval '12 seconds',
       i.on_scene_at + (k - 1) * interval '40 seconds', i.cleared_at
FROM incidents i
CROSS JOIN LATERAL generate_series(1, 1 + (i.id % 7 = 0)::int + (i.id % 3 = 0)::int) k
JOIN units u ON u.id = (SELECT min(id) FROM units) + ((i.id * 7 + k * 11) % 32)"""
EVENTS = """INSERT INTO incident_events (incident_id, at, kind, actor, payload)
SELECT i.id, e.at, e.kind, 'bench', e.payload FROM incidents i CROSS JOIN LATERAL (VALUES
    (i.received_at, 'received', jsonb_build_object('priority', i.priority, 'type_code', i.type_code)),
    (i.queued_at, 'queued', '{}'::jsonb), (i.closed_at, CASE i.status WHEN 'closed' THEN 'closed' ELSE 'cancelled' END,
    '{}'::jsonb)) e(at, kind, payload)
UNION ALL
SELECT a.incident_id, e.at, e.kind, 'bench', jsonb_build_object('unit_id', a.unit_id) FROM assignments a
CROSS JOIN LATERAL (VALUES (a.assigned_at, 'dispatched'), (a.acknowledged_at, 'acknowledged'),
    (a.en_route_at, 'en_route'), (a.on_scene_at, 'on_scene'), (a.cleared_at, 'cleared')) e(at, kind)"""
# The unit status log as the service writes it (a trigger on units): five changes for every unit sent, and a spell
# out of service of 4 hours every 9 days for each unit (its day offset by its id), for the workload report.
STATUS_LOG = """INSERT INTO unit_status_log (unit_id, at, status, previous)
SELECT a.unit_id, e.at, e.status::unit_status, e.previous::unit_status FROM assignments a
CROSS JOIN LATERAL (VALUES (a.assigned_at, 'dispatched', 'available'),
    (a.acknowledged_at, 'acknowledged', 'dispatched'), (a.en_route_at, 'en_route', 'acknowledged'),
    (a.on_scene_at, 'on_scene', 'en_route'),
    (a.cleared_at, 'available', 'on_scene')) e(at, status, previous)
UNION ALL
SELECT u.id, t + s.after, s.status::unit_status, s.previous::unit_status FROM units u
CROSS JOIN generate_series(timestamptz '2025-01-01 06:00+01' + (u.id % 9) * interval '1 day',
                           timestamptz '2025-12-31 00:00+01', interval '9 days') t
CROSS JOIN (VALUES (interval '0 hours', 'out_of_service', 'available'),
                   (interval '4 hours', 'available', 'out_of_service')) s(after, status, previous)"""
# The same incident intervals as the report's, folded from the event log (for comparison only).
FROM_EVENTS = """SELECT i.priority, count(*), percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (
    ORDER BY extract(epoch FROM e.dispatched - e.received)) FROM (
  SELECT incident_id, min(at) FILTER (WHERE kind = 'received') AS received,
         min(at) FILTER (WHERE kind = 'dispatched') AS dispatched, min(at) FILTER (WHERE kind = 'on_scene') AS on_scene
  FROM incident_events GROUP BY incident_id) e JOIN incidents i ON i.id = e.incident_id
WHERE i.status <> 'cancelled' AND i.received_at >= '2025-01-01 00:00+01' AND i.received_at < '2026-01-01 00:00+01'
GROUP BY i.priority"""


# The drill-down (GET /api/reports/incidents): a page of 200, longest first, as the API runs it.
DRILLS = [
    ("all, by response", {}),
    ("priority 1, by response", {"group_by": GroupBy.priority, "key": "1"}),
    ("weekday 3, by processing", {"group_by": GroupBy.weekday, "key": "3", "interval": Interval.processing}),
    ("day 2025-06-14", {"group_by": GroupBy.day, "key": "2025-06-14"}),
    ("response-p1, late", {"target": "response-p1", "late": True}),
    ("unit, by turnout", {"group_by": GroupBy.unit, "key": "Bench engine 1", "interval": Interval.turnout}),
    ("station, by travel", {"group_by": GroupBy.station, "key": "Bench station 3", "interval": Interval.travel}),
    (
        "station, travel-first-unit, late",
        {"group_by": GroupBy.station, "key": "Bench station 3", "target": "travel-first-unit", "late": True},
    ),
    ("turnout-fire, late, by turnout", {"target": "turnout-fire", "late": True, "interval": Interval.turnout}),
    ("all, by turnout", {"interval": Interval.turnout}),
]


async def drill_page(session, period, targets, **cell) -> list[dict]:
    cell = {"group_by": GroupBy.none, "key": None, "interval": Interval.response, "late": False, **cell}
    cell["target"] = drill.find_target(targets, cell.get("target"))
    _, rows = await drill.page(session, drill.make_cell(period, **cell), limit=200, offset=0)
    return await drill.items(session, rows, tz=period.tz, types=incident_types())


def generate(settings: Settings, n: int, keep: bool) -> dict:
    if keep:
        try:
            with psycopg.connect(settings.libpq_url) as conn:
                if conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == n:
                    return {"generated": False}
        except psycopg.Error:
            pass
    recreate_database(settings)
    migrate(settings)
    timings = {}
    munis = "[" + ", ".join(f"'{m}'" for m in MUNICIPALITIES) + "]"
    with psycopg.connect(settings.libpq_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SELECT setseed(0.7)")
        for label, sql in (
            ("stations", STATIONS.format(munis=munis)),
            ("units", UNITS),
            ("incidents", INCIDENTS.format(munis=munis).replace(":n", str(n))),
            ("assignments", ASSIGNMENTS),
            ("events", EVENTS),
            ("unit status log", STATUS_LOG),
        ):
            started = time.perf_counter()
            with console.status(f"generating {label}"):
                count = conn.execute(sql).rowcount
            timings[label] = {"rows": count, "s": round(time.perf_counter() - started, 1)}
            console.print(f"{label}: {count:,} rows in {timings[label]['s']} s")
        conn.execute("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
        conn.execute("VACUUM ANALYZE")
    return {"generated": True, **timings}


async def measure(settings: Settings, repeat: int) -> dict:
    engine = make_async_engine(settings)
    sessions = make_sessionmaker(engine)
    period = parse_period("2025-01-01", "2025-12-31", settings.report_time_zone)
    targets = load_targets()
    out: dict = {}

    async def timed(label: str, work) -> None:
        samples = []
        for _ in range(repeat):
            async with sessions() as session, session.begin():
                started = time.perf_counter()
                result = await work(session)
                samples.append(time.perf_counter() - started)
        out[label] = {"median_s": round(statistics.median(samples), 2), "max_s": round(max(samples), 2)}
        console.print(f"{label}: median {out[label]['median_s']} s", highlight=False)
        return result

    try:
        # As GET /api/reports/response-times runs it: the incident and unit statements side by side.
        for grouping in (GroupBy.none, *FULL_GROUPINGS, GroupBy.station, GroupBy.weekday, GroupBy.month):
            report = await timed(
                f"api group_by={grouping.value}",
                lambda s, g=grouping: service.response_times(
                    s, period=period, group_by=g, targets=targets, sessions=sessions
                ),
            )
        out["responses"] = report["overall"]["intervals"]["response"]["count"]
        await timed(
            "group_by=priority, one connection",
            lambda s: service.response_times(s, period=period, group_by=GroupBy.priority, targets=targets),
        )

        async def whole(session):
            full = await service.full_report(session, period=period, targets=targets, sessions=sessions)
            return report_html(full)

        html = await timed("dispatch report (html, 6 groupings, charts)", whole)
        out["html_bytes"] = len(html)

        async def from_events(session):
            await session.execute(text("SET LOCAL work_mem = '256MB'"))
            return (await session.execute(text(FROM_EVENTS))).all()

        await timed("processing by priority from the event log", from_events)
        await timed("api units workload, the year", lambda s: workload(s, period=period))
        month = parse_period("2025-06-01", "2025-06-30", settings.report_time_zone)
        await timed("api units workload, a month", lambda s: workload(s, period=month))
        for label, cell in DRILLS:
            await timed(f"drill-down {label}", lambda s, c=cell: drill_page(s, period, targets, **c))
    finally:
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="reuse a database that already has the incidents")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.incidents <= 20_000_000 or not 1 <= args.repeat <= 20:
        parser.error("--incidents is 1 to 20,000,000 and --repeat 1 to 20")
    if args.url.rsplit("/", 1)[-1] in ("dispatch", "dispatch_test", "dispatch_bench"):
        parser.error("the benchmark drops and recreates its database: give one of its own")
    settings = Settings(env=Environment.test, database_url=args.url, db_pool_size=4)
    made = generate(settings, args.incidents, args.keep)
    result = {"incidents": args.incidents, "data": made, **asyncio.run(measure(settings, args.repeat))}
    table = Table(
        "measure",
        "median s",
        "max s",
        title=f"Report over {args.incidents:,} incidents ({result['responses']:,} responses)",
        title_justify="left",
    )
    for key, value in result.items():
        if isinstance(value, dict) and "median_s" in value:
            table.add_row(key, f"{value['median_s']:.2f}", f"{value['max_s']:.2f}")
    console.print(table)
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
