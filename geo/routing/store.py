"""Reading the road graph from PostgreSQL, and its cache on disk keyed by the map file's sha256.

The cache is an uncompressed .npz of plain arrays (no pickles: a file planted in the cache directory cannot run
code). It is checked before use: format version, the full sha256 and consistent array shapes; anything else
(truncated, corrupt, stale, from an older version) is rebuilt from the database and written again atomically.
"""

import logging
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import psycopg
import shapely

from geo.routing.graph import RoadNetwork, largest_component

CACHE_VERSION = 1
DEFAULT_CACHE_DIR = Path(__file__).resolve().parents[2] / "var" / "cache"
log = logging.getLogger(__name__)
STORED = (
    "node_lonlat",
    "edge_source",
    "edge_target",
    "edge_id",
    "edge_travel_s",
    "edge_length_m",
    "edge_name",
    "edge_twin",
    "coord_ptr",
    "coords",
)


class StaleCache(Exception):
    """The cache file is missing, unreadable or not for this map; rebuild it."""


def current_sha256(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT sha256 FROM map_imports ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise LookupError("the map is not imported: run `dispatch load-map`")
    return row[0]


def read_database(conn: psycopg.Connection, sha256: str) -> RoadNetwork:
    nodes = conn.execute("SELECT id, ST_X(geom), ST_Y(geom) FROM road_nodes ORDER BY id").fetchall()
    edges = conn.execute("""SELECT id, source, target, osm_way_id, coalesce(name, ''), length_m, travel_s,
                                   ST_AsBinary(geom) FROM road_edges ORDER BY id""").fetchall()
    if not nodes or not edges:
        raise LookupError("the map has no road graph: run `dispatch load-map`")
    node_ids = np.fromiter((r[0] for r in nodes), dtype=np.int64, count=len(nodes))
    if not np.array_equal(node_ids, np.arange(len(nodes))):
        raise LookupError("road_nodes ids are not dense 0..n-1; re-import the map")
    cols = list(zip(*edges, strict=True))
    coords, which = shapely.get_coordinates(shapely.from_wkb(list(cols[7])), return_index=True)
    return largest_component(
        sha256=sha256,
        node_lonlat=np.array([(r[1], r[2]) for r in nodes]),
        source=np.array(cols[1]),
        target=np.array(cols[2]),
        way=np.array(cols[3]),
        edge_id=np.array(cols[0]),
        name=list(cols[4]),
        length_m=np.array(cols[5]),
        travel_s=np.array(cols[6]),
        coord_ptr=np.concatenate([[0], np.cumsum(np.bincount(which, minlength=len(edges)))]),
        coords=coords,
    )


def cache_path(cache_dir: Path, sha256: str) -> Path:
    return cache_dir / f"routing-{sha256[:16]}.npz"


def read_cache(path: Path, sha256: str) -> RoadNetwork:
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = npz["meta"]
            if int(npz["version"]) != CACHE_VERSION or str(meta) != sha256:
                raise StaleCache(f"{path}: built for another map or an older format")
            arrays = {name: npz[name] for name in STORED}
    except FileNotFoundError as exc:
        raise StaleCache(f"{path}: not cached yet") from exc
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise StaleCache(f"{path}: unreadable ({type(exc).__name__}: {exc})") from exc
    _check_shapes(path, arrays)
    return RoadNetwork(sha256=sha256, from_cache=True, **arrays)


def _check_shapes(path: Path, a: dict[str, np.ndarray]) -> None:
    n, m = len(a["node_lonlat"]), len(a["edge_source"])
    per_edge = ("edge_target", "edge_id", "edge_travel_s", "edge_length_m", "edge_name", "edge_twin")
    ok = (
        a["node_lonlat"].shape == (n, 2)
        and n > 0
        and m > 0
        and all(a[k].shape == (m,) for k in per_edge)
        and a["coord_ptr"].shape == (m + 1,)
        and a["coords"].ndim == 2
        and a["coords"].shape[1] == 2
        and int(a["coord_ptr"][-1]) == len(a["coords"])
        and bool(np.all(np.diff(a["coord_ptr"]) >= 2))
        and all(int(a[k].min()) >= 0 and int(a[k].max()) < n for k in ("edge_source", "edge_target"))
        and int(a["edge_twin"].min()) >= -1
        and int(a["edge_twin"].max()) < m
        and bool(np.all(np.isfinite(a["edge_travel_s"])))
        and float(a["edge_travel_s"].min()) >= 0
    )
    if not ok:
        raise StaleCache(f"{path}: arrays of inconsistent shape")


def write_cache(path: Path, network: RoadNetwork) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed: a reader in another process sees the old file or the new one,
    # never half of one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                version=np.array(CACHE_VERSION),
                meta=np.array(network.sha256),
                **{name: getattr(network, name) for name in STORED},
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; other services of the same install read it too
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_network(libpq_url: str, cache_dir: Path | None = None) -> RoadNetwork:
    """The current map's graph: from the cache when it holds this map, else from the database (then cached)."""
    started = time.perf_counter()
    path_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    with psycopg.connect(libpq_url, connect_timeout=5) as conn:
        # One snapshot: a map import committing meanwhile cannot pair one map's sha with another's edges.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        sha = current_sha256(conn)
        path = cache_path(path_dir, sha)
        try:
            network = read_cache(path, sha)
        except StaleCache:
            network = read_database(conn, sha)
            try:
                write_cache(path, network)
            except OSError as exc:  # a read-only or full disk costs the next start its speed, not routing
                log.warning("routing cache not written to %s: %s", path, exc)
    network.load_s = time.perf_counter() - started
    return network
