"""What a service process builds from the imported map (the geocoder's index, the road network) and keeps
until a newer map is imported, possibly by `dispatch load-map` in another process: a cheap look at
map_imports every few seconds, and a rebuild off the event loop when it changed."""

import asyncio
import logging
from typing import Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.errors import DispatchError
from dispatch.tasks import stop_if_cancelled

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
