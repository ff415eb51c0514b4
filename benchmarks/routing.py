"""Routing benchmark: cache build and load, one incident against N units, plain scipy Dijkstra, routes, a
coverage table; then the same on a generated 1,000 x 1,000 grid (1,000,000 nodes) to see how it scales.

    .venv/bin/python benchmarks/routing.py [--url URL] [--seed 7] [--incidents 500] [--grid 1000] [--json]

A measurement, not a test: it exits 0 whatever the numbers say. Points "on the map" are road nodes moved by
~30 m at random (where incidents and units are: near roads, denser where roads are). The dev database must
hold the imported map (`dispatch load-map`). Prints a Rich table unless --json, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
from rich.console import Console
from rich.table import Table
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from geo.routing import RoadNetwork, Router  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dispatch"
GRID_SPACING_M = 100.0


def timed(fn, repeat: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(min(warmup, repeat)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    p50, p99 = np.percentile(samples, [50, 99])
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3), "n": repeat}


def points_near_nodes(network: RoadNetwork, k: int, rng: np.random.Generator) -> np.ndarray:
    lonlat = network.node_lonlat[rng.integers(0, network.n_nodes, k)]
    return np.column_stack([lonlat[:, 1] + rng.normal(0, 3e-4, k), lonlat[:, 0] + rng.normal(0, 4e-4, k)])


def bench_map(url: str, rng: np.random.Generator, incidents: int) -> dict:
    with tempfile.TemporaryDirectory() as cache_dir:
        start = time.perf_counter()
        Router.load(url, Path(cache_dir))
        build_s = time.perf_counter() - start
        loads = []
        for _ in range(5):
            start = time.perf_counter()
            router = Router.load(url, Path(cache_dir))
            loads.append(time.perf_counter() - start)
        assert router.from_cache
    net = router.network
    out: dict = {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "cache_build_ms": round(build_s * 1e3, 1),
        "cache_load_ms": round(float(np.median(loads)) * 1e3, 1),
        "cache_load_graph_ms": round(net.load_s * 1e3, 1),
    }
    targets = points_near_nodes(net, incidents, rng)
    units = points_near_nodes(net, 1000, rng)
    for n_units in (31, 1000):
        sources = units[:n_units]
        it = iter(range(10**9))
        out[f"times_to_{n_units}"] = timed(
            lambda s=sources, i=it: router.times_to(*targets[next(i) % incidents], s), incidents
        )
    it = iter(range(10**9))
    out["times_to_31_cutoff_600s"] = timed(
        lambda: router.times_to(*targets[next(it) % incidents], units[:31], cutoff_s=600.0), incidents
    )
    nodes = rng.integers(0, net.n_nodes, incidents)
    it = iter(range(10**9))
    out["scipy_one_to_all"] = timed(lambda: dijkstra(net.backward, indices=int(nodes[next(it) % incidents])), incidents)
    it = iter(range(10**9))
    out["snap_1000"] = timed(lambda: router.snapper.snap(units), 50)
    out["route"] = timed(
        lambda: router.route(tuple(targets[(k := next(it)) % incidents]), tuple(units[k % 1000])), incidents
    )
    standby, demand = points_near_nodes(net, 30, rng), points_near_nodes(net, 2000, rng)
    out["table_30x2000"] = timed(lambda: router.table(standby, demand), 10, warmup=1)
    return out


def grid_network(side: int, rng: np.random.Generator) -> RoadNetwork:
    """side x side junctions 100 m apart, two-way roads between neighbours at random speeds of 20-90 km/h."""
    ids = np.arange(side * side).reshape(side, side)
    lat0, lon0 = 47.0, 9.0
    dlat, dlon = GRID_SPACING_M / 110_574.0, GRID_SPACING_M / (111_320.0 * np.cos(np.radians(lat0)))
    rows, cols = np.divmod(np.arange(side * side), side)
    lonlat = np.column_stack([lon0 + cols * dlon, lat0 + rows * dlat])
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    travel = GRID_SPACING_M / (rng.uniform(20, 90, len(a)) / 3.6)
    src, dst = np.column_stack([a, b]).ravel(), np.column_stack([b, a]).ravel()  # edge 2k and its twin 2k + 1
    m = len(src)
    return RoadNetwork(
        sha256="grid",
        node_lonlat=lonlat,
        edge_source=src.astype(np.int32),
        edge_target=dst.astype(np.int32),
        edge_id=np.arange(m, dtype=np.int64),
        edge_travel_s=np.repeat(travel, 2),
        edge_length_m=np.full(m, GRID_SPACING_M),
        edge_name=np.full(m, "", dtype="U1"),
        edge_twin=(np.arange(m) ^ 1).astype(np.int32),
        coord_ptr=np.arange(0, 2 * m + 1, 2, dtype=np.int64),
        coords=np.column_stack([lonlat[src], lonlat[dst]]).reshape(-1, 2),
    )


def bench_grid(side: int, rng: np.random.Generator) -> dict:
    start = time.perf_counter()
    net = grid_network(side, rng)
    router = Router(net)
    out: dict = {"nodes": net.n_nodes, "edges": net.n_edges, "build_ms": round((time.perf_counter() - start) * 1e3)}
    lo, hi = net.node_lonlat.min(axis=0), net.node_lonlat.max(axis=0)
    pts = np.column_stack([rng.uniform(lo[1], hi[1], 1010), rng.uniform(lo[0], hi[0], 1010)])
    nodes = iter(rng.integers(0, net.n_nodes, 100))
    out["scipy_one_to_all"] = timed(lambda: dijkstra(net.backward, indices=int(next(nodes))), 5, warmup=1)
    out["scipy_cutoff_600s"] = timed(lambda: dijkstra(net.backward, indices=int(next(nodes)), limit=600.0), 5, warmup=1)
    it = iter(range(1000))
    out["times_to_1000"] = timed(lambda: router.times_to(*pts[1000 + next(it) % 10], pts[:1000]), 5, warmup=1)
    out["times_to_1000_cutoff_600s"] = timed(
        lambda: router.times_to(*pts[1000 + next(it) % 10], pts[:1000], cutoff_s=600.0), 5, warmup=1
    )
    out["route"] = timed(
        lambda: router.route(tuple(pts[(k := next(it) % 1000)]), tuple(pts[1000 + k % 10])), 5, warmup=1
    )
    return out


def render(result: dict, console: Console) -> None:
    table = Table(title=f"Routing (seed {result['seed']}, {result['elapsed_s']} s)")
    table.add_column("graph")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for section in ("map", "grid"):
        for key, value in result[section].items():
            text = (
                f"{value['p50_ms']} / {value['p99_ms']} ms (p50 / p99, n={value['n']})"
                if isinstance(value, dict)
                else str(value)
            )
            table.add_row(section, key, text)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("DISPATCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--grid", type=int, default=1000, help="side of the generated grid graph")
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    result = {
        "seed": args.seed,
        "python": platform.python_version(),
        "scipy": scipy.__version__,
        "cpus": os.cpu_count(),
        "map": bench_map(args.url, rng, args.incidents),
        "grid": bench_grid(args.grid, rng),
    }
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    if not args.json:
        render(result, Console())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
