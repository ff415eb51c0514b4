"""Move-up: where idle units should wait. Pure, like the core.

Which unit answers a call matters less than where the idle ones are when it comes. After dispatches have
emptied part of the region, the idle units of a fleet (engines, ambulances or patrols) are re-placed over the
posts (stations and standby posts) to maximise the expected demand covered within the target time, in the
way of MEXCLP (Daskin's maximum expected covering location problem) as applied dynamically (DMEXCLP,
Jagtenberg et al.): a demand point covered by k units is served in time with probability 1 - q^k, where q is
the chance that a unit is busy. Posts are filled greedily by marginal gain, then units are matched to the
chosen posts with the least total driving (linear_sum_assignment). No move is proposed unless the expected
coverage gains at least `min_gain`: every move takes a crew off its station for nothing if it is not needed.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

AT_POST_S = 60.0  # a unit within a minute of its post is there already


@dataclass(frozen=True)
class Post:
    id: int
    name: str
    capacity: int = 2


@dataclass(frozen=True)
class IdleUnit:
    id: int
    call_sign: str


@dataclass(frozen=True)
class Move:
    unit_id: int
    call_sign: str
    post_id: int
    post_name: str
    travel_s: float
    reason: str


@dataclass(frozen=True)
class MovePlan:
    moves: tuple[Move, ...]
    coverage_before: float  # expected share of demand reached within the target time, idle units as they are
    coverage_after: float  # ...and after the moves


def expected_coverage(times_to_demand: np.ndarray, weights: np.ndarray, *, target_s: float, busy: float) -> float:
    """Share of the demand expected to be reached within `target_s` by units placed with these drive times
    (one row per unit, one column per demand point)."""
    if times_to_demand.size == 0 or weights.sum() <= 0:
        return 0.0
    covering = (times_to_demand <= target_s).sum(axis=0)
    return float((weights * (1.0 - busy**covering)).sum() / weights.sum())


def plan_moves(
    units: Sequence[IdleUnit],
    posts: Sequence[Post],
    *,
    unit_to_demand: np.ndarray,
    unit_to_post: np.ndarray,
    post_to_demand: np.ndarray,
    weights: np.ndarray,
    target_s: float,
    busy: float = 0.3,
    min_gain: float = 0.01,
) -> MovePlan:
    """Where the idle units of one fleet should wait. Matrices are drive seconds: units × demand points,
    units × posts, posts × demand points; `weights` is the demand at each point (calls or addresses)."""
    k = len(units)
    before = expected_coverage(unit_to_demand, weights, target_s=target_s, busy=busy)
    if k == 0 or not posts:
        return MovePlan((), before, before)
    covers = post_to_demand <= target_s
    room = np.array([p.capacity for p in posts])
    placed = np.zeros(len(weights))
    chosen: list[int] = []
    for _ in range(min(k, int(room.sum()))):
        # Marginal gain of one more unit at each post: the demand it covers, times the chance that all the
        # units already covering it are busy and this one is free.
        gain = covers @ (weights * (1.0 - busy) * busy**placed)
        gain = np.where(room > 0, gain, -1.0)
        best = int(np.argmax(gain))  # ties: the first post, so the result is deterministic
        chosen.append(best)
        room[best] -= 1
        placed += covers[best]
    # An unreachable post must stay assignable for the solver; it is never chosen while any other will do.
    rows, cols = linear_sum_assignment(np.nan_to_num(unit_to_post[:, chosen], posinf=1e9))
    after_times = unit_to_demand.copy()
    target_post = {}
    for u, c in zip(rows, cols, strict=True):
        target_post[u] = chosen[c]
        after_times[u] = post_to_demand[chosen[c]]
    after = expected_coverage(after_times, weights, target_s=target_s, busy=busy)
    if after - before < min_gain:
        return MovePlan((), before, before)
    moves = []
    for u in sorted(target_post):
        post = target_post[u]
        travel = float(unit_to_post[u, post])
        if travel <= AT_POST_S:
            continue
        moves.append(
            Move(
                units[u].id,
                units[u].call_sign,
                posts[post].id,
                posts[post].name,
                round(travel, 1),
                f"cover: expected demand reached in {target_s / 60:.0f} min from {before:.0%} to {after:.0%}",
            )
        )
    return MovePlan(tuple(moves), before, after)
