"""Move-up on the live system: demand, posts and drive-time tables, and the plan for the idle units now.

Demand is where calls come from: the addresses of the map binned into 500 m cells (weighted by how many
there are, which follows mapping effort as much as population), plus the calls of the last 90 days where
there is history. Posts are the stations of the fleet's kind and the standby posts. The posts × demand table
is computed once per map; the units' rows are computed when a plan is made, from where they are.
"""

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.keys import Keys
from dispatch.matching.moveup import IdleUnit, MovePlan, Post, plan_moves
from dispatch.statuses import FREE_UNIT
from dispatch.units.board import BoardUnit
from geo.routing import Router
from geo.routing.router import Destinations

log = logging.getLogger("dispatch.matching")
CELL_M = 500.0
FLEETS = {
    "engine": ("fire", "standby"),
    "ambulance": ("ambulance", "hospital", "standby"),
    "police": ("police", "standby"),
}
IDLE = FREE_UNIT


@dataclass(frozen=True)
class PostPlace:
    post: Post
    kind: str
    lat: float
    lon: float


@dataclass
class CoverageModel:
    demand: np.ndarray  # (n, 2) lat, lon of each demand cell's centre of mass
    weights: np.ndarray  # (n,)
    posts: list[PostPlace]
    post_to_demand: dict[str, np.ndarray]  # fleet -> (posts of the fleet × demand)
    to_demand: Destinations  # drive times from anywhere to the demand cells...
    to_posts: Destinations  # ...and to every post, in `posts` order

    def fleet_posts(self, fleet: str) -> list[PostPlace]:
        return [p for p in self.posts if p.kind in FLEETS[fleet]]

    def fleet_post_columns(self, fleet: str) -> list[int]:
        return [i for i, p in enumerate(self.posts) if p.kind in FLEETS[fleet]]


async def load_places(session: AsyncSession) -> tuple[np.ndarray, np.ndarray, list[PostPlace]]:
    rows = (
        await session.execute(
            text("""
        SELECT ST_Y(location::geometry), ST_X(location::geometry), 1.0 FROM addresses
        UNION ALL
        SELECT ST_Y(location::geometry), ST_X(location::geometry), 3.0 FROM incidents
        WHERE location IS NOT NULL AND received_at > now() - interval '90 days'""")
        )
    ).all()
    stations = (
        await session.execute(
            text("""
        SELECT id, name, kind::text, ST_Y(location::geometry), ST_X(location::geometry) FROM stations
        ORDER BY id""")
        )
    ).all()
    points = np.array([(r[0], r[1]) for r in rows], dtype=float) if rows else np.empty((0, 2))
    weights = np.array([r[2] for r in rows], dtype=float) if rows else np.empty(0)
    posts = [PostPlace(Post(r[0], r[1], 1 if r[2] == "standby" else 2), r[2], r[3], r[4]) for r in stations]
    return points, weights, posts


