"""What the geocoder answers."""

from dataclasses import asdict, dataclass, field

MATCHES = ("address", "interpolated", "street", "intersection", "poi", "coordinates", "none")


@dataclass
class Candidate:
    match: str
    lat: float
    lon: float
    label: str
    confidence: float
    municipality: str | None = None
    # Internal evidence, used for ranking; not part of the answer.
    x: float = field(default=0.0, repr=False)
    y: float = field(default=0.0, repr=False)
    rank: float = field(default=0.0, repr=False)
    ref: object = field(default=None, repr=False)  # which entity it came from (street key, place id, ...)

    def to_dict(self) -> dict:
        return {
            "match": self.match,
            "lat": round(self.lat, 7),
            "lon": round(self.lon, 7),
            "label": self.label,
            "confidence": round(self.confidence, 3),
            "municipality": self.municipality,
        }


@dataclass
class GeocodeResult:
    q: str
    match: str = "none"
    lat: float | None = None
    lon: float | None = None
    label: str | None = None
    confidence: float = 0.0
    municipality: str | None = None
    in_service_area: bool | None = None
    candidates: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["candidates"] = [c.to_dict() for c in self.candidates]
        out["confidence"] = round(self.confidence, 3)
        for key in ("lat", "lon"):
            if out[key] is not None:
                out[key] = round(out[key], 7)
        return out


@dataclass
class ReverseResult:
    lat: float
    lon: float
    match: str  # address | street | municipality | none
    label: str | None
    distance_m: float | None
    municipality: str | None
    in_service_area: bool

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["distance_m"] is not None:
            out["distance_m"] = round(out["distance_m"], 1)
        return out
