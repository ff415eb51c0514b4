"""The policies at quiet, normal and busy load, over several seeded days: pooled priority-1 figures, and a
picture of the response-time distributions.

    .venv/bin/python benchmarks/policies.py [--loads quiet,normal,busy] [--seeds 5] [--hours 24]
                                            [--plot docs/policies.png] [--json]

Each (load, seed) is one simulated stretch of `--hours` on which every policy meets the same calls; the
figures pool the calls of all seeds, so a p90 rests on a few hundred priority-1 calls, not on one day's
thirty.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import orjson
from matplotlib.figure import Figure
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatch.config import get_settings  # noqa: E402
from dispatch.matching.core import Policy  # noqa: E402
from simulator.calls import Timing, generate  # noqa: E402
from simulator.commands import open_world  # noqa: E402
from simulator.headless import Params, Simulation  # noqa: E402
from simulator.loads import LOADS, calls_per_hour_for  # noqa: E402
from simulator.results import learnt_coverage, summarise  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", default="quiet,normal,busy")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    loads = [x.strip() for x in args.loads.split(",")]
    if (bad := [x for x in loads if x not in LOADS]) or args.seeds < 1 or args.hours <= 0:
        parser.error(f"unknown load {bad[0]!r}" if bad else "--seeds and --hours must be positive")
    settings = get_settings()
    world, router = open_world(settings.libpq_url, settings.route_cache_dir)
    params, timing = Params(), Timing()
    pooled: dict[tuple[str, str], dict] = {}
    err = Console(stderr=True)
    started = time.perf_counter()
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("simulating", total=len(loads) * args.seeds * len(Policy))
        for load in loads:
            per_hour = calls_per_hour_for(world, router, LOADS[load], timing)
            for seed in range(1, args.seeds + 1):
                calls = generate(world, per_hour=per_hour, hours=args.hours, seed=seed, timing=timing)
                coverage = learnt_coverage(world, router, per_hour=per_hour, seed=seed, timing=timing)
                for policy in Policy:
                    outcome = Simulation(
                        world, router, calls, policy, params=params, coverage=coverage, horizon_s=args.hours * 3600
                    ).run()
                    summary = summarise(outcome, world, params)
                    cell = pooled.setdefault(
                        (load, str(policy)), {"p1": [], "all_late": [], "busiest": [], "wall_s": [], "calls": 0}
                    )
                    cell["p1"] += [outcome.response_s[c.id] for c in calls if c.priority == 1]
                    cell["all_late"] += [outcome.response_s[c.id] > params.target(c.priority) for c in calls]
                    cell["busiest"].append(max(summary["utilization_by_kind"].values()))
                    cell["wall_s"].append(outcome.wall_s)
                    cell["calls"] += len(calls)
                    progress.advance(task)
    rows = []
    for (load, policy), cell in pooled.items():
        p1 = np.array(cell["p1"])
        rows.append(
            {
                "load": load,
                "policy": policy,
                "seeds": args.seeds,
                "hours": args.hours,
                "calls": cell["calls"],
                "p1_calls": len(p1),
                "p1_p50_s": round(float(np.percentile(p1, 50)), 1),
                "p1_p90_s": round(float(np.percentile(p1, 90)), 1),
                "p1_mean_s": round(float(p1.mean()), 1),
                "p1_late": round(float((p1 > params.p1_target_s).mean()), 4),
                "all_late": round(float(np.mean(cell["all_late"])), 4),
                "busiest_utilisation": round(float(np.mean(cell["busiest"])), 3),
                "wall_s_per_run": round(float(np.mean(cell["wall_s"])), 2),
            }
        )
    if args.json:
        for row in rows:
            print(orjson.dumps(row).decode())
    else:
        show(rows, params)
    err.print(f"{len(loads) * args.seeds * len(Policy)} runs in {time.perf_counter() - started:.0f} s")
    if args.plot:
        draw(pooled, loads, params, args.plot)
        err.print(f"picture: {args.plot}")


def show(rows: list[dict], params: Params) -> None:
    table = Table(title="Received → first unit on scene, pooled over the seeds (minutes)", title_justify="left")
    for column in (
        "load",
        "policy",
        "busiest kind",
        "P1 calls",
        "P1 p50",
        "P1 p90",
        "P1 mean",
        f"P1 > {params.p1_target_s / 60:g} min",
        "all late",
        "vs straight-line (p90 / late)",
    ):
        table.add_column(column, justify="left" if column in ("load", "policy") else "right")
    base = {r["load"]: r for r in rows if r["policy"] == Policy.straight_line}
    for r in rows:
        b = base.get(r["load"])
        versus = ""
        if b is not None and r is not b:
            late = 1 - r["p1_late"] / b["p1_late"] if b["p1_late"] else 0.0
            versus = f"{1 - r['p1_p90_s'] / b['p1_p90_s']:.0%} / {late:.0%}"
        table.add_row(
            r["load"],
            r["policy"],
            f"{r['busiest_utilisation']:.0%}",
            str(r["p1_calls"]),
            f"{r['p1_p50_s'] / 60:.1f}",
            f"{r['p1_p90_s'] / 60:.1f}",
            f"{r['p1_mean_s'] / 60:.1f}",
            f"{r['p1_late']:.0%}",
            f"{r['all_late']:.0%}",
            versus,
        )
    Console().print(table)


def draw(pooled: dict, loads: list[str], params: Params, path: Path) -> None:
    fig = Figure(figsize=(4.2 * len(loads), 3.8))  # no pyplot: no backend, no global figures
    axes = fig.subplots(1, len(loads), sharey=True, squeeze=False)
    for ax, load in zip(axes[0], loads, strict=True):
        for policy in Policy:
            p1 = np.sort(np.array(pooled[(load, str(policy))]["p1"])) / 60
            ax.step(p1, np.arange(1, len(p1) + 1) / len(p1), where="post", label=str(policy))
        ax.axvline(params.p1_target_s / 60, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{load} load")
        ax.set_xlabel("priority 1: received → first on scene (min)")
        ax.set_xlim(0, 30)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("share of calls answered within")
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
