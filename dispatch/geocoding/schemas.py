"""What the geocoding API answers."""

from pydantic import BaseModel

Match = str


class CandidateOut(BaseModel):
    match: Match
    lat: float
    lon: float
    label: str
    confidence: float
    municipality: str | None


class GeocodeOut(BaseModel):
    q: str
    match: Match
    lat: float | None
    lon: float | None
    label: str | None
    confidence: float
    municipality: str | None
    in_service_area: bool | None
    candidates: list[CandidateOut]


class ReverseOut(BaseModel):
    lat: float
    lon: float
    match: str
    label: str | None
    distance_m: float | None
    municipality: str | None
    in_service_area: bool
