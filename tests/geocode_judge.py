"""Judging the geocoder's answers against evaluation cases: the case type, distances, right and confident-wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import shapely
from shapely import wkt as shapely_wkt
from shapely.geometry import Point

EXACT_FORMS = (
    "exact",
    "number_first",
    "no_municipality",
    "postcode",
    "case",
    "poi",
    "coordinates",
    "intersection",
    "street_only",
)
MISSPELT_FORMS = ("abbreviated", "accents", "typo1", "typo2")
FORMS = (
    "exact",
    "number_first",
    "no_municipality",
    "postcode",
    "case",
    *MISSPELT_FORMS,
    "interpolated",
    "street_only",
    "intersection",
    "poi",
    "coordinates",
    "outside",
    "nonexistent",
    "ambiguous",
    "bad_input",
)
POI_KINDS = {
    "hospital",
    "school",
    "fire_station",
    "police",
    "place_of_worship",
    "townhall",
    "restaurant",
    "supermarket",
    "cafe",
    "bank",
    "post_office",
    "hotel",
    "museum",
}
NOT_STREETS = {"platform", "bus_stop", "rest_area", "raceway"}  # `streets` rows that are stops, a race track
EARTH_R = 6_371_008.8


@dataclass(frozen=True)
class Case:
    form: str
    q: str
    expect: str
    lat: float | None
    lon: float | None
    tolerance_m: float
    truth_wkt: str | None = None  # street geometry; for ambiguous cases a GEOMETRYCOLLECTION, one per municipality
    ambiguous: bool = False


# --- judging ---------------------------------------------------------------------------------------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(a))


@lru_cache(maxsize=4096)
def _geom(wkt: str):
    return shapely_wkt.loads(wkt)


def _metres_to(geom, lat: float, lon: float) -> float:
    """Point-to-geometry distance in an equirectangular projection centred on the point: over a street's few
    kilometres the error stays far below a metre, and no projection library is needed."""
    kx, ky = EARTH_R * math.radians(1) * math.cos(math.radians(lat)), EARTH_R * math.radians(1)
    return shapely.transform(geom, lambda xy: xy * [kx, ky]).distance(Point(lon * kx, lat * ky))


def distance_m(case: Case, lat: float, lon: float) -> float:
    if case.truth_wkt:
        return _metres_to(_geom(case.truth_wkt), lat, lon)
    return haversine_m(case.lat, case.lon, lat, lon)


def is_right(case: Case, result) -> bool:
    conf = result.confidence or 0.0
    if case.expect == "none":
        return result.match == "none" or conf < 0.5
    if case.ambiguous:  # unsure, and every municipality's street offered among the answers
        pts = [(c.lat, c.lon) for c in (result, *(result.candidates or ())) if c.lat is not None and c.lon is not None]
        return conf < 0.9 and all(
            any(_metres_to(part, la, lo) <= case.tolerance_m for la, lo in pts) for part in _geom(case.truth_wkt).geoms
        )
    if result.lat is None or result.lon is None:
        return False
    if case.form == "outside" and result.in_service_area is not False:
        return False
    return distance_m(case, result.lat, result.lon) <= case.tolerance_m


def is_confident_wrong(case: Case, result) -> bool:
    sure = (result.confidence or 0.0) >= 0.9
    if case.expect == "none":
        return sure and result.match != "none"
    return sure and not is_right(case, result)


# --- reading the map -------------------------------------------------------------------------------------------
