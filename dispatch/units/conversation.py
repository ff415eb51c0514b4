"""The conversation between a unit's crew and the dispatchers, as PostgreSQL keeps it (table crew_messages):
every message both ways, so that a console opened later reads it back and sees which of the dispatchers' the
crew's device has. Kept as long as the audit trail, and purged with it (`dispatch audit purge`)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.units.models import MessageDirection

MAX_PAGE = 200  # messages one read gives at most (?limit=)
PAGE = 50
# A crew's message sent again with the same device id this soon is the same message (docs/protocol.md).
RESENT_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Stored:
    id: int  # the entry's number in the conversation (GET /api/units/{id}/messages pages by it)
    at: datetime  # the server's time


async def record_to_crew(
    session: AsyncSession, *, unit_id: int, text_: str, author_id: int | None, author: str, message_id: str
) -> Stored:
    """A dispatcher's message, in the caller's transaction (the one of its audit record)."""
    row = (
        await session.execute(
            text("""
            INSERT INTO crew_messages (unit_id, direction, text, author_id, author, message_id)
            VALUES (:unit_id, :direction, :text, :author_id, :author, :message_id)
            RETURNING id, at"""),
            {
                "unit_id": unit_id,
                "direction": MessageDirection.to_crew.value,
                "text": text_,
                "author_id": author_id,
                "author": author,
                "message_id": message_id,
            },
        )
    ).one()
    return Stored(row.id, row.at)


async def record_from_crew(
    sessions: async_sessionmaker[AsyncSession],
    *,
    unit_id: int,
    text_: str,
    device_at_ms: int | None,
    device_id: str | None = None,
) -> Stored | None:
    """A crew's message, committed before anyone is told of it: if PostgreSQL refuses it, the error reaches the
    socket, which tells the device to send it again (`retry`), and nothing was announced. None: the unit's device
    sent this `device_id` within RESENT_WITHIN already (its answer lost on the way), and it is not stored again,
    even when Redis has forgotten the answer (the socket's first guard, dispatch.push.answers)."""
    device_at = None if device_at_ms is None else datetime.fromtimestamp(device_at_ms / 1000, UTC)
    async with sessions() as session:
        if device_id is not None:
            # Two sockets of one unit (the old one not yet closed) may carry the same resend at once: one at a time
            # per unit, so that the second sees the first's row.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('crew_messages.device_id'), CAST(:unit_id AS integer))"),
                {"unit_id": unit_id},
            )
        row = (
            await session.execute(
                text("""
                INSERT INTO crew_messages (unit_id, direction, text, device_at, device_id)
                SELECT CAST(:unit_id AS bigint), CAST(:direction AS crew_message_direction), CAST(:text AS text),
                       CAST(:device_at AS timestamptz), CAST(:device_id AS varchar)
                WHERE CAST(:device_id AS varchar) IS NULL OR NOT EXISTS (
                    SELECT 1 FROM crew_messages
                    WHERE unit_id = :unit_id AND device_id = :device_id AND at > now() - CAST(:within AS interval))
                RETURNING id, at"""),
                {
                    "unit_id": unit_id,
                    "direction": MessageDirection.from_crew.value,
                    "text": text_,
                    "device_at": device_at,
                    "device_id": device_id,
                    "within": RESENT_WITHIN,
                },
            )
        ).one_or_none()
        await session.commit()
    return None if row is None else Stored(row.id, row.at)


async def mark_delivered(sessions: async_sessionmaker[AsyncSession], *, unit_id: int, message_id: str) -> Stored | None:
    """The crew's device acknowledged a dispatcher's message: when it first did. None: no such message of the
    unit's, or marked already (a repeated acknowledgement changes nothing and is not announced again)."""
    async with sessions() as session:
        row = (
            await session.execute(
                text("""
                UPDATE crew_messages SET delivered_at = now()
                WHERE unit_id = :unit_id AND message_id = :message_id AND delivered_at IS NULL
                RETURNING id, delivered_at"""),
                {"unit_id": unit_id, "message_id": message_id},
            )
        ).one_or_none()
        await session.commit()
    return None if row is None else Stored(row.id, row.delivered_at)


async def conversation(
    session: AsyncSession, *, unit_id: int, limit: int = PAGE, before: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The unit's messages newest first, those numbered below `before` if given; and the `before` of the page of
    older ones (None on the last page)."""
    older = "" if before is None else "AND id < :before"
    rows = await session.execute(
        text(f"""
        SELECT id, unit_id, direction::text AS direction, text, author AS "from", at, device_at, message_id,
               delivered_at
        FROM crew_messages WHERE unit_id = :unit_id {older}
        ORDER BY id DESC LIMIT :limit"""),
        {"unit_id": unit_id, "limit": limit + 1, **({} if before is None else {"before": before})},
    )
    page = [dict(r) for r in rows.mappings()]
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1]["id"] if more else None)
