"""`dispatch simulate --headless` and `--hindsight`: load the world, run, print a table or JSON lines."""

import math
import sys
from collections.abc import Sequence

import orjson
import psycopg
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dispatch.matching.core import Policy
from geo.routing import Router
from simulator.calls import Timing
from simulator.headless import Params, Simulation
from simulator.hindsight import ambulance_instance, solve
from simulator.loads import LOADS, calls_per_hour_for, calls_per_hour_of
from simulator.results import compare, learnt_coverage
from simulator.world import World, WorldError, load_world

err = Console(stderr=True)


class SimulationError(RuntimeError):
    """Something a user can fix: a message and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def parse_policies(text: str) -> list[Policy]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    known = [p.value for p in Policy]
    if not names:
        raise SimulationError(f"--policies needs at least one of: {', '.join(known)}", 2)
    if bad := [n for n in names if n not in known]:
        raise SimulationError(f"unknown policy {bad[0]!r} (known: {', '.join(known)})", 2)
    return list(dict.fromkeys(Policy(n) for n in names))


def parse_range(text: str, what: str) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise SimulationError(
            f"{what} must be two numbers of seconds, low,high (like 30,80), got {text!r}", 2
        ) from None
    if not 0 <= low <= high <= 3600:
        raise SimulationError(f"{what} must satisfy 0 <= low <= high <= 3600, got {text!r}", 2)
    return low, high


def open_world(libpq_url: str, cache_dir) -> tuple[World, Router]:
    try:
        router = Router.load(libpq_url, cache_dir)
        return load_world(libpq_url, router), router
    except psycopg.OperationalError as exc:
        raise SimulationError(f"cannot reach the database: {str(exc).strip().splitlines()[0]}") from None
    except psycopg.errors.UndefinedTable:
        raise SimulationError("the schema is missing: run `dispatch migrate` and `dispatch load-map` first") from None
    except psycopg.Error as exc:
        raise SimulationError(f"cannot read the map: {str(exc).strip().splitlines()[0]}") from None
    except (WorldError, LookupError, ValueError) as exc:
        raise SimulationError(f"cannot simulate on this database: {exc}") from None


def headless(
    libpq_url: str,
    cache_dir,
    *,
    hours: float,
    seed: int,
    load: str | None,
    per_hour: float | None,
    policies: Sequence[Policy],
    params: Params,
    timing: Timing,
    as_json: bool,
) -> list[dict]:
    world, router = open_world(libpq_url, cache_dir)
    if per_hour is None:
        per_hour = calls_per_hour_of(world, router, load or "normal", timing)
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        tasks = {str(p): progress.add_task(str(p), total=hours * 3600, clock="") for p in policies}
        last: dict[str, float] = {}

        def tick(policy: str, t: float) -> None:
            if t - last.get(policy, -1e9) >= 600 or t >= hours * 3600:
                last[policy] = t
                day, rest = divmod(int(t), 86400)
                progress.update(
                    tasks[policy], completed=t, clock=f"day {day + 1} {rest // 3600:02d}:{rest % 3600 // 60:02d}"
                )

        results = compare(
            world,
            router,
            hours=hours,
            seed=seed,
            per_hour=per_hour,
            policies=policies,
            params=params,
            timing=timing,
            progress=tick,
        )
    for r in results:
        r["load"] = load
    if as_json:
        for r in results:
            sys.stdout.write(orjson.dumps(r).decode() + "\n")
    else:
        print_table(results, params)
    return results


def _minutes(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def print_table(results: list[dict], params: Params) -> None:
    first = results[0]
    out = Console()
    title = (
        f"{first['calls']} calls in {first['hours']:g} h ({first['calls_per_hour']:.1f}/h, load "
        f"{first.get('load') or 'by rate'}), seed {first['seed']}: received → first unit on scene"
    )
    table = Table(
        title=title,
        title_justify="left",
        caption=f"minutes; late: past the priority's target (priority 1: {params.p1_target_s / 60:g} min)",
        caption_justify="left",
    )
    for column in ("policy", "P1", "P1 p50", "P1 p90", "P1 late", "all p90", "all late", "busiest", "divert", "moves"):
        table.add_column(
            column, justify="left" if column == "policy" else "right", no_wrap=column in ("policy", "busiest")
        )
    for r in results:
        kinds = r["utilization_by_kind"]
        busiest = max((k for k in kinds), key=lambda k: kinds[k])
        table.add_row(
            r["policy"],
            str(r["p1"]["calls"]),
            _minutes(r["p1"]["response_s"]["p50"]),
            _minutes(r["p1"]["response_s"]["p90"]),
            _share(r["p1"]["late_fraction"]),
            _minutes(r["all"]["response_s"]["p90"]),
            _share(r["all"]["late_fraction"]),
            f"{busiest} {kinds[busiest]:.0%}",
            str(r["diversions"]),
            str(r["move_orders"]),
        )
    out.print(table)
    base = next((r for r in results if r["policy"] == Policy.straight_line), None)
    for r in results:
        if base is None or r is base or not base["p1"]["calls"]:
            continue
        p90 = 1 - r["p1"]["response_s"]["p90"] / base["p1"]["response_s"]["p90"]
        late = (1 - r["p1"]["late_fraction"] / base["p1"]["late_fraction"]) if base["p1"]["late_fraction"] else 0.0
        out.print(
            f"{r['policy']} against straight-line: priority-1 p90 {p90:.0%} shorter, late share {late:.0%} lower",
            highlight=False,
        )
    err.print(f"simulated in {sum(r['wall_s'] for r in results):.1f} s", highlight=False)


def hindsight(
    libpq_url: str,
    cache_dir,
    *,
    instances: int,
    calls: int,
    seed: int,
    policies: Sequence[Policy],
    params: Params,
    timing: Timing,
    as_json: bool,
) -> list[dict]:
    """Small instances (the ambulances and their single-ambulance calls at busy load): every policy against the
    hindsight lower bound."""
    world, router = open_world(libpq_url, cache_dir)
    targets = {p: params.target(p) for p in (1, 2, 3, 4)}
    rows = []
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=as_json
    ) as progress:
        task = progress.add_task("hindsight instances", total=instances)
        for i in range(instances):
            small, chosen = ambulance_instance(
                world, router, seed=seed + i, calls=calls, utilisation=LOADS["busy"], timing=timing
            )
            bound = solve(small, router, chosen, targets=targets)
            per_hour = calls_per_hour_for(small, router, LOADS["busy"], timing)
            coverage = learnt_coverage(small, router, per_hour=per_hour, seed=seed + i, timing=timing)
            row = {
                "instance": i + 1,
                "seed": seed + i,
                "calls": bound.calls,
                "units": bound.units,
                "bound": {
                    "mean_response_s": round(bound.mean_response_s, 1),
                    "late": bound.late,
                    "optimal": bound.optimal,
                },
                "policies": {},
            }
            for policy in policies:
                outcome = Simulation(small, router, chosen, policy, params=params, coverage=coverage).run()
                responses = [outcome.response_s.get(c.id, math.inf) for c in chosen]  # inf: never reached
                row["policies"][str(policy)] = {
                    "mean_response_s": round(sum(responses) / len(responses), 1),
                    "late": sum(1 for c, r in zip(chosen, responses, strict=True) if r > targets[c.priority]),
                }
            rows.append(row)
            progress.advance(task)
    if as_json:
        for row in rows:
            sys.stdout.write(orjson.dumps(row).decode() + "\n")
        return rows
    table = Table(
        title=f"Hindsight lower bound: {calls} single-ambulance calls, the ambulances alone, busy load",
        title_justify="left",
    )
    table.add_column("instance")
    table.add_column("bound: mean / late", justify="right")
    for policy in policies:
        table.add_column(f"{policy}: mean / late", justify="right")
    for row in rows:
        cells = [
            f"{_minutes(row['bound']['mean_response_s'])} min / {row['bound']['late']}"
            + ("" if row["bound"]["optimal"] else " (bound)")
        ]
        for p in policies:
            mine = row["policies"][str(p)]
            cells.append(f"{_minutes(mine['mean_response_s'])} min / {mine['late']}")
        table.add_row(str(row["instance"]), *cells)
    Console().print(table)
    Console().print(
        "The bound lets units wait anywhere, even at the address before the call, knowing it will come: "
        "no policy can beat it; the gap is an upper limit on what is left to win."
    )
    return rows
