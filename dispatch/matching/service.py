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
from dispatch.statuses import ACTIVE_ASSIGNMENT, sql_in
from dispatch.units.board import BoardUnit

ACTIVE = sql_in(ACTIVE_ASSIGNMENT)


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
    served: dict[str, int]  # slot -> units on it now or that reached the scene (incident_slots_served)

    def remaining(self) -> tuple[Slot, ...]:
        """The plan minus its served slots: what it still lacks, by the rule dispatch_write applies too."""
        left = []
        for slot in self.plan:
            count = slot.count - self.served.get(slot.capability, 0)
            if count > 0:
                left.append(Slot(slot.capability, count))
        return tuple(left)

    def as_core(self) -> IncidentIn:
        return IncidentIn(self.id, self.priority, self.remaining(), self.lat, self.lon, self.municipality)


async def board_units(session: AsyncSession) -> list[BoardUnit]:
    """Every unit as PostgreSQL has it, with the incident it works, for (re)loading the board."""
    rows = await session.execute(
        text(f"""
        SELECT u.id, u.call_sign, u.capabilities, u.status::text, ST_Y(u.position::geometry),
               ST_X(u.position::geometry), s.municipality, a.incident_id, i.priority
        FROM units u
        LEFT JOIN stations s ON s.id = u.home_station_id
        LEFT JOIN assignments a ON a.unit_id = u.id AND a.status IN {ACTIVE}
        LEFT JOIN incidents i ON i.id = a.incident_id
        ORDER BY u.id""")
    )
    return [BoardUnit(r[0], r[1], frozenset(r[2] or ()), r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]


_MATCH_INCIDENT, _MATCH_INCIDENT_NAMES = positional(f"""
    SELECT i.id, i.status::text, i.priority, i.type_code, ST_Y(i.location::geometry),
           ST_X(i.location::geometry), i.municipality, i.needs_location,
           coalesce((SELECT jsonb_object_agg(slot, n) FROM (
               SELECT slot, count(*) AS n FROM assignments
               WHERE incident_id = i.id AND status IN {ACTIVE} GROUP BY slot) a), '{{}}')::text,
           incident_slots_served(i.id)::text
    FROM incidents i WHERE i.id = :id""")


async def match_incident(session: AsyncSession, incident_id: int, types: IncidentTypes) -> MatchIncident | None:
    """The incident as the matcher needs it: one statement on the session's driver connection (outside a
    transaction it is one round trip, where the ORM would add BEGIN and ROLLBACK)."""
    conn = await driver_connection(session)
    row = await conn.fetchrow(_MATCH_INCIDENT, incident_id)
    if row is None:
        return None
    kind = types.get(row[3]) or types.unknown
    plan = tuple(Slot(s.capability, s.count) for s in kind.plan)
    return MatchIncident(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], orjson.loads(row[8]), plan, orjson.loads(row[9])
    )


# The write is the server-side function dispatch_write (dispatch/matching/sql/dispatch_write.sql): one round
# trip, one statement. The brief the units are told is read beside it.
_DISPATCH = f"""
    SELECT d.outcome, d.detail, d.units_missing, d.assignments::text, d.diverted::text, {BRIEF_COLUMNS}
    FROM dispatch_write($1, $2::jsonb, $3::jsonb, $4, $5, $6::jsonb) AS d CROSS JOIN incidents i WHERE i.id = $1"""
NOT_FREE = "DW001"  # dispatch_write's SQLSTATE for a chosen unit that PostgreSQL does not have free


@dataclass(frozen=True)
class Dispatched:
    assignments: list[dict]  # assignment_id, unit_id, slot
    diverted_from: list[dict]  # incidents that lost a unit to this one (id, priority, received_ms): re-queued
    units_missing: int  # what the plan still lacks after this dispatch
    about: dict | None = None  # the brief its units are told (push.messages.brief_of), read with the lock


async def write_dispatch(
    session: AsyncSession,
    *,
    incident_id: int,
    picks: list[Pick],
    plan: tuple[Slot, ...],
    actor: str,
    mode: str,
    audit_actor: str | None = None,
) -> Dispatched:
    """Records the dispatch; raises Conflict if the incident is no longer open, its plan is filled meanwhile
    (another matcher, or a dispatcher), or a unit is not free. The incident row is locked first, so two
    writers to one incident go one after the other and the second sees what the first filled. `audit_actor`
    (dispatch.audit.service.who): the audit record is written by the same statement."""
    conn = await driver_connection(session)
    wanted = orjson.dumps({slot.capability: slot.count for slot in plan}).decode()
    payload = orjson.dumps(
        [
            {
                "unit_id": p.unit_id,
                "slot": p.capability,
                "eta_s": p.eta_s,
                "reason": p.reason,
                "diverted_from": p.diverted_from,
            }
            for p in picks
        ]
    ).decode()
    try:
        row = await conn.fetchrow(_DISPATCH, incident_id, wanted, payload, actor, mode, audit_actor)
    except asyncpg.UniqueViolationError as exc:
        if "uq_assignments_active_unit" in str(exc):
            raise Conflict("a chosen unit was assigned elsewhere meanwhile") from None
        raise
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == NOT_FREE:
            raise Conflict("a chosen unit is not free (the board was behind PostgreSQL)") from None
        raise
    if row is None or row[0] == "closed":
        raise Conflict(f"incident {incident_id} is no longer open for dispatch")
    if row[0] == "filled":
        raise Conflict(f"the plan's {row[1]} slots were filled meanwhile")
    return Dispatched(orjson.loads(row[3]), orjson.loads(row[4]), row[2], brief_of(incident_id, tuple(row)[5:]))


async def set_units_missing(session: AsyncSession, incident_id: int, missing: int) -> None:
    await session.execute(
        text("UPDATE incidents SET units_missing = :n WHERE id = :id AND units_missing <> :n"),
        {"id": incident_id, "n": missing},
    )


def missing_count(slots: tuple[Slot, ...]) -> int:
    return sum(slot.count for slot in slots)
