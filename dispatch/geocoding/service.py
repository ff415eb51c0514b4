"""Holds the geocoder of the running service and rebuilds it when a new map has been imported."""

import asyncio
import gc
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.errors import DispatchError
from dispatch.tasks import stop_if_cancelled
from geo.geocoder import Geocoder, build_index

log = logging.getLogger("dispatch.geocoding")
REFRESH_EVERY_S = 5.0


class MapNotLoaded(DispatchError):
    status, code, title = 503, "map_not_loaded", "Map not loaded"


def settle_long_lived_objects() -> None:
    """The index is some 100,000 Python objects that live as long as the map. Left to the cyclic garbage
    collector, every full collection walks them all and stalls the event loop (60 ms measured): a p99 spike
    on every request in flight. Freezing moves them out of the collector's sight; a new map unfreezes, so the
    old index can be freed, and freezes again."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class GeocoderHolder:
    """One geocoder per process. `dispatch load-map` may run in another process: the holder notices the new
    import (a cheap look at map_imports every few seconds) and swaps in a fresh index built off the loop."""

    def __init__(self, libpq_url: str, engine: AsyncEngine) -> None:
        self._libpq_url = libpq_url
        self._engine = engine
        self._geocoder: Geocoder | None = None
        self._task: asyncio.Task | None = None

    @property
    def geocoder(self) -> Geocoder:
        if self._geocoder is None:
            raise MapNotLoaded("no map is imported yet: run `dispatch load-map`")
        return self._geocoder

    @property
    def map_id(self) -> int | None:
        return self._geocoder.ix.map_id if self._geocoder else None

    async def refresh(self) -> bool:
        """Rebuilds the index if the newest import is not the one it was built from; True if it did."""
        async with self._engine.connect() as conn:
            if not await conn.scalar(text("SELECT to_regclass('map_imports') IS NOT NULL")):
                return False
            latest = await conn.scalar(text("SELECT max(id) FROM map_imports"))
        if latest is None or latest == self.map_id:
            return False
        index = await asyncio.to_thread(build_index, self._libpq_url)
        self._geocoder = Geocoder(index)
        settle_long_lived_objects()
        log.info("geocoder index built from map import %s in %.2f s", index.map_id, index.build_s)
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY_S)
            stop_if_cancelled()
            try:
                await self.refresh()
            except (OSError, LookupError) as exc:  # the database away for a moment: keep the index we have
                stop_if_cancelled()
                log.warning("geocoder refresh failed: %s", exc)

    async def start(self) -> None:
        try:
            await self.refresh()
        except (OSError, LookupError) as exc:
            log.warning("geocoder not built at start: %s", exc)
        self._task = asyncio.create_task(self._watch(), name="geocoder-refresh")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
