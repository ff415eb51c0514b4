"""Matching against the database: what the core needs, and the durable write of its decision.

A dispatch is one statement: the assignments, the incident's status and time, the units' status, the
diverted units' old assignments and every event, so a crash leaves all of it or none. PostgreSQL's partial
unique index on active assignments is the last guard: a unit can never hold two.
"""

from dataclasses import dataclass

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.db import driver_connection, positional
from dispatch.errors import Conflict
from dispatch.incidents.types import IncidentTypes
from dispatch.matching.core import IncidentIn, Pick, Slot
from dispatch.push.messages import BRIEF_COLUMNS, brief_of
from dispatch.units.board import BoardUnit

DISPATCHABLE = ("pending", "dispatched", "en_route", "on_scene")
ACTIVE = "('assigned', 'acknowledged', 'en_route', 'on_scene')"


@dataclass(frozen=True)
class MatchIncident:
    id: int
    status: str
    priority: int
    type_code: str
    lat: float | None
    lon: float | None
    municipality: str | None
    needs_location: bool
    assigned: dict[str, int]  # capability -> units on it now
    plan: tuple[Slot, ...]  # the whole response plan

    def remaining(self) -> tuple[Slot, ...]:
        """The plan minus the units already on it."""
        left = []
        for slot in self.plan:
            count = slot.count - self.assigned.get(slot.capability, 0)
            if count > 0:
                left.append(Slot(slot.capability, count))
        return tuple(left)

    def as_core(self) -> IncidentIn:
        return IncidentIn(self.id, self.priority, self.remaining(), self.lat, self.lon, self.municipality)


async def board_units(session: AsyncSession) -> list[BoardUnit]:
    """Every unit as PostgreSQL has it, with the incident it works, for (re)loading the board."""
    rows = await session.execute(text(f"""
        SELECT u.id, u.call_sign, u.capabilities, u.status::text, ST_Y(u.position::geometry),
               ST_X(u.position::geometry), s.municipality, a.incident_id, i.priority
        FROM units u
        LEFT JOIN stations s ON s.id = u.home_station_id
        LEFT JOIN assignments a ON a.unit_id = u.id AND a.status IN {ACTIVE}
        LEFT JOIN incidents i ON i.id = a.incident_id
        ORDER BY u.id"""))
    return [BoardUnit(r[0], r[1], frozenset(r[2] or ()), r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]


_MATCH_INCIDENT, _MATCH_INCIDENT_NAMES = positional(f"""
    SELECT i.id, i.status::text, i.priority, i.type_code, ST_Y(i.location::geometry),
           ST_X(i.location::geometry), i.municipality, i.needs_location,
           coalesce((SELECT jsonb_object_agg(slot, n) FROM (
               SELECT slot, count(*) AS n FROM assignments
               WHERE incident_id = i.id AND status IN {ACTIVE} GROUP BY slot) a), '{{}}')::text
    FROM incidents i WHERE i.id = :id""")


async def match_incident(session: AsyncSession, incident_id: int, types: IncidentTypes) -> MatchIncident | None:
    """The incident as the matcher needs it: one statement on the session's driver connection (outside a
    transaction it is one round trip, where the ORM would add BEGIN and ROLLBACK)."""
    conn = await driver_connection(session)
    row = await conn.fetchrow(_MATCH_INCIDENT, incident_id)
    if row is None:
        return None
    kind = types.get(row[3]) or types.get("UNKNOWN")
    plan = tuple(Slot(s.capability, s.count) for s in kind.plan)
    return MatchIncident(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], orjson.loads(row[8]), plan)


