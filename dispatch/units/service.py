"""A unit's status and position: what its device or the dispatcher reports, and what that changes.

A status change moves the unit's active assignment along (acknowledged, en route, on scene, cleared) and
stamps the incident's interval times the first time any of its units gets there; the event log records it.
A unit that leaves before reaching the scene leaves a gap in the response plan: the incident is queued again.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.db import driver_connection, positional
from dispatch.errors import Conflict, NotFound
from dispatch.units.models import UnitStatus as S

# What a crew may report next, from each status (a breakdown, out of service, at any time: the incident is
# then matched again for the unit it lost). Dispatchers may set any status but `dispatched` (that is
# what an assignment does) and are not held to this order: they correct what the field got wrong.
NEXT: dict[S, frozenset[S]] = {
    S.available: frozenset({S.out_of_service, S.returning}),
    S.returning: frozenset({S.available, S.out_of_service}),
    S.dispatched: frozenset({S.acknowledged, S.en_route, S.on_scene, S.out_of_service}),
    S.acknowledged: frozenset({S.en_route, S.on_scene, S.out_of_service}),
    S.en_route: frozenset({S.on_scene, S.out_of_service}),
    S.on_scene: frozenset({S.transporting, S.returning, S.available, S.out_of_service}),
    S.transporting: frozenset({S.at_hospital, S.out_of_service}),
    S.at_hospital: frozenset({S.returning, S.available, S.out_of_service}),
    S.out_of_service: frozenset({S.available}),
}
# The assignment's status and the incident's event for each unit status reached while on an assignment.
STAGE = {S.acknowledged: "acknowledged", S.en_route: "en_route", S.on_scene: "on_scene"}
INCIDENT_TIME = {"acknowledged": "acknowledged_at", "en_route": "en_route_at", "on_scene": "on_scene_at"}
FREE = (S.available, S.returning, S.out_of_service)
ACTIVE = "('assigned', 'acknowledged', 'en_route', 'on_scene')"


@dataclass(frozen=True)
class StatusChange:
    unit_id: int
    call_sign: str
    status: S
    previous: S
    incident_id: int | None  # the incident the change concerns, if the unit was on one
    requeue: tuple[int, int, int] | None  # (incident id, priority, received ms) when it lost this unit
    freed: bool  # the unit can take a call now


# Locks the unit's incident, then the unit, in one statement: the one-time filter on `incident` runs before
# the first unit row is read, so the incident is locked first, in the order every other writer takes them
# (the matcher's dispatch, a dispatcher's close or cancel): a unit reporting while its incident is closed
# must not deadlock with the close.
_LOCK, _LOCK_NAMES = positional(f"""
    WITH incident AS (
        SELECT id FROM incidents WHERE id = (SELECT incident_id FROM assignments
                                             WHERE unit_id = :id AND status IN {ACTIVE} LIMIT 1)
        FOR UPDATE)
    SELECT u.call_sign, u.status::text, a.id, a.incident_id, a.status::text
    FROM units u LEFT JOIN assignments a ON a.unit_id = u.id AND a.status IN {ACTIVE}
    WHERE u.id = :id AND (SELECT count(*) FROM incident) >= 0
    FOR UPDATE OF u""")


@lru_cache(maxsize=64)
def _write_sql(parts: tuple[str, ...], final: str) -> tuple[str, tuple[str, ...]]:
    return positional("WITH " + ",\n".join(parts) + "\n" + final)


async def change_status(session: AsyncSession, *, unit_id: int, status: S, actor: str, by_dispatcher: bool,
                        lat: float | None = None, lon: float | None = None) -> StatusChange:
    """Two statements in one transaction, on the session's driver connection (a status report is the
    most frequent write there is: four or more for every unit sent): lock the unit's incident and then the
    unit, reading it; then write everything the change means (unit, assignment, incident, event) in one."""
    conn = await driver_connection(session)
    async with conn.transaction():
        row = await conn.fetchrow(_LOCK, *(unit_id for _ in _LOCK_NAMES))
        if row is None:
            raise NotFound(f"no unit {unit_id}")
        call_sign, previous, assignment_id, incident_id, assignment_status = row
        previous = S(previous)
        if status == S.dispatched:
            raise Conflict("a unit is dispatched by an assignment (POST /api/incidents/{id}/assign), not by its "
                           "status")
        if status == previous and lat is None:
            return StatusChange(unit_id, call_sign, status, previous, incident_id, None, status in FREE)  # a repeat
        if not by_dispatcher and status != previous and status not in NEXT[previous]:
            allowed = ", ".join(sorted(s.value for s in NEXT[previous]))
            raise Conflict(f"{call_sign} is {previous.value}: it can report {allowed}, not {status.value}")
        params = {"id": unit_id, "status": status.value, "lat": lat, "lon": lon, "a": assignment_id,
                  "i": incident_id, "actor": actor}
        parts = [_UNIT]
        if assignment_id is not None:
            parts += _assignment_parts(status, assignment_status, params)
        requeues = parts[-1].startswith("requeue AS")
        sql, names = _write_sql(tuple(parts), "SELECT id, priority, received_ms FROM requeue WHERE open"
                                if requeues else "SELECT 1")
        back = await conn.fetchrow(sql, *(params[n] for n in names))
    requeue = (int(back[0]), int(back[1]), int(back[2])) if requeues and back else None
    return StatusChange(unit_id, call_sign, status, previous, incident_id, requeue, status in FREE)


_UNIT = """u AS (
    UPDATE units SET status = CAST(:status AS unit_status), status_changed_at = now(),
           position = CASE WHEN CAST(:lat AS float8) IS NULL THEN position ELSE
                      ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)::geography END,
           position_at = CASE WHEN CAST(:lat AS float8) IS NULL THEN position_at ELSE now() END
    WHERE id = :id)"""
_EVENT = """e AS (
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    VALUES (:i, :kind, :actor, jsonb_build_object('unit_id', CAST(:id AS bigint))))"""
# The incident is cleared when no other unit is still on it and some unit was done there (this one, or one
# before it): the statement sees the assignments as they were, so this unit's own is left out by id.
_CLEARED = f"""cleared_at = CASE WHEN cleared_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM assignments WHERE incident_id = :i AND status IN {ACTIVE} AND id <> :a)
        AND (CAST(:done AS boolean) OR EXISTS (SELECT 1 FROM assignments WHERE incident_id = :i AND status = 'cleared'))
        THEN now() ELSE cleared_at END"""


def _assignment_parts(status: S, assignment_status: str, params: dict) -> list[str]:
    """The CTE parts that move the unit's assignment, its incident and the event log with its status."""
    if status in STAGE:
        stage = STAGE[status]
        column = INCIDENT_TIME[stage]
        params.update(stage=stage, kind=stage)
        # Times are the first time any unit got there; the status only moves forward (a unit sent later to
        # an incident already on scene does not turn it back to en route). The event replay does the same.
        forward = {"en_route": "('dispatched')", "on_scene": "('dispatched', 'en_route')"}.get(stage)
        moved = (f", status = CASE WHEN status IN {forward} THEN CAST(:stage AS text)::incident_status ELSE status END"
                 if forward else "")
        return [f"""a AS (UPDATE assignments SET status = CAST(:stage AS text)::assignment_status,
                            {column} = coalesce({column}, now()) WHERE id = :a)""",
                f"""i AS (UPDATE incidents SET {column} = coalesce({column}, now()){moved} WHERE id = :i)""",
                _EVENT]
    if status in (S.transporting, S.at_hospital):
        params.update(kind=status.value)
        return [_EVENT]
    # Free again (or out of service): the assignment ends. After the scene it is cleared; before, the unit
    # left the incident short of what its plan needs, and the incident must be matched again.
    if assignment_status == "on_scene":
        params.update(kind="cleared", done=True)
        return ["a AS (UPDATE assignments SET status = 'cleared', cleared_at = now() WHERE id = :a)",
                f"i AS (UPDATE incidents SET {_CLEARED} WHERE id = :i)", _EVENT]
    params.update(kind="unassigned", done=False)
    return ["a AS (UPDATE assignments SET status = 'cancelled', cancelled_at = now() WHERE id = :a)", _EVENT,
            f"""requeue AS (
    UPDATE incidents SET {_CLEARED},
           units_missing = units_missing
                           + CASE WHEN status IN ('pending', 'dispatched', 'en_route', 'on_scene') THEN 1 ELSE 0 END
    WHERE id = :i
    RETURNING id, priority, (extract(epoch FROM received_at) * 1000)::bigint AS received_ms,
              status IN ('pending', 'dispatched', 'en_route', 'on_scene') AS open)"""]


async def record_positions(session: AsyncSession, ids: list[int], lats: list[float], lons: list[float]) -> None:
    """Many units' positions in one statement."""
    await session.execute(text("""
        UPDATE units u SET position = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)::geography, position_at = now()
        FROM unnest(CAST(:ids AS int[]), CAST(:lats AS float8[]), CAST(:lons AS float8[])) AS v(id, lat, lon)
        WHERE u.id = v.id"""), {"ids": ids, "lats": lats, "lons": lons})
