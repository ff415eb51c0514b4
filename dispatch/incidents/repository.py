"""SQL of the incident domain. Intake is the hot path: its reads and its write are one statement, one round trip."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from dispatch.db import driver_connection, positional
from dispatch.errors import Conflict
from dispatch.groupcommit import GroupWriter
from dispatch.statuses import ACTIVE_ASSIGNMENT, OPEN_INCIDENT, sql_in

POINT = "ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)::geography"
OPEN = sql_in(OPEN_INCIDENT)
ACTIVE = sql_in(ACTIVE_ASSIGNMENT)

_ATTACH_CALL = text("""
WITH c AS (
    INSERT INTO calls (incident_id, channel, caller_name, caller_number, callback_number, location_text,
                       narrative, received_at, idempotency_key, request_hash, taken_by)
    VALUES (:incident_id, CAST(:channel AS channel), :caller_name, :caller_number, :callback_number,
            :location_text, :narrative, :received_at, :idempotency_key, :request_hash, :taken_by)
    RETURNING id
), ev AS (
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    SELECT :incident_id, 'call_added', :actor, jsonb_build_object('call_id', c.id, 'channel', :channel) FROM c
)
SELECT id FROM c""")


def _args(names: tuple[str, ...], values: dict[str, Any]) -> list[Any]:
    return [values[name] for name in names]


AGO_MIN = "CAST(:now AS timestamptz) - CAST(:window_min AS float8) * interval '1 minute'"

# What the call-taker must see about this caller and this place. `premise` is a WITH item, the rest one jsonb
# expression: intake puts both in its insert statement, the incident view runs them alone.
_PREMISE_CTE = f"""premise AS (
    SELECT i.id, i.type_code, i.priority, i.status, i.disposition, i.received_at, i.address_label
    FROM incidents i
    WHERE CAST(:lat AS float8) IS NOT NULL AND i.id <> :exclude
      AND i.received_at > CAST(:now AS timestamptz) - make_interval(months => CAST(:history_months AS int))
      AND ST_DWithin(i.location, {POINT}, :premise_m))"""

_CONTEXT_EXPR = f"""jsonb_build_object(
  'near', (SELECT coalesce(jsonb_agg(d ORDER BY d.distance_m, d.id), '[]') FROM (
      SELECT i.id, i.type_code, i.priority, i.status, i.address_label, i.municipality, i.received_at,
             round(ST_Distance(i.location, {POINT})::numeric, 1) AS distance_m
      FROM incidents i
      WHERE CAST(:lat AS float8) IS NOT NULL AND i.status IN {OPEN} AND i.type_code = ANY(:compatible)
        AND i.id <> :exclude AND i.received_at > {AGO_MIN} AND i.exercise = CAST(:exercise AS boolean)
        AND ST_DWithin(i.location, {POINT}, :radius_m)
      ORDER BY i.location <-> {POINT}, i.id LIMIT 10) d),
  'same_number', (SELECT coalesce(jsonb_agg(d ORDER BY d.received_at DESC), '[]') FROM (
      SELECT DISTINCT ON (i.id) i.id, i.type_code, i.priority, i.status, i.address_label, i.municipality,
             i.received_at,
             CASE WHEN CAST(:lat AS float8) IS NOT NULL AND i.location IS NOT NULL
                  THEN round(ST_Distance(i.location, {POINT})::numeric, 1) END AS distance_m
      FROM calls c JOIN incidents i ON i.id = c.incident_id
      WHERE CAST(:number AS text) IS NOT NULL AND c.caller_number = :number AND i.status IN {OPEN}
        AND i.id <> :exclude AND c.received_at > {AGO_MIN} AND i.exercise = CAST(:exercise AS boolean)
      ORDER BY i.id LIMIT 10) d),
  'caller_calls', (SELECT count(*) FROM calls c WHERE CAST(:number AS text) IS NOT NULL
                   AND c.caller_number = :number AND c.incident_id <> :exclude),
  'caller_last', (SELECT coalesce(jsonb_agg(d), '[]') FROM (
      SELECT c.received_at, i.id AS incident_id, i.type_code, i.address_label, i.status, i.disposition
      FROM calls c LEFT JOIN incidents i ON i.id = c.incident_id
      WHERE CAST(:number AS text) IS NOT NULL AND c.caller_number = :number AND c.incident_id <> :exclude
      ORDER BY c.received_at DESC LIMIT 5) d),
  'premise', jsonb_build_object(
      'count', (SELECT count(*) FROM premise),
      'in_window', (SELECT count(*) FROM premise WHERE received_at >
                    CAST(:now AS timestamptz) - make_interval(days => CAST(:repeat_days AS int))),
      'by_type', (SELECT coalesce(jsonb_object_agg(type_code, n), '{{}}')
                  FROM (SELECT type_code, count(*) AS n FROM premise GROUP BY type_code) t),
      'last', (SELECT coalesce(jsonb_agg(d ORDER BY d.received_at DESC, d.id DESC), '[]')
               FROM (SELECT * FROM premise ORDER BY received_at DESC, id DESC LIMIT 5) d)),
  'flags', (SELECT coalesce(jsonb_agg(f), '[]') FROM (
      SELECT id, category, description, address_label, created_at FROM premise_flags p
      WHERE CAST(:lat AS float8) IS NOT NULL AND p.active
        AND (p.expires_at IS NULL OR p.expires_at > CAST(:now AS timestamptz))
        AND ST_DWithin(p.location, {POINT}, p.radius_m + 10)
      ORDER BY p.created_at) f))"""

_CONTEXT, _CONTEXT_NAMES = positional(f"WITH {_PREMISE_CTE} SELECT {_CONTEXT_EXPR}")

# Intake's whole durable write in one statement, so one round trip and atomic without a transaction: the
# context as it was before this call (data-modifying WITH items see the snapshot the statement started from),
# then the incident, its first call, its first events and its audit record, unless the Idempotency-Key was used
# before, in which case nothing is written and the earlier call is answered.
_TAKE_CALL, _TAKE_CALL_NAMES = positional(f"""
WITH {_PREMISE_CTE},
prior AS (
    SELECT incident_id, request_hash FROM calls
    WHERE CAST(:idempotency_key AS text) IS NOT NULL AND idempotency_key = :idempotency_key
), inc AS (
    INSERT INTO incidents (type_code, priority, status, location, address_label, municipality, geocode_match,
                           geocode_confidence, needs_location, narrative, answers, received_at, entered_at,
                           queued_at, exercise)
    SELECT :type_code, :priority, CAST(:status AS incident_status),
           CASE WHEN CAST(:lat AS float8) IS NULL THEN NULL ELSE {POINT} END,
           :address_label, :municipality, CAST(:geocode_match AS geocode_match), :geocode_confidence,
           :needs_location, :narrative, CAST(:answers AS jsonb), :received_at, now(),
           CASE WHEN CAST(:status AS text) = 'pending' THEN now() END, CAST(:exercise AS boolean)
    WHERE NOT EXISTS (SELECT 1 FROM prior)
    RETURNING id
), c AS (
    INSERT INTO calls (incident_id, channel, caller_name, caller_number, callback_number, location_text,
                       reported_location, narrative, received_at, idempotency_key, request_hash, taken_by)
    SELECT inc.id, CAST(:channel AS channel), :caller_name, :caller_number, :callback_number, :location_text,
           CASE WHEN CAST(:reported_lat AS float8) IS NULL THEN NULL ELSE
                ST_SetSRID(ST_MakePoint(CAST(:reported_lon AS float8), CAST(:reported_lat AS float8)),
                           4326)::geography END,
           :narrative, :received_at, :idempotency_key, :request_hash, :taken_by
    FROM inc RETURNING id
), ev AS (
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    SELECT inc.id, e.kind, :actor, CAST(e.payload AS jsonb) || jsonb_build_object('call_id', c.id)
    FROM inc, c, jsonb_to_recordset(CAST(:events AS jsonb)) AS e(kind text, payload text)
), au AS (
    INSERT INTO audit_records (actor_id, actor, role, address, action, object_type, object_id, after)
    SELECT CAST(:audit_actor_id AS bigint), CAST(:audit_actor AS text), CAST(:audit_role AS text),
           CAST(:audit_address AS text), 'incident.intake', 'incident', inc.id::text,
           CAST(:audit_after AS jsonb) || jsonb_build_object('call_id', c.id)
    FROM inc, c
)
SELECT (SELECT id FROM inc), (SELECT id FROM c), (SELECT incident_id FROM prior), (SELECT request_hash FROM prior),
       {_CONTEXT_EXPR}""")


@dataclass(frozen=True)
class Taken:
    incident_id: int
    call_id: int
    context: dict[str, Any]


@dataclass(frozen=True)
class Prior:
    """The Idempotency-Key was used before: nothing was written; the incident that call made."""

    incident_id: int
    request_hash: str | None


async def take_call(session: AsyncSession, values: dict[str, Any], writer: GroupWriter | None = None) -> Taken | Prior:
    """Writes a call as a new incident in one atomic statement and returns what the call-taker must see, or, for
    a key used before, the incident the earlier call made. With a `writer`, and a session of its own (bound to
    the engine, not to a connection a caller holds a transaction on) that has begun nothing yet, the statement
    shares a transaction with the calls taken at the same moment and returns once that has committed
    (dispatch.groupcommit); otherwise it joins the session's transaction, or commits by itself."""
    values = {**values, "events": orjson.dumps(values["events"]).decode(), "exclude": 0}
    args = _args(_TAKE_CALL_NAMES, values)
    try:
        if writer is not None and not session.in_transaction() and isinstance(session.bind, AsyncEngine):
            row = await writer.fetchrow(_TAKE_CALL, *args)
        else:
            row = await (await driver_connection(session)).fetchrow(_TAKE_CALL, *args)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "uq_calls_idempotency_key":
            raise
        # Two requests with one key at the same moment: one wrote, this one must ask again to be answered.
        raise Conflict("a call with this Idempotency-Key is being taken right now: retry") from None
    if row is None:  # the statement always answers one row
        raise RuntimeError("the intake statement answered no row")
    if row[0] is None:  # nothing inserted: only when the key's call exists (the insert's NOT EXISTS)
        return Prior(row[2], row[3])
    return Taken(row[0], row[1], row[4])  # jsonb arrives decoded (the engine's codec)


