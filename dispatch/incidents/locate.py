"""Where a call is: the caller's words and the device's coordinates, weighed.

Words the geocoder is sure of win; else the device's coordinates (a phone's own fix); else the geocoder's best
guess, flagged `needs_location` so the call-taker confirms it. A call is never refused for its location, except
for coordinates far outside the service area (`dispatch.mapbound.check_position`): a fault, not a place.
"""

from dataclasses import dataclass, field
from typing import Any

from dispatch.mapbound import check_position
from geo.geocoder import Geocoder
from geo.geocoder.search import is_label

SURE = 0.9


@dataclass
class Located:
    lat: float | None
    lon: float | None
    label: str | None
    municipality: str | None
    match: str
    confidence: float
    needs_location: bool
    in_service_area: bool | None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        """Where the call is placed, as the call-taker's screen shows it."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "label": self.label,
            "municipality": self.municipality,
            "match": self.match,
            "confidence": round(self.confidence, 3),
            "needs_location": self.needs_location,
        }

    def event_payload(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "address_label": self.label,
            "municipality": self.municipality,
            "geocode_match": self.match,
            "geocode_confidence": round(self.confidence, 3),
            "needs_location": self.needs_location,
        }


def locate(geocoder: Geocoder, *, text: str | None, lat: float | None, lon: float | None) -> Located:
    if lat is not None and lon is not None:
        check_position(geocoder, lat, lon)
    found = geocoder.geocode(text, limit=5) if text else None
    candidates = [c.to_dict() for c in found.candidates] if found else []
    # A candidate's own label sent back (picked from GET /api/geocode's suggestions) is the call-taker's
    # confirmation: that place, with its own confidence, needs no further one even when it is an interpolated
    # house number.
    picked = bool(found and text and is_label(text, found.label))
    if found and (found.confidence >= SURE or picked) and found.in_service_area:
        return Located(
            found.lat,
            found.lon,
            found.label,
            found.municipality,
            found.match,
            found.confidence,
            False,
            True,
            candidates,
        )
    if lat is not None and lon is not None:
        where = geocoder.reverse(lat, lon)
        label = where.label or f"{lat:.5f}, {lon:.5f}"
        return Located(
            lat,
            lon,
            label,
            where.municipality,
            "coordinates",
            0.99,
            not where.in_service_area,
            where.in_service_area,
            candidates,
        )
    if found and found.match != "none":
        return Located(
            found.lat,
            found.lon,
            found.label,
            found.municipality,
            found.match,
            found.confidence,
            True,
            found.in_service_area,
            candidates,
        )
    return Located(None, None, None, None, "none", 0.0, True, None, candidates)