_DISPATCH, _DISPATCH_NAMES = positional(f"""
WITH picked AS (
    SELECT * FROM jsonb_to_recordset(CAST(:picks AS jsonb))
        AS p(unit_id bigint, slot text, eta_s float8, reason text, diverted_from bigint)
), inc AS (
    UPDATE incidents SET status = CASE WHEN status = 'pending' THEN 'dispatched' ELSE status END,
                         dispatched_at = coalesce(dispatched_at, now()), units_missing = :units_missing
    WHERE id = :incident_id AND status IN ('pending', 'dispatched', 'en_route', 'on_scene')
    RETURNING id
), diverted AS (
    UPDATE assignments a SET status = 'cancelled', cancelled_at = now()
    FROM picked p, inc
    WHERE a.unit_id = p.unit_id AND a.incident_id = p.diverted_from AND a.status IN {ACTIVE}
    RETURNING a.incident_id, a.unit_id
), ins AS (
    INSERT INTO assignments (incident_id, unit_id, slot, status, eta_s, reasons)
    SELECT inc.id, p.unit_id, p.slot, 'assigned', p.eta_s,
           jsonb_build_object('reason', p.reason, 'mode', CAST(:mode AS text))
    -- Reading all of `diverted` first makes the old assignments cancelled before the new ones go in, so the
    -- unique index on active assignments never sees a diverted unit twice.
    FROM picked p, inc, (SELECT count(*) FROM diverted) AS done_diverting
    RETURNING id, unit_id, slot, eta_s
), units AS (
    -- PostgreSQL has the last word on who is free: a unit the board thought free but is not here is refused.
    UPDATE units SET status = 'dispatched', status_changed_at = now()
    WHERE id IN (SELECT unit_id FROM ins)
      AND (status IN ('available', 'returning') OR id IN (SELECT unit_id FROM diverted))
    RETURNING id
), ev AS (
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    SELECT :incident_id, 'dispatched', :actor,
           jsonb_build_object('unit_id', unit_id, 'assignment_id', id, 'slot', slot, 'eta_s', eta_s,
                              'mode', CAST(:mode AS text))
    FROM ins
    UNION ALL
    SELECT incident_id, 'diverted', :actor, jsonb_build_object('unit_id', unit_id, 'to', CAST(:incident_id AS bigint))
    FROM diverted
), lost AS (
    UPDATE incidents SET units_missing = units_missing + 1
    WHERE id IN (SELECT incident_id FROM diverted)
)
SELECT (SELECT count(*) FROM inc) + CASE WHEN (SELECT count(*) FROM units) = (SELECT count(*) FROM picked)
                                        THEN 0 ELSE 10 END,
        coalesce((SELECT jsonb_agg(jsonb_build_object('assignment_id', id, 'unit_id', unit_id, 'slot', slot))
                 FROM ins), '[]')::text,
       coalesce((SELECT jsonb_agg(jsonb_build_object(
                     'id', i.id, 'priority', i.priority,
                     'received_ms', (extract(epoch FROM i.received_at) * 1000)::bigint))
                 FROM incidents i WHERE i.id IN (SELECT incident_id FROM diverted)), '[]')::text""")


@dataclass(frozen=True)
class Dispatched:
    assignments: list[dict]  # assignment_id, unit_id, slot
    diverted_from: list[dict]  # incidents that lost a unit to this one (id, priority, received_ms): re-queued
    units_missing: int  # what the plan still lacks after this dispatch
    about: dict | None = None  # the brief its units are told (push.messages.brief_of), read with the lock


_LOCK, _LOCK_NAMES = positional(f"""
    SELECT i.status::text,
           coalesce((SELECT jsonb_object_agg(slot, n) FROM (
               SELECT slot, count(*) AS n FROM assignments
               WHERE incident_id = i.id AND status IN {ACTIVE} GROUP BY slot) a), '{{}}')::text,
           {BRIEF_COLUMNS}
    FROM incidents i WHERE i.id = :id FOR UPDATE OF i""")


async def write_dispatch(session: AsyncSession, *, incident_id: int, picks: list[Pick], plan: tuple[Slot, ...],
                         actor: str, mode: str) -> Dispatched:
    """Records the dispatch; raises Conflict if the incident is no longer open, its plan is filled meanwhile
    (another matcher, or a dispatcher), or a unit is not free. The incident row is locked first, so two
    writers to one incident go one after the other and the second sees what the first filled."""
    conn = await driver_connection(session)
    async with conn.transaction():
        locked = await conn.fetchrow(_LOCK, *(incident_id for _ in _LOCK_NAMES))
        if locked is None or locked[0] not in DISPATCHABLE:
            raise Conflict(f"incident {incident_id} is no longer open for dispatch")
        filled = orjson.loads(locked[1])
        remaining = {slot.capability: slot.count - int(filled.get(slot.capability, 0)) for slot in plan}
        for pick in picks:
            if pick.capability == "extra":
                continue  # a dispatcher's choice beyond the plan
            if remaining.get(pick.capability, 0) <= 0:
                raise Conflict(f"the plan's {pick.capability} slots were filled meanwhile")
            remaining[pick.capability] -= 1
        units_missing = sum(max(0, n) for n in remaining.values())
        payload = [{"unit_id": p.unit_id, "slot": p.capability, "eta_s": p.eta_s, "reason": p.reason,
                    "diverted_from": p.diverted_from} for p in picks]
        params = {"picks": orjson.dumps(payload).decode(), "incident_id": incident_id,
                  "units_missing": units_missing, "actor": actor, "mode": mode}
        try:
            row = await conn.fetchrow(_DISPATCH, *(params[n] for n in _DISPATCH_NAMES))
        except asyncpg.UniqueViolationError as exc:
            if "uq_assignments_active_unit" in str(exc):
                raise Conflict("a chosen unit was assigned elsewhere meanwhile") from None
            raise
        if row[0] == 0:
            raise Conflict(f"incident {incident_id} is no longer open for dispatch")
        if row[0] > 1:
            raise Conflict("a chosen unit is not free (the board was behind PostgreSQL)")
    about = brief_of(incident_id, tuple(locked)[2:])
    return Dispatched(orjson.loads(row[1]), orjson.loads(row[2]), units_missing, about)


async def set_units_missing(session: AsyncSession, incident_id: int, missing: int) -> None:
    await session.execute(text("UPDATE incidents SET units_missing = :n WHERE id = :id AND units_missing <> :n"),
                          {"id": incident_id, "n": missing})


def missing_count(slots: tuple[Slot, ...]) -> int:
    return sum(slot.count for slot in slots)