async def context(
    session: AsyncSession,
    *,
    lat: float | None,
    lon: float | None,
    number: str | None,
    compatible: list[str],
    now: datetime,
    radius_m: float,
    window_min: float,
    premise_m: float,
    history_months: int,
    repeat_days: int,
    exclude: int = 0,
    exercise: bool = False,
) -> dict[str, Any]:
    values = {
        "lat": lat,
        "lon": lon,
        "number": number,
        "compatible": compatible,
        "now": now,
        "radius_m": radius_m,
        "window_min": window_min,
        "premise_m": premise_m,
        "history_months": history_months,
        "repeat_days": repeat_days,
        "exclude": exclude,
        "exercise": exercise,
    }
    found: dict[str, Any] = await (await driver_connection(session)).fetchval(_CONTEXT, *_args(_CONTEXT_NAMES, values))
    return found


async def attach_call(session: AsyncSession, **values: Any) -> int:
    call_id: int = (await session.execute(_ATTACH_CALL, values)).scalar_one()
    return call_id


async def add_answers(session: AsyncSession, incident_id: int, answers: list[dict[str, str]]) -> None:
    """A further call's answers join the incident's, after the ones it has."""
    await session.execute(
        text("UPDATE incidents SET answers = answers || CAST(:answers AS jsonb) WHERE id = :id"),
        {"id": incident_id, "answers": orjson.dumps(answers).decode()},
    )


