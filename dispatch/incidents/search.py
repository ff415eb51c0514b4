"""Finding incidents, open and closed: by words (place, caller, type, narrative), by number, by filters; newest
first, a page at a time. The results show callers' names and numbers, so each search is recorded in the audit
trail (one record per request, with what was asked and which incidents it showed)."""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.queries import moment
from dispatch.audit.service import Actor
from dispatch.errors import InvalidInput
from dispatch.incidents.schemas import MAX_ID, neutral_text
from dispatch.incidents.types import IncidentTypes, fold
from dispatch.statuses import OPEN_INCIDENT, sql_in

MAX_LIMIT = 200
Status = Literal["open", "closed", "all"]
_NUMBER = re.compile(r"#?\s*([0-9]{1,19})")
_PHONE_LIKE = re.compile(r"\+?[0-9][0-9 ()./-]*")
_MIN_PHONE_DIGITS = 3  # fewer digits would match nearly every number


class SearchItemOut(BaseModel):
    id: int
    priority: int
    type_code: str
    type_name: str
    status: str
    address_label: str | None
    received_at: datetime
    closed_at: datetime | None
    disposition: str | None
    caller_number: str | None = Field(description="The first caller's number")
    caller_name: str | None = Field(description="The first caller's name")
    units: list[str] = Field(description="Call signs of the units ever sent to it, in the order they were sent")


