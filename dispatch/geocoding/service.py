"""Holds the geocoder of the running service and rebuilds it when a new map has been imported."""

import gc

from dispatch.errors import DispatchError
from dispatch.mapbound import MapBound
from geo.geocoder import Geocoder, build_index


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


class GeocoderHolder(MapBound[Geocoder]):
    """One geocoder per process, its index rebuilt when a new map is imported."""

    what = "geocoder index"

    def build(self, libpq_url: str) -> Geocoder:
        return Geocoder(build_index(libpq_url))

    def built(self, value: Geocoder) -> None:
        settle_long_lived_objects()

    def not_ready(self) -> DispatchError:
        return MapNotLoaded("no map is imported yet: run `dispatch load-map`")

    @property
    def geocoder(self) -> Geocoder:
        return self.value
