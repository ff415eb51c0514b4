"""Plain builders for test data."""

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth import service
from dispatch.auth.models import Role, User
from dispatch.config import Settings

_serial = itertools.count(1)


async def make_user_with_token(
    session: AsyncSession,
    settings: Settings,
    *,
    role: Role,
    unit_call_sign: str | None = None,
    username: str | None = None,
    **token_kwargs,
) -> tuple[User, str]:
    user = await service.create_user(
        session, username=username or f"{role.value}-{next(_serial)}", role=role, unit_call_sign=unit_call_sign
    )
    token = await service.issue_token(session, user=user, secret_key=settings.secret_key, **token_kwargs)
    return user, token


async def make_unit(
    session: AsyncSession,
    *,
    call_sign: str | None = None,
    kind: str = "engine",
    capabilities: tuple[str, ...] | None = None,
) -> int:
    from sqlalchemy import text

    return await session.scalar(
        text("""
        INSERT INTO units (call_sign, kind, capabilities, status)
        VALUES (:c, CAST(:k AS unit_kind), :caps, 'available') RETURNING id"""),
        {"c": call_sign or f"Test {kind} {next(_serial)}", "k": kind, "caps": list(capabilities or (kind,))},
    )


async def make_incident(
    session: AsyncSession,
    *,
    received_at,
    priority: int = 1,
    type_code: str = "CARDIAC",
    municipality: str | None = "Vaduz",
    status: str = "closed",
    callback_number: str | None = None,
    **times,
) -> int:
    """An incident with the interval times given (dispatched_at=..., on_scene_at=..., ...), and its call."""
    from sqlalchemy import text

    columns = ", ".join(times)
    values = ", ".join(f":{name}" for name in times)
    incident_id = await session.scalar(
        text(f"""
        INSERT INTO incidents (type_code, priority, status, municipality, geocode_match, geocode_confidence,
                               received_at{", " + columns if times else ""})
        VALUES (:type_code, :priority, CAST(:status AS incident_status), :municipality, 'address', 1.0,
                :received_at{", " + values if times else ""})
        RETURNING id"""),
        {
            "type_code": type_code,
            "priority": priority,
            "status": status,
            "municipality": municipality,
            "received_at": received_at,
            **times,
        },
    )
    await session.execute(
        text("""
        INSERT INTO calls (incident_id, channel, caller_number, callback_number, received_at)
        VALUES (:id, 'phone', :n, :n, :at)"""),
        {"id": incident_id, "n": callback_number, "at": received_at},
    )
    return incident_id


async def make_assignment(
    session: AsyncSession, *, incident_id: int, unit_id: int, slot: str, assigned_at, status: str = "cleared", **times
) -> int:
    from sqlalchemy import text

    extra = "".join(f", {name}" for name in times)
    values = "".join(f", :{name}" for name in times)
    return await session.scalar(
        text(f"""
        INSERT INTO assignments (incident_id, unit_id, slot, status, assigned_at{extra})
        VALUES (:incident_id, :unit_id, :slot, CAST(:status AS assignment_status), :assigned_at{values})
        RETURNING id"""),
        {
            "incident_id": incident_id,
            "unit_id": unit_id,
            "slot": slot,
            "status": status,
            "assigned_at": assigned_at,
            **times,
        },
    )


async def free_everything(engine) -> None:
    """Committed: every open incident cancelled, every assignment ended, every unit available, no crew messages
    (for tests that run the live matcher on the shared test database)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE assignments SET status = 'cancelled', cancelled_at = now() "
                "WHERE status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')"
            )
        )
        await conn.execute(text("UPDATE units SET status = 'available'"))
        await conn.execute(text("DELETE FROM crew_messages"))  # each test's conversations start empty
        await conn.execute(
            text(
                "UPDATE incidents SET status = 'cancelled', closed_at = now(), units_missing = 0 "
                "WHERE status NOT IN ('closed', 'cancelled')"
            )
        )
