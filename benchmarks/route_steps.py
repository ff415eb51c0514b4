"""What turn-by-turn steps add to a route: 100 routes on the imported map, timed as `Router.route` alone and
with `Route.steps()`, and as the `route` message a unit is sent (which carries the steps).

    .venv/bin/python benchmarks/route_steps.py [--url URL] [--routes 100] [--seed 7]

A measurement, not a test: it exits 0 whatever the numbers say. Route ends are road nodes moved by ~30 m at
random, as in benchmarks/routing.py. The database must hold the imported map (`dispatch load-map`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from dispatch.push import messages  # noqa: E402
from geo.routing import Router  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/dispatch"


def percentiles(samples: list[float]) -> str:
    p50, p99 = np.percentile(samples, [50, 99])
    return f"p50 {p50:7.3f} ms   p99 {p99:7.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    url = os.environ.get("DISPATCH_DATABASE_URL", DEFAULT_URL).replace("postgresql+psycopg://", "postgresql://")
    parser.add_argument("--url", default=url)
    parser.add_argument("--routes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    router = Router.load(args.url)
    net, rng = router.network, np.random.default_rng(args.seed)
    lonlat = net.node_lonlat[rng.integers(0, net.n_nodes, 2 * args.routes)]
    ends = np.column_stack(
        [lonlat[:, 1] + rng.normal(0, 3e-4, len(lonlat)), lonlat[:, 0] + rng.normal(0, 4e-4, len(lonlat))]
    )
    pairs = [(tuple(ends[2 * i]), tuple(ends[2 * i + 1])) for i in range(args.routes)]
    for a, b in pairs[:5]:  # warm up
        router.route(a, b).steps()
    route_ms, steps_ms, message_ms, counts = [], [], [], []
    for a, b in pairs:
        t0 = time.perf_counter_ns()
        route = router.route(a, b)
        t1 = time.perf_counter_ns()
        steps = route.steps()
        t2 = time.perf_counter_ns()
        messages.route(router, a, b, found=route)
        t3 = time.perf_counter_ns()
        route_ms.append((t1 - t0) / 1e6)
        steps_ms.append((t2 - t1) / 1e6)
        message_ms.append((t3 - t2) / 1e6)
        counts.append(len(steps))
    both = [r + s for r, s in zip(route_ms, steps_ms, strict=True)]
    print(f"{args.routes} routes, {net.n_nodes} nodes, steps per route p50 {np.median(counts):.0f} max {max(counts)}")
    print(f"route without steps   {percentiles(route_ms)}")
    print(f"route with steps      {percentiles(both)}")
    print(f"steps alone           {percentiles(steps_ms)}")
    print(f"route message (steps) {percentiles(message_ms)}")


if __name__ == "__main__":
    main()