def bin_demand(points: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells of CELL_M metres: each cell's weighted centre and total weight."""
    if len(points) == 0:
        return np.empty((0, 2)), np.empty(0)
    lat0 = float(np.mean(points[:, 0]))
    ky, kx = 111_320.0, 111_320.0 * math.cos(math.radians(lat0))
    cells = np.floor(np.column_stack([points[:, 0] * ky, points[:, 1] * kx]) / CELL_M).astype(np.int64)
    _, index = np.unique(cells, axis=0, return_inverse=True)
    index = index.ravel()
    total = np.bincount(index, weights=weights)
    lat = np.bincount(index, weights=weights * points[:, 0]) / total
    lon = np.bincount(index, weights=weights * points[:, 1]) / total
    return np.column_stack([lat, lon]), total


def build_model(router: Router, points: np.ndarray, weights: np.ndarray, posts: list[PostPlace]) -> CoverageModel:
    demand, cell_weights = bin_demand(points, weights)
    to_demand = router.destinations([tuple(d) for d in demand])
    to_posts = router.destinations([(p.lat, p.lon) for p in posts])
    tables = {}
    for fleet in FLEETS:
        mine = [p for p in posts if p.kind in FLEETS[fleet]]
        tables[fleet] = to_demand.times_from([(p.lat, p.lon) for p in mine])
    return CoverageModel(demand, cell_weights, posts, tables, to_demand, to_posts)


def fleet_of(unit: BoardUnit) -> str | None:
    return next((f for f in FLEETS if f in unit.capabilities), None)


def plan_fleet(
    model: CoverageModel, fleet: str, units: Sequence[BoardUnit], *, target_s: float, min_gain: float = 0.01
) -> MovePlan:
    """Where the idle units of one fleet should wait now. The chance that a unit is busy is read off the board:
    the share of the fleet's units in service that are on calls, kept within 10-80 % so that one quiet minute
    or one busy one does not swing it."""
    fleet_units = [u for u in units if fleet_of(u) == fleet]
    in_service = [u for u in fleet_units if u.status != "out_of_service"]
    idle = [u for u in in_service if u.status in IDLE and u.lat is not None]
    posts = model.fleet_posts(fleet)
    if not idle or not posts or len(model.weights) == 0 or len(idle) == len(fleet_units):
        # A whole fleet waits where its stations put it: move-up is for the gaps that calls and breakdowns leave.
        return MovePlan((), 0.0, 0.0)
    busy = min(0.8, max(0.1, 1 - len(idle) / len(in_service)))
    positions = [(u.lat, u.lon) for u in idle]
    unit_to_demand = model.to_demand.times_from(positions)
    unit_to_post = model.to_posts.times_from(positions, model.fleet_post_columns(fleet))
    return plan_moves(
        [IdleUnit(u.id, u.call_sign) for u in idle],
        [p.post for p in posts],
        unit_to_demand=unit_to_demand,
        unit_to_post=unit_to_post,
        post_to_demand=model.post_to_demand[fleet],
        weights=model.weights,
        target_s=target_s,
        busy=busy,
        min_gain=min_gain,
    )


class MoveUps:
    """Plans move-ups for every fleet and issues them: to the units' devices (auto) or to the dispatchers as
    proposals. At most one process plans at a time (a Redis lock), at most every `min_interval_s`."""

    def __init__(
        self,
        *,
        routers,
        sessions,
        board,
        redis,
        keys: Keys,
        publish,
        target_s: float,
        auto: bool,
        min_interval_s: float = 10.0,
        pusher=None,
    ) -> None:
        self.routers, self.sessions, self.board, self.redis, self.keys = routers, sessions, board, redis, keys
        self.pusher = pusher
        self._publish = publish
        self.target_s, self.auto, self.min_interval_s = target_s, auto, min_interval_s
        self._model: tuple[object, float, CoverageModel] | None = None  # (its router, built at, model)

    async def model(self) -> CoverageModel:
        """Demand and post tables: built off the event loop, again for a new map and every hour (calls)."""
        router = self.routers.router
        if self._model is None or self._model[0] is not router or time.monotonic() - self._model[1] > 3600:
            async with self.sessions() as session:
                points, weights, posts = await load_places(session)
            model = await asyncio.to_thread(build_model, router, points, weights, posts)
            self._model = (router, time.monotonic(), model)
        return self._model[2]

    async def run(self) -> list[dict]:
        """Plans now if no other process did in the last `min_interval_s`; returns the orders issued."""
        if not self.routers.ready:
            return []
        if not await self.redis.set(self.keys.moveup_lock, "1", nx=True, px=int(self.min_interval_s * 1000)):
            return []
        model = await self.model()
        units = await self.board.units()
        orders = []
        for fleet in FLEETS:
            # A few milliseconds of numpy and an assignment: off the event loop, so intake does not wait for it.
            plan = await asyncio.to_thread(plan_fleet, model, fleet, units, target_s=self.target_s)
            places = {p.post.id: p for p in model.fleet_posts(fleet)}
            for move in plan.moves:
                standing = await self.redis.get(self.keys.move(move.unit_id))
                if standing is not None and int(standing) == move.post_id:
                    continue  # already told
                place = places[move.post_id]
                order = {
                    "type": "unit.move" if self.auto else "move.proposed",
                    "unit_id": move.unit_id,
                    "call_sign": move.call_sign,
                    "post_id": move.post_id,
                    "post": move.post_name,
                    "lat": place.lat,
                    "lon": place.lon,
                    "travel_s": move.travel_s,
                    "reason": move.reason,
                    "coverage_before": round(plan.coverage_before, 4),
                    "coverage_after": round(plan.coverage_after, 4),
                }
                await self.redis.set(self.keys.move(move.unit_id), move.post_id, ex=3600)
                await self._publish(order)
                if self.auto and self.pusher is not None:
                    await self.pusher.move(order)
                orders.append(order)
        if orders:
            log.info("move-up: %d order(s) issued", len(orders))
        return orders
