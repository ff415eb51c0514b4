"""Stations and units as the dispatch floor sees them."""

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from geoalchemy2.shape import to_shape
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import ServicesDep
from dispatch.errors import InvalidInput, NotFound
from dispatch.incidents.schemas import Latitude, Longitude
from dispatch.mapbound import check_position
from dispatch.push import messages
from dispatch.units.models import Station, StationKind, Unit, UnitKind, UnitStatus
from dispatch.units.reports import report_status
from dispatch.units.service import ABOUT_ASSIGNMENT

router = APIRouter(prefix="/api", tags=["units"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
FieldOrDispatcher = Annotated[Principal, Depends(require_role(Role.unit, Role.dispatcher))]
UnitId = Annotated[int, Path(gt=0, le=2**63 - 1, description="Unit id")]


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
    status_changed_at: datetime


@router.get("/stations", response_model=list[StationOut], summary="Stations and standby posts")
async def stations(session: SessionDep, _: Floor) -> list[StationOut]:
    rows = (await session.scalars(select(Station).order_by(Station.kind, Station.name))).all()
    out = []
    for s in rows:
        point = to_shape(s.location)
        out.append(StationOut(id=s.id, kind=s.kind, name=s.name, municipality=s.municipality, lat=point.y, lon=point.x))
    return out


@router.get("/units", response_model=list[UnitOut], summary="Every unit with its status and last position")
async def units(session: SessionDep, _: Floor) -> list[UnitOut]:
    rows = (
        await session.scalars(select(Unit).options(selectinload(Unit.home_station)).order_by(Unit.kind, Unit.id))
    ).all()
    out = []
    for u in rows:
        point = to_shape(u.position) if u.position is not None else None
        out.append(
            UnitOut(
                id=u.id,
                call_sign=u.call_sign,
                kind=u.kind,
                capabilities=u.capabilities,
                status=u.status,
                home_station=u.home_station.name if u.home_station else None,
                lat=point.y if point else None,
                lon=point.x if point else None,
                status_changed_at=u.status_changed_at,
            )
        )
    return out


class StatusIn(BaseModel):
    status: UnitStatus
    # The assignment the status is about: a unit's device names it, as on its socket (docs/protocol.md), so that
    # a status meant for a job the crew no longer has is refused rather than applied to another.
    assignment_id: Annotated[int, Field(gt=0, le=2**53)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> "StatusIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class PositionIn(BaseModel):
    lat: Latitude
    lon: Longitude


@router.get("/units/{unit_id}/route", summary="The route of a unit to the incident it is sent to (map, device)")
async def unit_route(services: ServicesDep, request: Request, unit_id: UnitId, session: SessionDep, _: Floor) -> dict:
    unit = await services.board.get(unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    if unit.incident_id is None or unit.lat is None:
        return {"unit_id": unit_id, "incident_id": None, "route": None}
    row = (
        await session.execute(
            text("SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM incidents WHERE id = :id"),
            {"id": unit.incident_id},
        )
    ).first()
    if row is None or row[0] is None:
        return {"unit_id": unit_id, "incident_id": unit.incident_id, "route": None}
    found = await asyncio.to_thread(messages.route, services.routers.router, (unit.lat, unit.lon), (row[0], row[1]))
    return {"unit_id": unit_id, "incident_id": unit.incident_id, "route": found}


@router.post("/units/{unit_id}/status", summary="Report a unit's status (its device, or a dispatcher)")
async def status(
    services: ServicesDep, unit_id: UnitId, body: StatusIn, who: FieldOrDispatcher, by: AuditActor
) -> dict:
    if who.role == Role.unit and body.assignment_id is None and body.status in ABOUT_ASSIGNMENT:
        raise InvalidInput(
            f"a status of {body.status.value} from a unit's device must name its assignment (assignment_id)"
        )
    if body.lat is not None:
        check_position(services.geocoder, body.lat, body.lon)
    return await report_status(
        services.statuses, who, unit_id, body.status, body.lat, body.lon, assignment_id=body.assignment_id, by=by
    )


@router.post("/units/{unit_id}/position", summary="Report a unit's position (its device)")
async def position(
    services: ServicesDep, request: Request, unit_id: UnitId, body: PositionIn, who: FieldOrDispatcher
) -> dict:
    check_position(services.geocoder, body.lat, body.lon)
    await services.positions.report(who, unit_id, body.lat, body.lon, now=True)
    return {"unit_id": unit_id, "lat": body.lat, "lon": body.lon}
