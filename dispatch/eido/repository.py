"""SQL of the EIDO exchange: what an export reads about an incident, and the table of EIDOs received."""

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.incidents.repository import POINT


async def _rows(session: AsyncSession, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in (await session.execute(text(sql), params)).mappings()]


async def calls(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    return await _rows(
        session,
        """SELECT id, channel::text AS channel, caller_name, caller_number, callback_number, location_text,
                  narrative, received_at
           FROM calls WHERE incident_id = :id ORDER BY received_at, id""",
        id=incident_id,
    )


async def assignments(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    """Every unit sent, with the times of its assignment's stages and of its own transport stages."""
    return await _rows(
        session,
        """SELECT a.id, a.unit_id, a.slot, a.status::text AS status, a.eta_s, a.assigned_at, a.acknowledged_at,
                  a.en_route_at, a.on_scene_at, a.cleared_at, a.cancelled_at,
                  u.call_sign, u.kind::text AS kind, u.capabilities, u.status::text AS unit_status,
                  (SELECT min(e.at) FROM incident_events e WHERE e.incident_id = a.incident_id
                     AND e.kind = 'transporting' AND e.payload ->> 'unit_id' = a.unit_id::text
                     AND e.at >= a.assigned_at) AS transporting_at,
                  (SELECT min(e.at) FROM incident_events e WHERE e.incident_id = a.incident_id
                     AND e.kind = 'at_hospital' AND e.payload ->> 'unit_id' = a.unit_id::text
                     AND e.at >= a.assigned_at) AS at_hospital_at
           FROM assignments a JOIN units u ON u.id = a.unit_id
           WHERE a.incident_id = :id ORDER BY a.assigned_at, a.id""",
        id=incident_id,
    )


async def changed(session: AsyncSession, incident_id: int) -> dict[str, Any]:
    """When the incident last changed (`changed_at`): its latest log entry (every change to an incident is an
    event: status, type, priority, place, notes, units' stages), its latest assignment stage or call, its own
    stage times, at least when it was received. And when its place last changed (`located_at`)."""
    rows = await _rows(
        session,
        """SELECT GREATEST(i.received_at, i.entered_at, i.queued_at, i.dispatched_at, i.acknowledged_at,
                          i.en_route_at, i.on_scene_at, i.cleared_at, i.closed_at,
                          (SELECT max(e.at) FROM incident_events e WHERE e.incident_id = i.id),
                          (SELECT max(GREATEST(a.assigned_at, a.acknowledged_at, a.en_route_at, a.on_scene_at,
                                               a.cleared_at, a.cancelled_at))
                             FROM assignments a WHERE a.incident_id = i.id),
                          (SELECT max(c.received_at) FROM calls c WHERE c.incident_id = i.id)) AS changed_at,
                  GREATEST(i.received_at, (SELECT max(e.at) FROM incident_events e
                                           WHERE e.incident_id = i.id AND e.kind = 'located')) AS located_at
           FROM incidents i WHERE i.id = :id""",
        id=incident_id,
    )
    return rows[0]


async def notes(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    """The log's notes and the closing note, oldest first."""
    return await _rows(
        session,
        """SELECT id, at, kind, actor, payload FROM incident_events
           WHERE incident_id = :id AND (kind = 'note' OR (kind = 'closed' AND payload ? 'note'))
           ORDER BY id""",
        id=incident_id,
    )


async def cautions(session: AsyncSession, *, lat: float | None, lon: float | None, at: Any) -> list[dict[str, Any]]:
    """The premise flags at the place, active at the time asked (as intake shows them to the call-taker)."""
    if lat is None or lon is None:
        return []
    return await _rows(
        session,
        f"""SELECT id, category, description, address_label, created_at FROM premise_flags p
            WHERE p.active AND (p.expires_at IS NULL OR p.expires_at > CAST(:at AS timestamptz))
              AND ST_DWithin(p.location, {POINT}, p.radius_m + 10)
            ORDER BY p.created_at, p.id""",
        lat=lat,
        lon=lon,
        at=at,
    )


async def received_as(session: AsyncSession, incident_id: int) -> dict[str, Any] | None:
    """The EIDO this incident came in as, if it did."""
    rows = await _rows(
        session,
        "SELECT eido_id, agency, issuing_element, received_at FROM eido_imports WHERE incident_id = :id",
        id=incident_id,
    )
    return rows[0] if rows else None


async def claim(
    session: AsyncSession, *, eido_id: str, agency: str, issuing_element: str, document: dict[str, Any]
) -> bool:
    """Takes the EIDO's `$id` for this transaction: True if it was free. A concurrent claim of the same `$id`
    waits here until the first commits (then False) or rolls back (then True)."""
    row = (
        await session.execute(
            text("""INSERT INTO eido_imports (eido_id, agency, issuing_element, document)
                    VALUES (:eido_id, :agency, :element, CAST(:document AS jsonb))
                    ON CONFLICT (eido_id) DO NOTHING RETURNING id"""),
            {
                "eido_id": eido_id,
                "agency": agency,
                "element": issuing_element,
                "document": orjson.dumps(document).decode(),
            },
        )
    ).first()
    return row is not None


async def imported(session: AsyncSession, eido_id: str) -> dict[str, Any] | None:
    rows = await _rows(
        session,
        "SELECT incident_id, agency, received_at FROM eido_imports WHERE eido_id = :eido_id",
        eido_id=eido_id,
    )
    return rows[0] if rows else None


async def made(session: AsyncSession, eido_id: str, incident_id: int) -> None:
    await session.execute(
        text("UPDATE eido_imports SET incident_id = :incident WHERE eido_id = :eido_id"),
        {"incident": incident_id, "eido_id": eido_id},
    )
