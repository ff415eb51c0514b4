"""The figures of a simulation (response times against the targets, utilisation), and a comparison of
policies on the same calls."""

from collections.abc import Callable, Sequence

import numpy as np

from dispatch.matching.core import Policy
from dispatch.matching.coverage import CoverageModel
from geo.routing import Router
from simulator.calls import Timing, generate
from simulator.coverage import coverage_model
from simulator.headless import Simulation
from simulator.model import Outcome, Params
from simulator.world import World

HISTORY_DAYS = 30  # earlier calls the move-up planner learns demand from, like the live system's 90 days


def _stats(values: Sequence[float], target: float | Sequence[float]) -> dict:
    if not len(values):
        return {"calls": 0, "response_s": {"p50": None, "p90": None, "mean": None}, "late_fraction": None}
    v = np.asarray(values, dtype=float)
    late = v > np.asarray(target, dtype=float)
    return {
        "calls": len(v),
        "response_s": {
            "p50": round(float(np.percentile(v, 50)), 1),
            "p90": round(float(np.percentile(v, 90)), 1),
            "mean": round(float(v.mean()), 1),
        },
        "late_fraction": round(float(late.mean()), 4),
    }


def summarise(outcome: Outcome, world: World, params: Params) -> dict:
    """One policy's figures: priority 1 and all calls (late: past the priority's target), by priority, and how
    busy the units were."""
    served = [c for c in outcome.calls if c.id in outcome.response_s]
    p1 = [outcome.response_s[c.id] for c in served if c.priority == 1]
    everything = [outcome.response_s[c.id] for c in served]
    kinds: dict[str, list[float]] = {}
    for unit in world.units:
        kinds.setdefault(unit.kind, []).append(outcome.busy_s.get(unit.id, 0.0))
    horizon = max(outcome.horizon_s, 1.0)
    return {
        "policy": outcome.policy,
        "calls": len(outcome.calls),
        "unserved": len(outcome.calls) - len(served),
        "p1": _stats(p1, params.p1_target_s),
        "all": _stats(everything, [params.target(c.priority) for c in served]),
        "by_priority": {
            str(p): _stats([outcome.response_s[c.id] for c in served if c.priority == p], params.target(p))
            for p in sorted({c.priority for c in served})
        },
        "utilization": round(sum(outcome.busy_s.values()) / (horizon * max(1, len(world.units))), 4),
        "utilization_by_kind": {k: round(sum(v) / (horizon * len(v)), 4) for k, v in sorted(kinds.items())},
        "waited": outcome.waited,
        "diversions": outcome.diversions,
        "move_orders": outcome.move_orders,
        "wall_s": round(outcome.wall_s, 2),
    }


def learnt_coverage(world: World, router: Router, *, per_hour: float, seed: int, timing: Timing) -> CoverageModel:
    """The move-up planner's model as the live system would have it: demand from the addresses and from
    HISTORY_DAYS of earlier calls (another stream of the seed, so it knows the same hotspots)."""
    history = generate(world, per_hour=per_hour, hours=HISTORY_DAYS * 24, seed=seed, timing=timing, stream="history")
    return coverage_model(world, router, history)


def compare(
    world: World,
    router: Router,
    *,
    hours: float,
    seed: int,
    per_hour: float,
    policies: Sequence[Policy],
    params: Params = Params(),
    timing: Timing | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> list[dict]:
    """Every policy on the same calls; one summary per policy, in the order given."""
    timing = timing or Timing()
    calls = generate(world, per_hour=per_hour, hours=hours, seed=seed, timing=timing)
    coverage = None
    if Policy.default in policies and params.move_up:
        coverage = learnt_coverage(world, router, per_hour=per_hour, seed=seed, timing=timing)
    results = []
    for policy in policies:
        tick = (lambda t, p=policy: progress(str(p), t)) if progress else None
        outcome = Simulation(
            world, router, calls, policy, params=params, coverage=coverage, horizon_s=hours * 3600, progress=tick
        ).run()
        results.append(
            {**summarise(outcome, world, params), "hours": hours, "seed": seed, "calls_per_hour": round(per_hour, 3)}
        )
    return results
