"""A hindsight lower bound: the best any policy could have done on a small instance, knowing every call ahead.

The instance: one fleet (the ambulances) and the calls that need exactly one ambulance. Knowing the calls, a
planner could send each unit, call after call, along the best order, and could even have a unit waiting,
engine running, at the very address when the call comes. The bound allows all of that; it only keeps what
no foresight removes:

- a call cannot be answered before it is received, processed and acknowledged: on scene at s_j >= t_j +
  processing_j + acknowledgement_j;
- a unit starts at its station: its first call no sooner than the drive from there;
- a unit is busy on scene (and, for a transport, driving to the hospital and handing over), then drives on:
  if it serves j after i, s_j >= s_i + busy_i + drive(end_i -> x_j).

That is a vehicle-routing problem with release times, solved exactly as a mixed-integer program
(scipy.optimize.milp, HiGHS): binary x[a, j] = "j is the next call of the unit whose last stop is a" (a a
station or a call), the on-scene times s_j, big-M time links. Minimising the sum of s_j - t_j gives the lowest
possible mean response; a second solve with a binary per call gives the fewest possible late calls. Any
policy of the simulator meets the same constraints (and more: turnout from quarters, no waiting at the
address), so on the same instance no policy can beat either figure; the gap says how much is left to win.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from geo.routing import Router
from simulator.calls import Call, generate
from simulator.loads import calls_per_hour_for
from simulator.model import MIN_SCENE_S
from simulator.world import World


@dataclass(frozen=True)
class Bound:
    calls: int
    units: int
    mean_response_s: float  # the lowest mean response possible (a lower bound if the solver hit its time limit)
    late: int  # the fewest late calls possible (same proviso)
    optimal: bool  # both solves proved optimal within the time limit


def _end(call: Call, hospital: tuple[float, float]) -> tuple[float, float]:
    return hospital if call.transport else (call.lat, call.lon)


def solve(
    world: World, router: Router, calls: Sequence[Call], *, targets: dict[int, float], time_limit_s: float = 20.0
) -> Bound:
    units = world.units
    k, n = len(units), len(calls)
    if n == 0 or k == 0:
        raise ValueError("an instance needs at least one call and one unit")
    hospital = (world.hospitals[0].lat, world.hospitals[0].lon)
    places = [(c.lat, c.lon) for c in calls]
    ends = [_end(c, hospital) for c in calls]
    from_home = router.table([u.home for u in units], places)  # (k, n)
    from_end = router.table(ends, places)  # (n, n)
    to_hospital = router.table(places, [hospital])[:, 0]
    busy = np.array(
        [
            max(c.scene_s, MIN_SCENE_S) + (to_hospital[i] + c.handover_s if c.transport else 0.0)
            for i, c in enumerate(calls)
        ]
    )
    release = np.array([c.t + c.processing_s + c.ack_s[0] for c in calls])
    received = np.array([c.t for c in calls])
    if not (np.isfinite(from_home).all() and np.isfinite(from_end).all() and np.isfinite(to_hospital).all()):
        raise ValueError("an instance's places must all be reachable by road")
    horizon = float(release.max() + busy.sum() + from_end.max() * n + from_home.max())

    # Variables: arcs (a -> j) for a in stations (0..k-1) and calls (k..k+n-1), a never j itself; then s_j;
    # then, for the late solve, one binary per call.
    arcs = [(a, j) for a in range(k + n) for j in range(n) if a != k + j]
    m = len(arcs)
    s0 = m
    rows, lo, hi = [], [], []

    def row(coeffs: dict[int, float], low: float, high: float) -> None:
        rows.append(coeffs)
        lo.append(low)
        hi.append(high)

    for j in range(n):  # one predecessor each
        row({v: 1.0 for v, (a, jj) in enumerate(arcs) if jj == j}, 1.0, 1.0)
    for a in range(k + n):  # at most one successor each
        row({v: 1.0 for v, (aa, _) in enumerate(arcs) if aa == a}, -np.inf, 1.0)
    for v, (a, j) in enumerate(arcs):
        if a < k:  # s_j >= drive from the station, when it is the unit's first call
            row({s0 + j: 1.0, v: -float(from_home[a, j])}, 0.0, np.inf)
        else:  # s_j >= s_i + busy_i + drive_ij - M (1 - x_ij)
            i = a - k
            gap = float(busy[i] + from_end[i, j])
            big = horizon + gap - float(release[j])
            row({s0 + j: 1.0, s0 + i: -1.0, v: -big}, gap - big, np.inf)

    def solve_with(
        objective: np.ndarray,
        extra: list[tuple[dict[int, float], float, float]],
        size: int,
        integrality: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
    ):
        all_rows = rows + [r for r, _, _ in extra]
        a = np.zeros((len(all_rows), size))
        for r, coeffs in enumerate(all_rows):
            for col, value in coeffs.items():
                a[r, col] = value
        constraint = LinearConstraint(
            a, np.array(lo + [x for _, x, _ in extra]), np.array(hi + [x for _, _, x in extra])
        )
        return milp(
            objective,
            constraints=constraint,
            integrality=integrality,
            bounds=Bounds(lower, upper),
            options={"time_limit": time_limit_s, "mip_rel_gap": 1e-6},
        )

    # Fewest seconds in all: minimise sum(s_j) (received times are constants).
    size = m + n
    cost = np.concatenate([np.zeros(m), np.ones(n)])
    integrality = np.concatenate([np.ones(m), np.zeros(n)])
    lower = np.concatenate([np.zeros(m), release])
    upper = np.concatenate([np.ones(m), np.full(n, horizon)])
    fast = solve_with(cost, [], size, integrality, lower, upper)
    mean_bound = _dual(fast)
    mean_response = (mean_bound - received.sum()) / n

    # Fewest late calls: z_j = 1 lets s_j - t_j pass the target.
    size = m + 2 * n
    cost = np.concatenate([np.zeros(m + n), np.ones(n)])
    late_rows = []
    for j, c in enumerate(calls):
        target = targets.get(c.priority, math.inf)
        if math.isfinite(target):
            late_rows.append(({s0 + j: 1.0, s0 + n + j: -horizon}, -np.inf, float(received[j] + target)))
    integrality = np.concatenate([np.ones(m), np.zeros(n), np.ones(n)])
    lower = np.concatenate([np.zeros(m), release, np.zeros(n)])
    upper = np.concatenate([np.ones(m), np.full(n, horizon), np.ones(n)])
    fewest = solve_with(cost, late_rows, size, integrality, lower, upper)
    late = math.ceil(_dual(fewest) - 1e-6)
    return Bound(n, k, float(mean_response), late, bool(fast.status == 0 and fewest.status == 0))


def _dual(result) -> float:
    """The proven lower bound of a minimisation: the solver's dual bound (at the optimum, the optimum itself
    to within the gap; the optimum where no dual bound is reported)."""
    bound = getattr(result, "mip_dual_bound", None)
    if result.status == 0 and (bound is None or not math.isfinite(bound)):
        return float(result.fun)
    if bound is None or not math.isfinite(bound):
        raise RuntimeError(f"the hindsight solver found no bound: {result.message}")
    return float(bound)


def ambulance_instance(
    world: World, router: Router, *, seed: int, calls: int, utilisation: float, timing
) -> tuple[World, list[Call]]:
    """A small instance: the ambulances alone, and the first `calls` calls that need one ambulance only, at a
    rate that keeps them `utilisation` busy."""
    codes = frozenset(t.code for t in world.simulated_types() if t.plan_dict() == {"ambulance": 1})
    small = replace(world, units=[u for u in world.units if u.kind == "ambulance"], type_codes=codes)
    if not small.units or not codes:
        raise ValueError("the fleet has no ambulances, or no type needs one ambulance alone")
    rate = calls_per_hour_for(small, router, utilisation, timing)
    hours = 4.0 * calls / rate
    chosen = generate(small, per_hour=rate, hours=hours, seed=seed, timing=timing)[:calls]
    while len(chosen) < calls:  # a rare quiet draw: take a longer stretch
        hours *= 2
        chosen = generate(small, per_hour=rate, hours=hours, seed=seed, timing=timing)[:calls]
    return small, chosen
