"""Reading the trail (the API and the command share the filters) and purging what is past its retention."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.service import Actor, record
from dispatch.errors import InvalidInput

MAX_PAGE = 1000
# The database refuses to delete a record younger than this, whatever the setting (see the migration 0010).
MIN_RETENTION_DAYS = 30


@dataclass(frozen=True)
class Filters:
    actor: str | None = None  # the username (or a system writer's name)
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None  # exact, or a prefix when it ends in ".*" ("incident.*")
    start: datetime | None = None  # included
    end: datetime | None = None  # excluded

    def as_detail(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def moment(value: str, name: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A time filter as people write it (the audit trail's and the incident search's `from` and `to`): a date is a
    whole local day (both ends included); a date and time without an offset is local time."""
    value = value.strip()
    try:
        if len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                day = None
            if day is not None:
                return datetime.combine(day + timedelta(days=1 if end else 0), time(), zone).astimezone(UTC)
        found = datetime.fromisoformat(value)
        return (found if found.tzinfo else found.replace(tzinfo=zone)).astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one beyond the calendar once in UTC (9999-12-31)
        raise InvalidInput(
            f"'{name}' must be a date (2026-11-01) or a date and time (2026-11-01T08:00, with or without an "
            f"offset), got {value!r}"
        ) from None


def parse_filters(
    *,
    actor: str | None = None,
    object: str | None = None,
    action: str | None = None,
    start: str | None = None,
    end: str | None = None,
    time_zone: str = "UTC",
) -> Filters:
    """The filters as people write them: `object` is "incident" or "incident:42"; dates are local days."""
    object_type = object_id = None
    if object:
        object_type, _, object_id = object.partition(":")
        if not object_type or (object.count(":") and not object_id):
            raise InvalidInput(f"'object' is a type or type:id (incident, incident:42), got {object!r}")
    if action is not None and (not action or "*" in action.removesuffix(".*")):
        raise InvalidInput(f"'action' is an action (incident.close) or a prefix (incident.*), got {action!r}")
    zone = ZoneInfo(time_zone)
    first = moment(start, "from", zone, end=False) if start else None
    last = moment(end, "to", zone, end=True) if end else None
    if first and last and last <= first:
        raise InvalidInput(f"'to' ({end}) must be after 'from' ({start})")
    return Filters(actor or None, object_type, object_id or None, action, first, last)


def _where(filters: Filters) -> tuple[str, dict]:
    conditions: list[str] = []
    values: dict[str, object] = {}
    if filters.actor:
        conditions.append("actor = :actor")
        values["actor"] = filters.actor
    if filters.object_type:
        conditions.append("object_type = :object_type")
        values["object_type"] = filters.object_type
    if filters.object_id:
        conditions.append("object_id = :object_id")
        values["object_id"] = filters.object_id
    if filters.action and filters.action.endswith(".*"):
        conditions.append("action LIKE :action")
        values["action"] = filters.action[:-1].replace("_", r"\_") + "%"
    elif filters.action:
        conditions.append("action = :action")
        values["action"] = filters.action
    if filters.start:
        conditions.append("at >= :start")
        values["start"] = filters.start
    if filters.end:
        conditions.append("at < :end")
        values["end"] = filters.end
    return " AND ".join(conditions) or "true", values


async def search(
    session: AsyncSession, *, filters: Filters, cursor: int | None = None, limit: int = 100
) -> tuple[list[dict], int | None]:
    """Newest first; `cursor` is the `next_cursor` of the page before (records older than it). Returns the page
    and the cursor of the next one (None on the last page)."""
    where, values = _where(filters)
    if cursor is not None:
        where += " AND id < :cursor"
        values["cursor"] = cursor
    rows = await session.execute(
        text(f"""
        SELECT id, at, actor_id, actor, role, address, action, object_type, object_id, before, after, detail
        FROM audit_records WHERE {where} ORDER BY id DESC LIMIT :limit"""),
        {**values, "limit": limit + 1},
    )
    page = [dict(r) for r in rows.mappings()]
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1]["id"] if more else None)


@dataclass(frozen=True)
class Purged:
    records: int  # of the audit trail
    crew_messages: int  # of the conversations between crews and dispatchers


async def purge(session: AsyncSession, *, actor: Actor, retention_days: int, now: datetime | None = None) -> Purged:
    """Deletes the records older than the retention, through the database's one way to (`audit_purge`), and
    records that it did. The conversations with the crews (crew_messages) go at the same cut-off: a
    dispatcher's words are in both, and one retention for both is one rule to state and to keep."""
    if retention_days < MIN_RETENTION_DAYS:
        raise InvalidInput(f"records are kept at least {MIN_RETENTION_DAYS} days, not {retention_days}")
    before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    deleted = await session.scalar(text("SELECT audit_purge(:before)"), {"before": before})
    messages = await session.scalar(
        text("WITH gone AS (DELETE FROM crew_messages WHERE at < :before RETURNING 1) SELECT count(*) FROM gone"),
        {"before": before},
    )
    purged = Purged(int(deleted or 0), int(messages or 0))
    await record(
        session,
        actor=actor,
        action="audit.purge",
        object_type="audit",
        detail={
            "older_than": before.isoformat(),
            "retention_days": retention_days,
            "deleted": purged.records,
            "crew_messages_deleted": purged.crew_messages,
        },
    )
    return purged
