"""The pending queue as consoles see it: the order from Redis, or from PostgreSQL (the same truth) when Redis
is away; the incidents' details from PostgreSQL."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.queue.keeper import REDIS_DOWN
from dispatch.queue.service import IncidentQueue

_DETAILS = text("""
    SELECT id, type_code, priority, status::text, address_label, municipality, needs_location, received_at,
           ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
    FROM incidents WHERE id = ANY(:ids)""")
_PENDING = text("SELECT id FROM incidents WHERE status = 'pending' ORDER BY priority, received_at LIMIT :n")


async def pending(session: AsyncSession, *, queue: IncidentQueue, limit: int) -> dict[str, Any]:
    """{source: "redis" | "postgres", count, items}: most urgent first, then oldest."""
    order: list[tuple[int, str | None]]
    try:
        order = [(e.incident_id, e.leased_by) for e in await queue.snapshot(limit)]
        source = "redis"
    except REDIS_DOWN:
        order = [(r[0], None) for r in await session.execute(_PENDING, {"n": limit})]
        source = "postgres"
    details = {r["id"]: dict(r) for r in (await session.execute(_DETAILS, {"ids": [i for i, _ in order]})).mappings()}
    items = [{**details[i], "leased_by": owner} for i, owner in order if i in details]
    return {"source": source, "count": len(items), "items": items}
