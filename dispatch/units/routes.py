"""Stations and units as the dispatch floor sees them."""

from typing import Annotated

from fastapi import APIRouter, Depends
from geoalchemy2.shape import to_shape
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.units.models import Station, StationKind, Unit, UnitKind, UnitStatus

router = APIRouter(prefix="/api", tags=["units"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]


class StationOut(BaseModel):
    id: int
    kind: StationKind
    name: str
    municipality: str | None
    lat: float
    lon: float


class UnitOut(BaseModel):
    id: int
    call_sign: str
    kind: UnitKind
    capabilities: list[str]
    status: UnitStatus
    home_station: str | None
    lat: float | None
    lon: float | None


@router.get("/stations", response_model=list[StationOut], summary="Stations and standby posts")
async def stations(session: SessionDep, _: Floor) -> list[StationOut]:
    rows = (await session.scalars(select(Station).order_by(Station.kind, Station.name))).all()
    out = []
    for s in rows:
        point = to_shape(s.location)
        out.append(StationOut(id=s.id, kind=s.kind, name=s.name, municipality=s.municipality,
                              lat=point.y, lon=point.x))
    return out


@router.get("/units", response_model=list[UnitOut], summary="Every unit with its status and last position")
async def units(session: SessionDep, _: Floor) -> list[UnitOut]:
    rows = (await session.scalars(
        select(Unit).options(selectinload(Unit.home_station)).order_by(Unit.kind, Unit.id))).all()
    out = []
    for u in rows:
        point = to_shape(u.position) if u.position is not None else None
        out.append(UnitOut(id=u.id, call_sign=u.call_sign, kind=u.kind, capabilities=u.capabilities,
                           status=u.status, home_station=u.home_station.name if u.home_station else None,
                           lat=point.y if point else None, lon=point.x if point else None))
    return out