class SearchOut(BaseModel):
    items: list[SearchItemOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


@dataclass(frozen=True)
class Query:
    q: str | None = None
    status: Status = "all"
    priority: int | None = None
    type_code: str | None = None
    start: datetime | None = None  # included
    end: datetime | None = None  # excluded

    def as_detail(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def parse_query(
    *,
    q: str | None,
    status: Status,
    priority: int | None,
    type_code: str | None,
    start: str | None,
    end: str | None,
    types: IncidentTypes,
    time_zone: str,
) -> Query:
    q = " ".join(neutral_text(q).split()) if q else None
    kind = None
    if type_code:
        kind = types.get(type_code)
        if kind is None:
            raise InvalidInput(f"unknown incident type '{type_code}'", extra={"known": sorted(types.codes())})
    zone = ZoneInfo(time_zone)
    first = moment(start, "from", zone, end=False) if start else None
    last = moment(end, "to", zone, end=True) if end else None
    if first and last and last <= first:
        raise InvalidInput(f"'to' ({end}) must be after 'from' ({start})")
    return Query(q or None, status, priority, kind.code if kind else None, first, last)


def encode_cursor(received_at: datetime, incident_id: int) -> str:
    raw = orjson.dumps([received_at.isoformat(), incident_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, incident_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment_at = datetime.fromisoformat(at)
        if type(incident_id) is not int or not 0 < incident_id <= MAX_ID or moment_at.tzinfo is None:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidInput("'cursor' is not a next_cursor this search gave") from None
    return moment_at, incident_id


def _like(words: str) -> str:
    """A substring pattern for ILIKE with the pattern characters taken literally."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", words) + "%"


def _matches(q: str, types: IncidentTypes, values: dict[str, Any]) -> list[str]:
    """The ways `q` can match an incident, each a condition on `incidents i`: an incident number ("#123" only
    that; "123" that or the words), the place or the narrative, a caller (name, or the digits of a number), the
    type (code or name)."""
    number = _NUMBER.fullmatch(q)
    if number and int(number.group(1)) <= MAX_ID:
        values["q_id"] = int(number.group(1))
        if q.startswith("#"):
            return ["i.id = :q_id"]
    values["q_like"] = _like(q)
    callers = "caller_name ILIKE :q_like"
    # Numbers are stored as digits with an optional leading + (schemas._phone), so the digits typed, without
    # their spaces, brackets or +, are a substring of the number.
    digits = re.sub(r"[^0-9]", "", q) if _PHONE_LIKE.fullmatch(q) else ""
    if len(digits) >= _MIN_PHONE_DIGITS:
        values["q_digits"] = _like(digits)
        callers += " OR caller_number LIKE :q_digits"
    matches = [
        "(i.address_label ILIKE :q_like OR i.narrative ILIKE :q_like)",
        f"i.id IN (SELECT incident_id FROM calls WHERE {callers})",
    ]
    if "q_id" in values:
        matches.append("i.id = :q_id")
    folded = fold(q)
    if codes := [
        t.code
        for t in types
        if q.upper() in t.code or (folded and any(folded in fold(n) for n in (t.name, *dict(t.names).values())))
    ]:
        values["q_types"] = codes
        matches.append("i.type_code = ANY(:q_types)")
    return matches


def _filters(query: Query, cursor: tuple[datetime, int] | None, values: dict[str, Any]) -> list[str]:
    conditions: list[str] = []
    if query.status == "open":
        conditions.append(f"i.status IN {sql_in(OPEN_INCIDENT)}")
    elif query.status == "closed":  # closed, cancelled or merged: over
        conditions.append(f"i.status NOT IN {sql_in(OPEN_INCIDENT)}")
    if query.priority is not None:
        conditions.append("i.priority = :priority")
        values["priority"] = query.priority
    if query.type_code:
        conditions.append("i.type_code = :type_code")
        values["type_code"] = query.type_code
    if query.start:
        conditions.append("i.received_at >= :start")
        values["start"] = query.start
    if query.end:
        conditions.append("i.received_at < :end")
        values["end"] = query.end
    if cursor:
        conditions.append("(i.received_at, i.id) < (:cursor_at, :cursor_id)")
        values.update(cursor_at=cursor[0], cursor_id=cursor[1])
    return conditions


_ORDER = "ORDER BY i.received_at DESC, i.id DESC LIMIT :limit"


def _where(query: Query, types: IncidentTypes, cursor: tuple[datetime, int] | None) -> tuple[str, dict[str, Any]]:
    """The condition on `incidents i` for the page. Words are searched one way at a time, each way its own
    query for its newest page (the planner picks for each: the trigram index of migration 0013 for a rare word,
    the walk down received_at for a common one); the page is the newest of their union. One query with the
    ways OR-ed would read every incident of years of history for a word found in none."""
    values: dict[str, Any] = {}
    filters = _filters(query, cursor, values)
    matches = _matches(query.q, types, values) if query.q else []
    if len(matches) <= 1:
        return " AND ".join(["TRUE", *filters, *matches]), values
    ways = [f"(SELECT i.id FROM incidents i WHERE {' AND '.join([*filters, m])} {_ORDER})" for m in matches]
    return f"i.id IN ({' UNION ALL '.join(ways)})", values


_SELECT = (
    """
SELECT i.id, i.priority, i.type_code, i.status::text AS status, i.address_label, i.received_at, i.closed_at,
       i.disposition, c.caller_number, c.caller_name,
       (SELECT coalesce(jsonb_agg(s.call_sign ORDER BY s.first, s.call_sign), '[]') FROM (
            SELECT u.call_sign, min(a.assigned_at) AS first FROM assignments a JOIN units u ON u.id = a.unit_id
            WHERE a.incident_id = i.id GROUP BY u.call_sign) s) AS units
FROM incidents i
LEFT JOIN LATERAL (SELECT caller_number, caller_name FROM calls WHERE incident_id = i.id ORDER BY id LIMIT 1) c
       ON TRUE
WHERE {where}
"""
    + _ORDER
)


async def search(
    session: AsyncSession,
    *,
    query: Query,
    cursor: str | None,
    limit: int,
    types: IncidentTypes,
    by: Actor,
) -> dict[str, Any]:
    """A page of incidents, newest first, and the cursor of the next page (None on the last)."""
    after = decode_cursor(cursor) if cursor else None
    where, values = _where(query, types, after)
    rows = (await session.execute(text(_SELECT.format(where=where)), {**values, "limit": limit + 1})).mappings()
    items = [dict(r) for r in rows]
    more = len(items) > limit
    items = items[:limit]
    for item in items:
        kind = types.get(item["type_code"])
        item["type_name"] = kind.name if kind else item["type_code"]
    next_cursor = encode_cursor(items[-1]["received_at"], items[-1]["id"]) if more else None
    # One record per request: what was asked, and which incidents (and so which callers) it showed.
    await audit.record_read(
        session,
        actor=by,
        action="incident.search",
        object_type="incident",
        detail={**query.as_detail(), "cursor": cursor, "rows": len(items), "ids": [i["id"] for i in items]},
    )
    return {"items": items, "next_cursor": next_cursor}
