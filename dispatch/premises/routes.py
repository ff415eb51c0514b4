"""Premise flags: what responders must know about a place ("oxygen in use", "dog on premises"), kept by
dispatchers and shown with every call within the flag's radius."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import GeocodersDep
from dispatch.premises import service
from dispatch.premises.schemas import FlagAddedOut, FlagIn, FlagOut, FlagRetiredOut

router = APIRouter(prefix="/api/premise-flags", tags=["premises"])
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]


@router.post("", status_code=201, response_model=FlagAddedOut, summary="Add a flag at a place (dispatcher)")
async def add_flag(
    geocoders: GeocodersDep, body: FlagIn, session: SessionDep, who: Dispatcher, by: AuditActor
) -> dict[str, Any]:
    return await service.add_flag(session, flag=body, user_id=who.user_id, by=by, geocoder=geocoders)


@router.get("", response_model=list[FlagOut], summary="Active flags near a point")
async def flags_near(
    session: SessionDep,
    _: Floor,
    by: AuditActor,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    radius_m: Annotated[float, Query(gt=0, le=5000)] = 100,
) -> list[dict[str, Any]]:
    return await service.flags_near(session, lat=lat, lon=lon, radius_m=radius_m, by=by)


@router.delete("/{flag_id}", response_model=FlagRetiredOut, summary="Retire a flag (dispatcher); it stays on record")
async def retire_flag(
    flag_id: Annotated[int, Path(gt=0, le=2**63 - 1)], session: SessionDep, _: Dispatcher, by: AuditActor
) -> FlagRetiredOut:
    await service.retire_flag(session, flag_id=flag_id, by=by)
    return FlagRetiredOut(id=flag_id, active=False)
