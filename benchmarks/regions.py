"""Per map: import time and what the import found, and the time of one incident's ETAs to every unit (the
matcher's question on each call). The bundled map and the Helsinki extract the tests use by default.

    .venv/bin/python -m benchmarks.regions [--map PATH ...] [--runs 3] [--incidents 300] [--json]

Each map is imported into a database of its own (`<DISPATCH_DATABASE_URL's name>_region_<map>`, created afresh
each run, with the fleet file beside the map when there is one: `<map>-fleet.toml`); PostgreSQL at
DISPATCH_DATABASE_URL. A measurement, not a test: it exits 0 whatever the numbers say; bad arguments exit 2.
Prints a Rich table, then one JSON line per map (only those with --json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from dispatch.config import BUNDLED_MAP, Settings, map_slug
from dispatch.setup import load_map_with_fleet, migrate, recreate_database
from geo.routing import Router

HELSINKI = Path(__file__).resolve().parent.parent / "tests" / "data" / "helsinki.osm.pbf"
COUNTS = ("addresses", "streets", "municipalities", "places", "road_nodes", "road_edges", "units")


def fleet_beside(path: Path) -> Path | None:
    fleet = path.with_name(path.name.split(".")[0] + "-fleet.toml")
    return fleet if fleet.exists() else None


def settings_for(path: Path) -> Settings:
    base = make_url(os.environ.get("DISPATCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/dispatch"))
    url = base.set(database=f"{base.database or 'dispatch'}_region_{map_slug(path)}"[:63])
    return Settings(database_url=url.render_as_string(hide_password=False), matcher=False)


def measure(path: Path, runs: int, incidents: int, seed: int) -> dict:
    settings = settings_for(path)
    recreate_database(settings)
    migrate(settings)
    fleet = fleet_beside(path)
    imports = []
    for _ in range(runs):
        started = time.perf_counter()
        result = load_map_with_fleet(path, settings.libpq_url, fleet=fleet)
        imports.append(time.perf_counter() - started)
    with psycopg.connect(settings.libpq_url) as conn:
        units = conn.execute("SELECT ST_Y(position::geometry), ST_X(position::geometry) FROM units").fetchall()
        points = conn.execute(
            "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses ORDER BY id"
        ).fetchall()
    rng = np.random.default_rng(seed)
    chosen = [points[i] for i in rng.integers(0, len(points), incidents)]
    with tempfile.TemporaryDirectory() as cache:
        router = Router.load(settings.libpq_url, Path(cache))
        for lat, lon in chosen[:5]:  # warm-up
            router.times_to(lat, lon, units)
        samples, reached = [], []
        for lat, lon in chosen:
            start = time.perf_counter_ns()
            seconds = router.times_to(lat, lon, units)
            samples.append((time.perf_counter_ns() - start) / 1e6)
            reached.append(float(np.isfinite(seconds).mean()))
    p50, p99 = np.percentile(samples, [50, 99])
    counts = result.counts
    return {
        "map": path.name,
        "bytes": path.stat().st_size,
        "import_s": {"median": round(float(np.median(imports)), 2), "min": round(min(imports), 2)},
        "municipalities_from": result.service_area.get("municipalities_from"),
        "service_area": result.service_area.get("name"),
        "boundaries_incomplete": counts.get("boundaries_incomplete", 0),
        **{key: counts.get(key, 0) for key in COUNTS},
        "largest_component_nodes": counts.get("largest_component_nodes"),
        "eta": {
            "units": len(units),
            "incidents": incidents,
            "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3),
            "units_reached": round(float(np.mean(reached)), 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", action="append", type=Path, help="an OSM file (repeat for several)")
    parser.add_argument("--runs", type=int, default=3, help="imports per map (1..20)")
    parser.add_argument("--incidents", type=int, default=300, help="incidents whose ETAs are timed (1..100000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="only the JSON lines")
    args = parser.parse_args(argv)
    maps = args.map or [BUNDLED_MAP, HELSINKI]
    if not 1 <= args.runs <= 20:
        parser.error("--runs must be 1..20")
    if not 1 <= args.incidents <= 100_000:
        parser.error("--incidents must be 1..100000")
    if missing := [str(m) for m in maps if not m.is_file()]:
        parser.error(f"no such map file: {', '.join(missing)}")
    results = [measure(path, args.runs, args.incidents, args.seed) for path in maps]
    if not args.json:
        table = Table(title=f"Regions: import ({args.runs} runs) and one incident's ETAs to every unit")
        for column in ("map", "import s", "addresses", "streets", "municipalities (from)", "units", "ETA p50/p99 ms"):
            table.add_column(column)
        for r in results:
            table.add_row(
                r["map"],
                f"{r['import_s']['median']:.2f}",
                f"{r['addresses']:,}",
                f"{r['streets']:,}",
                f"{r['municipalities']} ({r['municipalities_from']})",
                str(r["units"]),
                f"{r['eta']['p50_ms']:.2f} / {r['eta']['p99_ms']:.2f}",
            )
        Console().print(table)
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
