"""Premise flags: kept by dispatchers, found by distance, retired (never deleted); each change and each read
recorded in the audit trail (they name people's needs)."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.errors import InvalidInput, NotFound
from dispatch.geocoding.service import GeocoderHolder
from dispatch.mapbound import check_position
from dispatch.premises.schemas import FlagIn

POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"


async def add_flag(
    session: AsyncSession, *, flag: FlagIn, user_id: int | None, by: Actor, geocoder: GeocoderHolder
) -> dict[str, Any]:
    """At the given point (inside the service area), else where the location text surely is."""
    if flag.lat is not None and flag.lon is not None:  # given together (FlagIn checks)
        lat, lon, label = flag.lat, flag.lon, flag.location_text
        check_position(geocoder, lat, lon)
    else:
        found = geocoder.geocoder.geocode(flag.location_text or "", limit=3)
        if found.confidence < 0.9 or found.lat is None or found.lon is None:
            raise InvalidInput(
                f"'{flag.location_text}' is not certain enough to flag; give lat and lon",
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
                "radius": flag.radius_m,
                "label": label,
                "category": flag.category,
                "description": flag.description,
                "user": user_id,
                "expires": flag.expires_at,
            },
        )
    ).one()
    after: dict[str, Any] = {"category": flag.category, "description": flag.description, "address_label": label}
    after |= {"lat": lat, "lon": lon, "radius_m": flag.radius_m, "expires_at": flag.expires_at}
    await audit.record(
        session, actor=by, action="premise_flag.add", object_type="premise_flag", object_id=row[0], after=after
    )
    return {"id": row[0], "lat": lat, "lon": lon, "address_label": label}


async def flags_near(
    session: AsyncSession, *, lat: float, lon: float, radius_m: float, by: Actor
) -> list[dict[str, Any]]:
    """Active flags within `radius_m`, nearest first."""
    rows = await session.execute(
        text(f"""
        SELECT id, category, description, address_label, radius_m, created_at, expires_at,
               round(ST_Distance(location, {POINT})::numeric, 1) AS distance_m
        FROM premise_flags WHERE active AND (expires_at IS NULL OR expires_at > now())
          AND ST_DWithin(location, {POINT}, :r) ORDER BY distance_m"""),
        {"lat": lat, "lon": lon, "r": radius_m},
    )
    flags = [dict(r) for r in rows.mappings()]
    # Who looked at a place's flags is recorded, once per request.
    await audit.record_read(
        session,
        actor=by,
        action="premise_flags.read",
        object_type="premise",
        object_id=f"{lat:.5f},{lon:.5f}",
        detail={"radius_m": radius_m, "rows": len(flags)},
    )
    return flags


async def retire_flag(session: AsyncSession, *, flag_id: int, by: Actor) -> None:
    retired = await session.execute(
        text("UPDATE premise_flags SET active = false WHERE id = :id AND active RETURNING id"), {"id": flag_id}
    )
    if retired.first() is None:
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
