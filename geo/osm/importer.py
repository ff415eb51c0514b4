"""`dispatch load-map`: read an OSM file, then replace the map in one transaction.

A missing, corrupt or empty file fails while reading, before the database is touched; a failure while
writing rolls the whole transaction back. Either way the database is as it was.

The map is all this module writes. What the caller builds on it in the same transaction (the service seeds its
fleet at the imported stations) comes in as `then` steps: geo knows nothing of units.
"""

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psycopg
from rich.progress import Progress

from geo.osm import areas, writer
from geo.osm.reader import READER_VERSION, MapReadError, read_map
from geo.osm.roads import build_graph

# Only one import at a time, whatever process runs it.
IMPORT_LOCK_KEY = 0x6D6170  # "map"

# A step after the map, in its transaction: (its name for the progress bar, work on the cursor returning the
# counts it adds to the import's summary).
Step = tuple[str, Callable[[psycopg.Cursor], dict[str, int]]]


@dataclass
class ImportResult:
    sha256: str
    duration_s: float
    counts: dict[str, int]
    # The service area's name, and its municipalities inside and outside (writer.service_area_summary).
    service_area: dict = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def map_name(path: Path) -> str:
    """A region's name from its file's ("helsinki.osm.pbf" → "Helsinki"), for a map nothing in which names it."""
    stem = path.name.split(".")[0].replace("_", " ").replace("-", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else "The map"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MapReadError(f"{path}: no such file")
    if not path.is_file():
        raise MapReadError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise MapReadError(f"{path}: the file is empty")
    if path.suffix not in (".pbf", ".osm", ".bz2", ".gz", ".o5m", ".opl") and not path.name.endswith(".osm.pbf"):
        raise MapReadError(f"{path}: unknown map format (expected .osm.pbf, .osm, .osm.bz2 or .osm.gz)")


def load_map(
    path: Path,
    libpq_url: str,
    progress: Progress | None = None,
    *,
    then: Sequence[Step] = (),
    service_area: areas.Area | None = None,
) -> ImportResult:
    """Reads the map, then replaces the one in the database. `service_area`: the centre's own (a file's, read by
    geo.osm.areas.read_area_file), in place of the one the import proposes."""
    started = time.perf_counter()
    path = Path(path)
    _check_file(path)
    sha = file_sha256(path)

    read_task = progress.add_task("Reading map", total=None) if progress else None
    data = read_map(str(path), on_progress=(lambda n: progress.update(read_task, completed=n)) if progress else None)
    if progress:
        progress.update(read_task, total=data.objects_read, completed=data.objects_read)
    if not data.road_ways:
        raise MapReadError(f"{path}: holds no drivable roads; is it the map of a populated area?")
    graph = build_graph(data.road_ways)
    found = areas.municipalities(data, fallback_name=map_name(path))

    steps: list[Step] = [
        ("municipalities", lambda cur: _none(writer.write_municipalities(cur, found))),
        ("addresses", lambda cur: _none(writer.write_addresses(cur, data))),
        ("service area", lambda cur: _none(writer.write_service_area(cur, data, service_area))),
        ("streets", lambda cur: _none(writer.write_streets(cur, data))),
        ("places", lambda cur: _none(writer.write_places(cur, data))),
        ("road graph", lambda cur: _none(writer.write_road_graph(cur, graph))),
        ("stations", lambda cur: _none(writer.write_stations(cur, data))),
        *then,
    ]
    write_task = progress.add_task("Writing to PostgreSQL", total=len(steps)) if progress else None
    with psycopg.connect(libpq_url, connect_timeout=5) as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK_KEY,))
        writer.clear_map(cur)
        added: dict[str, int] = {}
        for name, step in steps:
            if progress:
                progress.update(write_task, description=f"Writing {name}")
            added.update(step(cur))
            if progress:
                progress.advance(write_task)
        counts = _counts(cur, graph) | added
        area = writer.service_area_summary(cur)
        counts["municipalities_in_service_area"] = len(area["inside"])
        counts["reader_version"] = READER_VERSION
        counts["boundaries_incomplete"] = data.incomplete_boundaries
        counts["named_ways"] = len(data.named_ways)
        duration = time.perf_counter() - started
        cur.execute(
            "INSERT INTO map_imports (source, sha256, duration_s, counts) VALUES (%s, %s, %s, %s)",
            (str(path), sha, duration, orjson.dumps(counts).decode()),
        )
    return ImportResult(sha, duration, counts, area | {"municipalities_from": found.source})


def _none(_written: int | None) -> dict[str, int]:
    return {}  # the map's own counts are read back from the tables at the end (_counts)


def _counts(cur: psycopg.Cursor, graph) -> dict[str, int]:
    counts = {}
    for table in ("municipalities", "addresses", "streets", "places", "road_nodes", "road_edges"):
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    cur.execute("SELECT kind::text, count(*) FROM stations GROUP BY kind ORDER BY kind")
    counts.update({f"stations_{kind}": n for kind, n in cur.fetchall()})
    counts["largest_component_nodes"] = graph.largest_component_size
    return counts


def service_area_geojson(libpq_url: str) -> dict:
    """The service area as a GeoJSON Feature (what `dispatch load-map --write-service-area` writes, for a centre to
    adjust and set as DISPATCH_SERVICE_AREA)."""
    with psycopg.connect(libpq_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT name, ST_AsGeoJSON(geom, 7) FROM service_area LIMIT 1").fetchone()
    if row is None:
        raise MapReadError("no service area: import a map first")
    return {"type": "Feature", "properties": {"name": row[0]}, "geometry": orjson.loads(row[1])}


def latest_import(libpq_url: str) -> dict | None:
    with psycopg.connect(libpq_url, connect_timeout=5) as conn:
        row = conn.execute("SELECT sha256, imported_at, counts FROM map_imports ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else {"sha256": row[0], "imported_at": row[1], "counts": row[2]}
