"""What a crew knows of the others sent with it, and of what dispatchers write in the incident's log.

A crew on a multi-unit incident plans by who else is coming: the engine behind it, the ambulance still eight
minutes out. Each unit on the incident is told the whole team (`update` with `team`) whenever one of them is
assigned, changes status or leaves; and each note a dispatcher adds (`update` with `note`) as it is added.
Both go through the unit's outbox like every other message (numbered, acknowledged, resent): a team sent again
late must not undo a newer one, so a device applies a team only with a higher `seq` than the last it applied.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.db import driver_connection, positional
from dispatch.statuses import ACTIVE_ASSIGNMENT, sql_in

Message = dict[str, Any]

# Units with an active assignment on the incident: their status on it and when they are due there (the
# matcher's drive time from when they were sent; null when it had none). Run on the session's driver connection.
_TEAM, _ = positional(f"""
SELECT a.unit_id, u.call_sign, a.status::text,
       (extract(epoch FROM a.assigned_at) * 1000 + a.eta_s * 1000)::bigint
FROM assignments a JOIN units u ON u.id = a.unit_id
WHERE a.incident_id = :incident AND a.status IN {sql_in(ACTIVE_ASSIGNMENT)}
ORDER BY a.id""")

# A note's writer as the crew reads them: the account's name, not its role prefix.
NOTES_JSON = """(SELECT coalesce(jsonb_agg(jsonb_build_object(
                     'text', e.payload->>'text', 'from', split_part(e.actor, ':', 2),
                     'at', (extract(epoch FROM e.at) * 1000)::bigint) ORDER BY e.id), '[]')
                 FROM incident_events e WHERE e.incident_id = {incident} AND e.kind = 'note')"""


async def team(session: AsyncSession, incident_id: int) -> list[Message]:
    """The units on the incident now: `unit_id`, `call_sign`, `status` (of their assignment), `due_ms` (epoch ms
    they were expected on scene, or None)."""
    conn = await driver_connection(session)  # one round trip: no BEGIN and ROLLBACK around a read
    rows = await conn.fetch(_TEAM, incident_id)
    return [{"unit_id": u, "call_sign": c, "status": s, "due_ms": d} for u, c, s, d in rows]


async def notes(session: AsyncSession, incident_id: int) -> list[Message]:
    """The dispatchers' notes on the incident, oldest first: `text`, `from`, `at` (epoch ms)."""
    found = await session.scalar(text("SELECT " + NOTES_JSON.format(incident=":incident")), {"incident": incident_id})
    return list(found or [])


def team_update(incident_id: int, members: list[Message]) -> Message:
    return {"type": "update", "incident_id": incident_id, "team": members}


def note_update(incident_id: int, note: Message) -> Message:
    return {"type": "update", "incident_id": incident_id, "note": note}
