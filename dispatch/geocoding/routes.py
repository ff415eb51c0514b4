"""Forward and reverse geocoding for call-takers and dispatchers."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dispatch.auth.deps import require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import GeocodersDep
from dispatch.geocoding.schemas import GeocodeOut, ReverseOut

router = APIRouter(prefix="/api", tags=["geocoding"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher))]


@router.get(
    "/geocode",
    response_model=GeocodeOut,
    summary="Ranked candidates for what a caller said (address, street, intersection, place, coordinates)",
)
async def geocode(
    geocoders: GeocodersDep,
    request: Request,
    _: Floor,
    q: Annotated[str, Query(min_length=1, max_length=300, description="What the caller said")],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict:
    return geocoders.geocoder.geocode(q, limit).to_dict()


@router.get("/reverse", response_model=ReverseOut, summary="The nearest address, else street and municipality")
async def reverse(
    geocoders: GeocodersDep,
    request: Request,
    _: Floor,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
) -> dict:
    return geocoders.geocoder.reverse(lat, lon).to_dict()
