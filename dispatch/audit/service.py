"""Recording: who wrote or read what, when and from where. One INSERT in the transaction of the change it
records, so a change and its record are stored together or not at all.

Writers call `record(session, actor=..., action="incident.close", object_type="incident", object_id=42,
before={...}, after={...})`; routes that show personal data call `record_read(...)` once per request. The
actor comes from the request (`dispatch.audit.deps.AuditActor`) or, for the service's own writers, from
`Actor.system("matcher")`.
"""

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from dispatch.auth.service import Principal

# Values of these fields are personal data: the trail says that they changed, not what they became (it is kept
# for years, the data itself for less; who read or changed a caller's data is what the trail must answer).
PERSONAL = frozenset({"caller_name", "caller_number", "callback_number", "to_number", "comment", "phone", "name"})
REDACTED = "(personal data, not kept here)"

COLUMNS = "actor_id, actor, role, address, action, object_type, object_id, before, after, detail"
_INSERT = text(f"""
INSERT INTO audit_records ({COLUMNS})
VALUES (:actor_id, :actor, :role, :address, :action, :object_type, :object_id,
        CAST(:before AS jsonb), CAST(:after AS jsonb), CAST(:detail AS jsonb))""")


@dataclass(frozen=True)
class Actor:
    """Who did it: an account (id, username, role) and the client address it came from, or one of the
    service's own writers (role "system"), or the command line (role "cli")."""

    user_id: int | None
    username: str
    role: str
    address: str | None = None

    @classmethod
    def of(cls, principal: "Principal", address: str | None) -> "Actor":
        return cls(principal.user_id, principal.username, principal.role.value, address)

    @classmethod
    def system(cls, name: str) -> "Actor":
        """The service itself: the matcher, a watcher, the demo's set-up."""
        return cls(None, name, "system")

    @classmethod
    def cli(cls) -> "Actor":
        """Whoever runs a `dispatch` command on this machine (the operating system's account)."""
        return cls(None, getpass.getuser(), "cli", "local")


def _json(value: dict | None) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


def _redact(values: dict) -> dict:
    return {k: (REDACTED if k in PERSONAL and v is not None else v) for k, v in values.items()}


def changed(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only the fields that changed (all of `after` for a new object), personal values left out."""
    if before is None or after is None:
        return (None if before is None else _redact(before)), (None if after is None else _redact(after))
    keys = [k for k in after if k not in before or before[k] != after[k]]
    return _redact({k: before[k] for k in keys if k in before}), _redact({k: after[k] for k in keys})


def params(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    detail: dict | None = None,
) -> dict:
    """The record's values as statement parameters: for `record`, and for statements that write their record
    themselves (intake, the token check), to spare a round trip on the hot path."""
    before, after = changed(before, after)
    return {
        "actor_id": actor.user_id,
        "actor": actor.username,
        "role": actor.role,
        "address": actor.address,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "before": _json(before),
        "after": _json(after),
        "detail": _json(detail),
    }


def who(actor: Actor) -> str:
    """The actor as the server-side functions take it (`p_audit`), to write a record in their own statement."""
    return orjson.dumps(
        {"actor_id": actor.user_id, "actor": actor.username, "role": actor.role, "address": actor.address}
    ).decode()


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    detail: dict | None = None,
) -> None:
    """A write: `before` holds the fields as they were (None for a new object), `after` as they are now; fields
    that did not change are dropped."""
    values = params(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        detail=detail,
    )
    await session.execute(_INSERT, values)


async def record_read(
    session: AsyncSession,
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: Any = None,
    detail: dict | None = None,
) -> None:
    """A read of personal data: one record per request, whatever the number of rows (`detail` says how many)."""
    await record(session, actor=actor, action=action, object_type=object_type, object_id=object_id, detail=detail)
