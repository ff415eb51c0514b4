"""Drive times for matching: the process's router, and one incident's ETA from every unit."""

import asyncio
import logging
import math
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.errors import DispatchError
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import BoardUnit
from geo.routing import Router, RoutingError

log = logging.getLogger("dispatch.matching")
REFRESH_EVERY_S = 5.0


class RoutingNotReady(DispatchError):
    status, code, title = 503, "routing_not_ready", "Routing is not ready"


class RouterHolder:
    """One router per process, rebuilt (off the event loop) when a new map is imported."""

    def __init__(self, libpq_url: str, engine: AsyncEngine, cache_dir: Path) -> None:
        self._libpq_url = libpq_url
        self._engine = engine
        self._cache_dir = cache_dir
        self._router: Router | None = None
        self._map_id: int | None = None
        self._task: asyncio.Task | None = None

    @property
    def router(self) -> Router:
        if self._router is None:
            raise RoutingNotReady("the road network is not loaded yet: is a map imported (`dispatch load-map`)?")
        return self._router

    @property
    def ready(self) -> bool:
        return self._router is not None

    async def refresh(self) -> bool:
        async with self._engine.connect() as conn:
            if not await conn.scalar(text("SELECT to_regclass('map_imports') IS NOT NULL")):
                return False
            latest = await conn.scalar(text("SELECT max(id) FROM map_imports"))
        if latest is None or latest == self._map_id:
            return False
        self._router = await asyncio.to_thread(Router.load, self._libpq_url, self._cache_dir)
        self._map_id = latest
        log.info("road network loaded for map import %s", latest)
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            stop_if_cancelled()
            try:
                await self.refresh()
            except (OSError, LookupError) as exc:
                stop_if_cancelled()
                log.warning("router refresh failed: %s", exc)

    async def start(self) -> None:
        try:
            await self.refresh()
        except (OSError, LookupError, RoutingError) as exc:
            log.warning("router not loaded at start: %s", exc)
        self._task = asyncio.create_task(self._watch(), name="router-refresh")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def relevant(units: Sequence[BoardUnit], needs: set[str]) -> list[BoardUnit]:
    """The units worth the core's attention for an incident: those with a capability its plan needs. With a
    thousand units this is what keeps a decision to milliseconds."""
    return [u for u in units if u.capabilities & needs]


def routable(units: Sequence[BoardUnit], priority: int, divert_from: int) -> list[BoardUnit]:
    """The units a drive time is wanted for: free ones, and for a priority-1 call those it may divert."""
    return [u for u in units if u.status in ("available", "returning")
            or (priority == 1 and u.status in ("dispatched", "acknowledged", "en_route")
                and (u.work_priority or 0) >= divert_from)]


def unit_etas(router: Router, lat: float | None, lon: float | None, units: Sequence[BoardUnit],
              cutoff_s: float = 3600.0) -> dict[int, float]:
    """Drive seconds from each positioned unit to the point: one reversed Dijkstra for all of them."""
    placed = [u for u in units if u.lat is not None and u.lon is not None]
    if lat is None or lon is None or not placed:
        return {}
    try:
        times = router.times_to(lat, lon, [(u.lat, u.lon) for u in placed], cutoff_s=cutoff_s)
    except RoutingError as exc:
        log.warning("no drive times to %.5f, %.5f: %s", lat, lon, exc)
        return {}
    return {u.id: float(t) for u, t in zip(placed, times, strict=True) if math.isfinite(t)}
