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
    "addr_place",
    "country",
    "corner",
)
MISSPELT_FORMS = ("abbreviated", "accents", "typo1", "typo2", "swapped", "two_errors")
# Forms of the harder cases (tests/geocode_hard_cases.py); "reverse" is judged on reverse geocoding.
HARD_FORMS = (
    "addr_place",
    "country",
    "swapped",
    "two_errors",
    "past_end",
    "interp_way",
    "area",
    "corner",
    "reverse",
)
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
    *(f for f in HARD_FORMS if f not in MISSPELT_FORMS),
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
    street_length_m: float | None = None  # past_end: the street's length, for the street-level confidence cap
    street_names: tuple[str, ...] = ()  # reverse: street names a label may give (any one of them is right)


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


# An answer at this confidence or above claims to be right: wrong there is "confidently wrong".
CONFIDENT = 0.5
# A street-level answer (the house not found) that lies farther than this from the house is only a guess along the
# street; how sure it may say it is falls with the street's length (street_confidence_cap).
STREET_GUESS_M = 250.0
BANDS = ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))


def street_confidence_cap(length_m: float) -> float:
    """The confidence a street-level answer must stay below when it is more than STREET_GUESS_M from the house:
    none on a street up to 500 m, 0.7 up to 1 km, 0.5 beyond (a point on a 3 km street is not fairly sure)."""
    if length_m <= 500:
        return math.inf
    return 0.7 if length_m <= 1000 else CONFIDENT


def _label_names_street(case: Case, result) -> bool:
    label = _fold(result.label or "")
    return any(_fold(name) in label for name in case.street_names)


def _fold(s: str) -> str:
    return "".join(c for c in s.lower().replace("ß", "ss") if c.isalnum())


def is_right(case: Case, result) -> bool:
    if case.expect == "reverse":  # reverse geocoding: the label must give the place's street
        return _label_names_street(case, result)
    conf = result.confidence or 0.0
    if case.expect == "none":
        return result.match == "none" or conf < CONFIDENT
    if case.ambiguous:  # unsure, and every municipality's street offered among the answers
        pts = [(c.lat, c.lon) for c in (result, *(result.candidates or ())) if c.lat is not None and c.lon is not None]
        return conf < 0.9 and all(
            any(_metres_to(part, la, lo) <= case.tolerance_m for la, lo in pts) for part in _geom(case.truth_wkt).geoms
        )
    if result.lat is None or result.lon is None:
        return False
    if case.form == "outside" and result.in_service_area is not False:
        return False
    if case.street_length_m is not None and conf >= street_confidence_cap(case.street_length_m):  # noqa: SIM102
        if haversine_m(case.lat, case.lon, result.lat, result.lon) > STREET_GUESS_M:
            return False  # on the street, but far too sure of a point along a long one
    return distance_m(case, result.lat, result.lon) <= case.tolerance_m


def is_confident_wrong(case: Case, result) -> bool:
    """Wrong at confidence >= CONFIDENT. A reverse answer states no confidence: its label is taken as meant."""
    if case.expect == "reverse":
        return not is_right(case, result)
    sure = (result.confidence or 0.0) >= CONFIDENT
    if case.expect == "none":
        return sure and result.match != "none"
    return sure and not is_right(case, result)


def is_ranked(result) -> bool:
    """Candidates in non-increasing confidence, none above the top answer."""
    confs = [c.confidence or 0.0 for c in getattr(result, "candidates", None) or ()]
    top = getattr(result, "confidence", None)
    if top is not None and confs and max(confs) > top + 1e-9:
        return False
    return all(a + 1e-9 >= b for a, b in zip(confs, confs[1:], strict=False))


def band_of(confidence: float | None) -> str:
    c = confidence or 0.0
    lo, hi = next(b for b in BANDS if c < b[1] or b[1] == 1.0)
    return f"{lo:.1f}-{hi:.1f}"


# --- reading the map -------------------------------------------------------------------------------------------