async def find_call_by_key(session: AsyncSession, key: str) -> tuple[int, int, str | None] | None:
    row = (
        await session.execute(
            text("SELECT id, incident_id, request_hash FROM calls WHERE idempotency_key = :k"), {"k": key}
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


async def incident_row(session: AsyncSession, incident_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text(f"""
        SELECT id, type_code, priority, status::text, ST_Y(location::geometry) AS lat,
               ST_X(location::geometry) AS lon, address_label, municipality, geocode_match::text,
               geocode_confidence, needs_location, narrative, duplicate_of_id, disposition, answers, received_at,
               exercise, queued_at, dispatched_at, acknowledged_at, en_route_at, on_scene_at, cleared_at, closed_at
        FROM incidents WHERE id = :id {"FOR UPDATE" if lock else ""}"""),
                {"id": incident_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def calls(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    """Every call about the incident, oldest first: the first, those attached as duplicates, the merged ones."""
    rows = await session.execute(
        text("""
        SELECT id, received_at, channel::text AS channel, caller_name, caller_number, narrative
        FROM calls WHERE incident_id = :id ORDER BY received_at, id"""),
        {"id": incident_id},
    )
    return [dict(r) for r in rows.mappings()]


async def first_call(session: AsyncSession, incident_id: int) -> dict[str, Any] | None:
    row = (
        (
            await session.execute(
                text("""
        SELECT id, channel::text, caller_name, caller_number, callback_number, location_text
        FROM calls WHERE incident_id = :id ORDER BY id LIMIT 1"""),
                {"id": incident_id},
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def events(session: AsyncSession, incident_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("""
        SELECT id, at, kind, actor, payload FROM incident_events WHERE incident_id = :id ORDER BY id"""),
        {"id": incident_id},
    )
    return [dict(r) for r in rows.mappings()]


async def append_event(session: AsyncSession, incident_id: int, kind: str, actor: str, payload: dict[str, Any]) -> None:
    await session.execute(
        text("""INSERT INTO incident_events (incident_id, kind, actor, payload)
                                  VALUES (:id, :kind, :actor, CAST(:payload AS jsonb))"""),
        {"id": incident_id, "kind": kind, "actor": actor, "payload": orjson.dumps(payload).decode()},
    )


_ENUM_CASTS = {"status": "incident_status", "geocode_match": "geocode_match"}


async def update_incident(session: AsyncSession, incident_id: int, values: dict[str, Any]) -> None:
    sets: list[str] = []
    params: dict[str, Any] = {"id": incident_id}
    for name, value in values.items():
        if name in ("lat", "lon"):
            continue
        cast = _ENUM_CASTS.get(name)
        sets.append(f"{name} = CAST(:{name} AS {cast})" if cast else f"{name} = :{name}")
        params[name] = value
    if "lat" in values:
        sets.append(f"location = CASE WHEN CAST(:lat AS float8) IS NULL THEN NULL ELSE {POINT} END")
        params.update(lat=values["lat"], lon=values["lon"])
    await session.execute(text(f"UPDATE incidents SET {', '.join(sets)} WHERE id = :id"), params)


async def pending_for_queue(session: AsyncSession) -> list[tuple[int, int, int]]:
    """(id, priority, received at in ms) of every incident the queue must hold: PostgreSQL is the truth."""
    rows = await session.execute(
        text("""
        SELECT id, priority, (extract(epoch FROM received_at) * 1000)::bigint FROM incidents
        WHERE status = 'pending' OR (status IN ('dispatched', 'en_route', 'on_scene') AND units_missing > 0)
        ORDER BY priority, received_at""")
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def open_incidents(session: AsyncSession, limit: int = 1000) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(f"""
        SELECT i.id, i.type_code, i.priority, i.status::text AS status, i.address_label, i.municipality,
               i.needs_location, i.received_at, ST_Y(i.location::geometry) AS lat,
               ST_X(i.location::geometry) AS lon,
               i.units_missing, i.cleared_at, i.exercise,
               (SELECT coalesce(jsonb_agg(a.unit_id ORDER BY a.unit_id), '[]') FROM assignments a
                WHERE a.incident_id = i.id
                  AND a.status IN {ACTIVE}) AS units
        FROM incidents i
        WHERE i.status IN {OPEN}
        ORDER BY i.priority, i.received_at LIMIT :limit"""),
        {"limit": limit},
    )
    return [dict(r) for r in rows.mappings()]
