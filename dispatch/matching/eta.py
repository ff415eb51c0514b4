"""Drive times for matching: the process's router, and one incident's ETA from every unit."""

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.errors import DispatchError
from dispatch.mapbound import MapBound
from dispatch.statuses import DIVERTIBLE_UNIT, FREE_UNIT
from dispatch.units.board import BoardUnit
from geo.routing import Route, Router, RoutingError
from geo.routing.router import Tree

log = logging.getLogger("dispatch.matching")
FAR_REACH_M = 20_000.0  # how far from a road an incident may be and still be reached from the nearest one


class RoutingNotReady(DispatchError):
    status, code, title = 503, "routing_not_ready", "Routing is not ready"


class RouterHolder(MapBound[Router]):
    """One router per process, its road network reloaded when a new map is imported."""

    what = "road network"

    def __init__(self, libpq_url: str, engine: AsyncEngine, cache_dir: Path) -> None:
        super().__init__(libpq_url, engine)
        self._cache_dir = cache_dir

    def build(self, libpq_url: str) -> Router:
        return Router.load(libpq_url, self._cache_dir)

    def not_ready(self) -> DispatchError:
        return RoutingNotReady("the road network is not loaded yet: is a map imported (`dispatch load-map`)?")

    @property
    def router(self) -> Router:
        return self.value


def relevant(units: Sequence[BoardUnit], needs: set[str]) -> list[BoardUnit]:
    """The units worth the core's attention for an incident: those with a capability its plan needs. With a
    thousand units this is what keeps a decision to milliseconds."""
    return [u for u in units if not u.capabilities.isdisjoint(needs)]


def routable(units: Sequence[BoardUnit], priority: int, divert_from: int) -> list[BoardUnit]:
    """The units a drive time is wanted for: free ones, and for a priority-1 call those it may divert."""
    return [
        u
        for u in units
        if u.status in FREE_UNIT
        or (priority == 1 and u.status in DIVERTIBLE_UNIT and (u.work_priority or 0) >= divert_from)
    ]


CANDIDATES = 25  # per capability: the units nearest in a straight line that are given a drive time


def nearest(
    units: Sequence[BoardUnit],
    lat: float | None,
    lon: float | None,
    needs: set[str],
    *,
    eligible=None,
    k: int = CANDIDATES,
) -> list[BoardUnit]:
    """For each capability the incident needs, the `k` eligible units nearest in a straight line (the union,
    in id order; `eligible` None: every unit given). With a thousand units, ranking a few dozen by road instead
    of all of them keeps a decision to milliseconds; the unit nearest by road is among the 25 nearest by air
    unless roads are very unlike the crow's flight, which the bundled map's valley is not. Without a location,
    every eligible unit."""
    pool = [u for u in units if u.lat is not None and u.lon is not None and (eligible is None or eligible(u))]
    if lat is None or lon is None or len(pool) <= k:
        return pool
    n = len(pool)
    ys = np.fromiter((u.lat for u in pool), float, n)
    xs = np.fromiter((u.lon for u in pool), float, n)
    dy = ys - lat
    dx = (xs - lon) * math.cos(math.radians(lat))
    distance = dx * dx + dy * dy  # only the order matters
    chosen: set[int] = set()
    for capability in needs:
        having = np.fromiter((capability in u.capabilities for u in pool), bool, n)
        index = np.flatnonzero(having)
        if len(index) > k:
            index = index[np.argpartition(distance[index], k)[:k]]
        chosen.update(index.tolist())
    return [pool[i] for i in sorted(chosen)]


class DriveTimes(dict):
    """Unit id -> drive seconds to the incident, and the search tree behind them: `route(unit_id)` is that
    unit's route without a second search (None when it has no drive time)."""

    def __init__(
        self, times: dict[int, float] | None = None, tree: Tree | None = None, index: dict[int, int] | None = None
    ) -> None:
        super().__init__(times or {})
        self._tree, self._index = tree, index or {}

    def route(self, unit_id: int) -> Route | None:
        if self._tree is None or unit_id not in self or unit_id not in self._index:
            return None
        try:
            return self._tree.route(self._index[unit_id])
        except RoutingError:
            return None


def unit_etas(
    router: Router, lat: float | None, lon: float | None, units: Sequence[BoardUnit], cutoff_s: float = 3600.0
) -> DriveTimes:
    """Drive seconds from each positioned unit to the point: one reversed Dijkstra for all of them."""
    placed = [u for u in units if u.lat is not None and u.lon is not None]
    if lat is None or lon is None or not placed:
        return DriveTimes()
    try:
        # An incident far from the roads (a mountain hut, a trail) is reached from the nearest road: units are
        # still ranked, each drive time including the same walk from the road's end.
        points = [(u.lat, u.lon) for u in placed if u.lat is not None and u.lon is not None]
        tree = router.tree_to(lat, lon, points, cutoff_s=cutoff_s, reach_m=FAR_REACH_M)
    except RoutingError as exc:
        log.warning("no drive times to %.5f, %.5f: %s", lat, lon, exc)
        return DriveTimes()
    times = {u.id: float(t) for u, t in zip(placed, tree.seconds, strict=True) if math.isfinite(t)}
    return DriveTimes(times, tree, {u.id: i for i, u in enumerate(placed)})
