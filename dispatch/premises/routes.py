"""Premise flags: what responders must know about a place ("oxygen in use", "dog on premises"), kept by
dispatchers and shown with every call within the flag's radius."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.types import Strict
from sqlalchemy import text

from dispatch.audit import service as audit
from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import ServicesDep
from dispatch.errors import InvalidInput, NotFound
from dispatch.incidents.schemas import Clean, Latitude, Longitude
from dispatch.mapbound import check_position

router = APIRouter(prefix="/api/premise-flags", tags=["premises"])
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Literal["hazard", "special_needs", "access", "info"]
    description: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    location_text: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: Annotated[float, Strict()] = Field(default=25.0, gt=0, le=500)
    expires_at: AwareDatetime | None = Field(default=None, description="With a time zone, in the future")

    @model_validator(mode="after")
    def _where(self) -> "FlagIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not self.location_text:
            raise ValueError("say where: location_text, or lat and lon")
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            raise ValueError(f"expires_at {self.expires_at.isoformat()} is in the past: a flag that never shows")
        return self


@router.post("", status_code=201, summary="Add a flag at a place (dispatcher)")
async def add_flag(
    services: ServicesDep, request: Request, body: FlagIn, session: SessionDep, who: Dispatcher, by: AuditActor
) -> dict:
    lat, lon, label = body.lat, body.lon, body.location_text
    if lat is not None:
        check_position(services.geocoder, lat, lon)
    else:
        found = services.geocoder.geocoder.geocode(body.location_text, limit=3)
        if found.confidence < 0.9:
            raise InvalidInput(
                f"'{body.location_text}' is not certain enough to flag; give lat and lon",
                extra={"candidates": [c.to_dict() for c in found.candidates]},
            )
        lat, lon, label = found.lat, found.lon, found.label
    row = (
        await session.execute(
            text(f"""
        INSERT INTO premise_flags (location, radius_m, address_label, category, description, created_by, expires_at)
        VALUES ({POINT}, :radius, :label, :category, :description, :user, :expires) RETURNING id"""),
            {
                "lat": lat,
                "lon": lon,
                "radius": body.radius_m,
                "label": label,
                "category": body.category,
                "description": body.description,
                "user": who.user_id,
                "expires": body.expires_at,
            },
        )
    ).one()
    after = {"category": body.category, "description": body.description, "address_label": label}
    after |= {"lat": lat, "lon": lon, "radius_m": body.radius_m, "expires_at": body.expires_at}
    await audit.record(
        session, actor=by, action="premise_flag.add", object_type="premise_flag", object_id=row[0], after=after
    )
    return {"id": row[0], "lat": lat, "lon": lon, "address_label": label}


@router.get("", summary="Active flags near a point")
async def flags_near(
    session: SessionDep,
    _: Floor,
    by: AuditActor,
    lat: Annotated[float, Query(ge=-90, le=90)],
    lon: Annotated[float, Query(ge=-180, le=180)],
    radius_m: Annotated[float, Query(gt=0, le=5000)] = 100,
) -> list[dict]:
    rows = await session.execute(
        text(f"""
        SELECT id, category, description, address_label, radius_m, created_at, expires_at,
               round(ST_Distance(location, {POINT})::numeric, 1) AS distance_m
        FROM premise_flags WHERE active AND (expires_at IS NULL OR expires_at > now())
          AND ST_DWithin(location, {POINT}, :r) ORDER BY distance_m"""),
        {"lat": lat, "lon": lon, "r": radius_m},
    )
    flags = [dict(r) for r in rows.mappings()]
    # Flags name people's needs ("oxygen in use"): who looked at a place's is recorded, once per request.
    await audit.record_read(
        session,
        actor=by,
        action="premise_flags.read",
        object_type="premise",
        object_id=f"{lat:.5f},{lon:.5f}",
        detail={"radius_m": radius_m, "rows": len(flags)},
    )
    return flags


@router.delete("/{flag_id}", summary="Retire a flag (dispatcher); it stays on record")
async def retire_flag(
    flag_id: Annotated[int, Path(gt=0, le=2**63 - 1)], session: SessionDep, _: Dispatcher, by: AuditActor
) -> dict:
    result = await session.execute(
        text("UPDATE premise_flags SET active = false WHERE id = :id AND active"), {"id": flag_id}
    )
    if result.rowcount == 0:
        raise NotFound(f"no active flag {flag_id}")
    await audit.record(
        session,
        actor=by,
        action="premise_flag.retire",
        object_type="premise_flag",
        object_id=flag_id,
        before={"active": True},
        after={"active": False},
    )
    return {"id": flag_id, "active": False}
