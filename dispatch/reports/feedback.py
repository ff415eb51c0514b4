"""Citizens' feedback: when an incident closes, its caller is owed a single-use link (by SMS to the callback
number, through the caller outbox); the link records a satisfaction score of 1 to 5 and a comment, once."""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.auth.tokens import hash_token
from dispatch.config import Settings
from dispatch.errors import DispatchError, NotFound

FEEDBACK_PREFIX = "fb_"


class LinkGone(DispatchError):
    status, code, title = 410, "feedback_link_gone", "Feedback link no longer valid"


def feedback_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/public/feedback/{token}"


async def offer(session: AsyncSession, incident_id: int, *, settings: Settings, by: Actor) -> dict | None:
    """A link for the caller of a closed incident, put in the outbox for their callback number: the message
    (id, to, body). None when the incident has no number to send it to, was offered one already, or is an
    exercise (its caller is a drill's or the simulation's: no one to ask, and a made-up number may be someone's)."""
    number = await session.scalar(
        text("""
        SELECT callback_number FROM calls WHERE incident_id = :id AND callback_number IS NOT NULL
          AND NOT (SELECT exercise FROM incidents WHERE id = :id)
        ORDER BY received_at, id LIMIT 1"""),
        {"id": incident_id},
    )
    if number is None:
        return None
    token = FEEDBACK_PREFIX + secrets.token_urlsafe(24)
    expires = datetime.now(UTC) + timedelta(days=settings.feedback_valid_days)
    created = await session.scalar(
        text("""
        INSERT INTO feedback_requests (incident_id, token_hash, expires_at) VALUES (:id, :hash, :expires)
        ON CONFLICT (incident_id) DO NOTHING RETURNING id"""),
        {"id": incident_id, "hash": hash_token(token, settings.secret_key), "expires": expires},
    )
    if created is None:
        return None
    url = feedback_url(settings, token)
    body = (
        f"Emergency service: how did we do on your call? Tell us in one minute (1-5 and a comment), "
        f"until {expires:%Y-%m-%d}: {url}"
    )
    message_id = await session.scalar(
        text("""
        INSERT INTO caller_messages (incident_id, kind, to_number, body) VALUES (:id, 'feedback', :to, :body)
        RETURNING id"""),
        {"id": incident_id, "to": number, "body": body},
    )
    # The link itself stays out of the trail (whoever reads it can answer in the caller's place).
    after = {"incident_id": incident_id, "kind": "feedback", "to_number": number, "expires_at": expires}
    await audit.record(
        session, actor=by, action="caller_message.add", object_type="caller_message", object_id=message_id, after=after
    )
    return {"id": message_id, "to": number, "body": body}


def as_offered(message: dict | None) -> dict | None:
    """What staff see of a message to a caller: that a link was offered, and to which number, never the link
    (it is the caller's, single-use: whoever reads it can answer in the caller's place)."""
    if message is None:
        return None
    return {"kind": "feedback", "to": message["to"], "text": "feedback link offered to the caller"}


async def _request(session: AsyncSession, token: str, secret_key: str, *, lock: bool = False) -> dict:
    row = (
        (
            await session.execute(
                text(f"""
        SELECT f.id, f.expires_at, f.answered_at, i.type_code, i.closed_at
        FROM feedback_requests f JOIN incidents i ON i.id = f.incident_id
        WHERE f.token_hash = :hash {"FOR UPDATE OF f" if lock else ""}"""),
                {"hash": hash_token(token, secret_key)},
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("no such feedback link: check that the whole link was copied")
    if row["answered_at"] is not None:
        raise LinkGone("this feedback link has been used already; thank you for your answer")
    if row["expires_at"] <= datetime.now(UTC):
        raise LinkGone(f"this feedback link expired on {row['expires_at']:%Y-%m-%d}")
    return dict(row)


async def check(session: AsyncSession, token: str, *, secret_key: str) -> dict:
    """The link's state, for the form: raises 404 for an unknown link, 410 for a used or expired one."""
    row = await _request(session, token, secret_key)
    return {"expires_at": row["expires_at"].isoformat()}


async def answer(
    session: AsyncSession,
    token: str,
    *,
    satisfaction: int,
    comment: str | None,
    complaint: bool,
    secret_key: str,
    by: Actor,
) -> None:
    """Records the answer and spends the link (the row lock makes a second, concurrent use wait and then fail)."""
    row = await _request(session, token, secret_key, lock=True)
    answered_at = await session.scalar(
        text("""
        UPDATE feedback_requests SET answered_at = now(), satisfaction = :s, comment = :c, complaint = :complaint
        WHERE id = :id RETURNING answered_at"""),
        {"id": row["id"], "s": satisfaction, "c": comment, "complaint": complaint},
    )
    after = {"answered_at": answered_at, "satisfaction": satisfaction, "complaint": complaint, "comment": comment}
    await audit.record(
        session,
        actor=by,
        action="feedback.answer",
        object_type="feedback_request",
        object_id=row["id"],
        before={"answered_at": None},
        after=after,
    )


async def answers(
    session: AsyncSession, *, start: datetime, end: datetime, complaints_only: bool = False, limit: int = 500
) -> list[dict]:
    """What callers answered about the period's incidents, newest first: for commanders, who follow up on
    complaints (the caller's number is on the incident's call, not here)."""
    rows = await session.execute(
        text(f"""
        SELECT f.incident_id, i.type_code, i.priority, i.municipality, i.received_at, f.answered_at,
               f.satisfaction, f.complaint, f.comment
        FROM feedback_requests f JOIN incidents i ON i.id = f.incident_id
        WHERE i.received_at >= :start AND i.received_at < :end AND f.answered_at IS NOT NULL AND NOT i.exercise
              {"AND f.complaint" if complaints_only else ""}
        ORDER BY f.answered_at DESC, f.id DESC LIMIT :limit"""),
        {"start": start, "end": end, "limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


async def unsent_messages(session: AsyncSession, *, limit: int = 100) -> list[dict]:
    """The outbox, links and all: for the SMS gateway's account only."""
    rows = await session.execute(
        text("""
        SELECT id, incident_id, kind, to_number, body, created_at FROM caller_messages
        WHERE sent_at IS NULL ORDER BY created_at, id LIMIT :limit"""),
        {"limit": limit},
    )
    return [dict(r) for r in rows.mappings()]


async def mark_sent(session: AsyncSession, message_id: int, *, by: Actor) -> None:
    # The row as it was (a second mark changes nothing, and says so in the trail): one statement.
    done = (
        await session.execute(
            text("""
        UPDATE caller_messages m SET sent_at = coalesce(m.sent_at, now()) FROM caller_messages old
        WHERE m.id = :id AND old.id = m.id RETURNING m.id, old.sent_at, m.sent_at"""),
            {"id": message_id},
        )
    ).first()
    if done is None:
        raise NotFound(f"no caller message {message_id}")
    await audit.record(
        session,
        actor=by,
        action="caller_message.sent",
        object_type="caller_message",
        object_id=message_id,
        before={"sent_at": done[1]},
        after={"sent_at": done[2]},
    )
