"""The pending queue as consoles see it: the order from Redis, or from PostgreSQL (the same truth) when Redis
is away; the incidents' details from PostgreSQL; and what each one waits for."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.config import Settings
from dispatch.incidents import repository as repo
from dispatch.queue.keeper import REDIS_DOWN
from dispatch.queue.service import IncidentQueue, QueueEntry

_DETAILS = text("""
    SELECT id, type_code, priority, status::text, address_label, municipality, needs_location, exercise,
           received_at, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon
    FROM incidents WHERE id = ANY(:ids)""")


def waiting_for(settings: Settings, item: dict[str, Any], entry: QueueEntry | None) -> str:
    """ "dispatcher": the matcher only recommends for it (its priority is not dispatched automatically, or it has
    no location to send units to: Matcher.auto_for), and holds it leased meanwhile, refreshing the ranking; a
    dispatcher assigns. "units": the matcher found no free unit for it and waits for one to come free.
    "matcher": it waits for, or is being worked by, the matcher."""
    if item["priority"] not in settings.auto_dispatch_priorities or item["lat"] is None:
        return "dispatcher"
    return "units" if entry is not None and entry.parked else "matcher"


async def pending(session: AsyncSession, *, queue: IncidentQueue, limit: int, settings: Settings) -> dict[str, Any]:
    """{source: "redis" | "postgres", count, items}: most urgent first, then oldest."""
    order: list[tuple[int, QueueEntry | None]]
    try:
        order = [(e.incident_id, e) for e in await queue.snapshot(limit)]
        source = "redis"
    except REDIS_DOWN:
        # What the queue must hold, as the keeper rebuilds it (waiting, or short of units it still needs).
        order = [(incident_id, None) for incident_id, _, _ in (await repo.pending_for_queue(session))[:limit]]
        source = "postgres"
    details = {r["id"]: dict(r) for r in (await session.execute(_DETAILS, {"ids": [i for i, _ in order]})).mappings()}
    items = [
        {
            **details[i],
            "leased_by": entry.leased_by if entry else None,
            "waiting_for": waiting_for(settings, details[i], entry),
        }
        for i, entry in order
        if i in details
    ]
    return {"source": source, "count": len(items), "items": items}
