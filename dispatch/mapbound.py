"""What a service process builds from the imported map (the geocoder's index, the road network) and keeps
until a newer map is imported, possibly by `dispatch load-map` in another process: a cheap look at
map_imports every few seconds, and a rebuild off the event loop when it changed. And the check that a
position is within reach of the map (`check_position`)."""

import asyncio
import logging
from typing import Generic, TypeVar

import shapely
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.errors import DispatchError
from dispatch.tasks import stop_if_cancelled
from geo.geocoder import Geocoder, GeocoderIndex

log = logging.getLogger("dispatch")
REFRESH_EVERY_S = 5.0
T = TypeVar("T")


class MapBound(Generic[T]):
    """Subclasses say what to build (`build`, run in a thread) and what to raise while nothing is built."""

    what = "map data"

    def __init__(self, libpq_url: str, engine: AsyncEngine) -> None:
        self._libpq_url = libpq_url
        self._engine = engine
        self._value: T | None = None
        self.map_id: int | None = None  # the import the value was built from
        self._task: asyncio.Task | None = None

    def build(self, libpq_url: str) -> T:
        raise NotImplementedError

    def not_ready(self) -> DispatchError:
        raise NotImplementedError

    def built(self, value: T) -> None:
        """Called on the event loop after each build."""

    @property
    def value(self) -> T:
        if self._value is None:
            raise self.not_ready()
        return self._value

    @property
    def ready(self) -> bool:
        return self._value is not None

    async def refresh(self) -> bool:
        """Rebuilds if the newest import is not the one it was built from; True if it did."""
        async with self._engine.connect() as conn:
            if not await conn.scalar(text("SELECT to_regclass('map_imports') IS NOT NULL")):
                return False
            latest = await conn.scalar(text("SELECT max(id) FROM map_imports"))
        if latest is None or latest == self.map_id:
            return False
        self._value = await asyncio.to_thread(self.build, self._libpq_url)
        self.map_id = latest
        self.built(self._value)
        log.info("%s built from map import %s", self.what, latest)
        return True

    async def poll(self) -> None:
        """One look of the watch: a database away for a moment (refused, or a pooled connection a restart cut,
        which SQLAlchemy raises as its own error) is logged and the value kept; the next look tries again."""
        try:
            await self.refresh()
        except (OSError, LookupError, SQLAlchemyError) as exc:
            stop_if_cancelled()
            log.warning("%s refresh failed: %s", self.what, str(exc).splitlines()[0] if str(exc) else repr(exc))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            stop_if_cancelled()
            await self.poll()

    async def start(self) -> None:
        try:
            await self.refresh()
        except (OSError, LookupError, ValueError) as exc:
            log.warning("%s not built at start: %s", self.what, exc)
        self._task = asyncio.create_task(self._watch(), name=f"{self.what}-refresh")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# --- Positions far outside the map ----------------------------------------------------------------------------
# A unit or an incident hundreds of kilometres away is a fault (a device's bad fix, a typo, fuzzing left units at
# latitude -85), never a dispatch: the matcher would route to it and the map would lose it. Within the margin
# a position is real (a hospital run across the border, mutual aid, a caller just outside) and is kept.
MARGIN_M = 50_000.0


class OutsideServiceArea(DispatchError):
    status, code, title = 422, "outside_service_area", "Outside the service area"


# (id of the geocoder index, margin) -> (the index, its service area grown by the margin, prepared in place)
_areas: dict[tuple[int, float], tuple[GeocoderIndex, shapely.Geometry]] = {}


def _area(index: GeocoderIndex, margin_m: float) -> shapely.Geometry:
    key = (id(index), margin_m)
    area = _areas.get(key)
    if area is None:
        _areas.clear()  # one map at a time: an older index is not kept alive by its area
        grown = index.service_area.buffer(margin_m)
        shapely.prepare(grown)
        area = _areas[key] = (index, grown)
    return area[1]


def check_position(
    where: "MapBound[Geocoder] | Geocoder", lat: float, lon: float, *, margin_m: float = MARGIN_M
) -> None:
    """Raises OutsideServiceArea (422, saying why) when (lat, lon) is further than `margin_m` outside the map's
    service area. `where` is the geocoder holder (`app.state.services.geocoder`) or a geocoder; with no map loaded yet
    nothing is refused (the service cannot judge, and a crew's position must not be lost for it)."""
    geocoder = where
    if isinstance(where, MapBound):
        if not where.ready:
            return
        geocoder = where.value
    index = geocoder.ix
    # Every position fix of every device comes here: plain floats and a prepared test of the coordinates, no
    # numpy scalars or Point made for it.
    x, y = index.projection.point_xy(lon, lat)
    if not shapely.contains_xy(_area(index, margin_m), x, y):
        raise OutsideServiceArea(
            f"({lat:.5f}, {lon:.5f}) is outside the service area: more than "
            f"{margin_m / 1000:g} km from the map's municipalities"
        )
