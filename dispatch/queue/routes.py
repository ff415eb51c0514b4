"""The pending queue as consoles see it."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import text

from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import ServicesDep
from dispatch.queue.keeper import REDIS_DOWN

router = APIRouter(prefix="/api", tags=["queue"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]

_DETAILS = text("""
    SELECT id, type_code, priority, status::text, address_label, municipality, needs_location, received_at,
           ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
    FROM incidents WHERE id = ANY(:ids)""")


@router.get("/queue", summary="Incidents waiting for units, most urgent first (then oldest)")
async def queue(
    services: ServicesDep,
    request: Request,
    session: SessionDep,
    _: Floor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict:
    """Read from Redis; if Redis is away, from PostgreSQL, which holds the same truth (`source` says which)."""
    try:
        entries = await services.queue.snapshot(limit)
        order = [(e.incident_id, e.leased_by) for e in entries]
        source = "redis"
    except REDIS_DOWN:
        rows = await session.execute(
            text("""SELECT id FROM incidents WHERE status = 'pending'
                                             ORDER BY priority, received_at LIMIT :n"""),
            {"n": limit},
        )
        order = [(r[0], None) for r in rows]
        source = "postgres"
    details = {r["id"]: dict(r) for r in (await session.execute(_DETAILS, {"ids": [i for i, _ in order]})).mappings()}
    items = [{**details[i], "leased_by": owner} for i, owner in order if i in details]
    return {"source": source, "count": len(items), "items": items}
