"""A unit's status and position: what its device or the dispatcher reports, and what that changes.

A status change moves the unit's active assignment along (acknowledged, en route, on scene, cleared) and
stamps the incident's interval times the first time any of its units gets there; the event log records it.
A unit that leaves before reaching the scene leaves a gap in the response plan: the incident is queued again.
"""

from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime

import orjson
from geoalchemy2.shape import to_shape
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from dispatch.db import driver_connection
from dispatch.errors import Conflict, NotFound
from dispatch.statuses import ACTIVE_ASSIGNMENT, OFF_INCIDENT_UNIT, AssignmentStatus, sql_in
from dispatch.statuses import UnitStatus as S
from dispatch.units.models import Station, Unit
from dispatch.units.schemas import StationOut, UnitOut

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
# What a crew reports only about an assignment: a device must name it (`assignment_id`), so that a report meant
# for an assignment the crew lost (a cancel it never got) is refused rather than applied to the unit's next one.
ABOUT_ASSIGNMENT = frozenset({S.acknowledged, S.en_route, S.on_scene, S.transporting, S.at_hospital})


@dataclass(frozen=True)
class StatusChange:
    unit_id: int
    call_sign: str
    status: S
    previous: S
    incident_id: int | None  # the incident the change concerns, if the unit was on one
    requeue: tuple[int, int, int] | None  # (incident id, priority, received ms) when it lost this unit
    freed: bool  # the unit can take a call now
    # The units on the incident after the change (dispatch.push.team.team's form), read by the same statement
    # when the status changed; None when it did not, or the unit is on no incident.
    team: list[dict] | None = None

    @property
    def ended_assignment(self) -> bool:
        """The change ended the unit's assignment (a free status from one on an incident)."""
        return self.incident_id is not None and self.freed and self.previous not in OFF_INCIDENT_UNIT


# The order as the server-side function reads it: {status: [the statuses a crew may report next]}.
_NEXT_JSON = orjson.dumps({k.value: sorted(v.value for v in vs) for k, vs in NEXT.items()}).decode()
_REPORT = "SELECT * FROM unit_report_team($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10)"


async def change_status(
    session: AsyncSession,
    *,
    unit_id: int,
    status: S,
    actor: str,
    by_dispatcher: bool,
    lat: float | None = None,
    lon: float | None = None,
    assignment_id: int | None = None,
    assignment_status: str | None = None,
    audit_actor: str | None = None,
    device_at: datetime | None = None,
) -> StatusChange:
    """One call of the server-side function `unit_report` (dispatch/units/sql/unit_report.sql, through
    unit_report_team, which adds the incident's team after a change) on the session's
    driver connection: a status report is the most frequent write there is (four or more for every unit sent),
    and as one statement it is one round trip and atomic. It locks the unit's incident and then the unit, checks the
    order of statuses (`NEXT`, for crews), and writes everything the change means: unit, assignment,
    incident times and status, the event, and the gap an early leaver leaves in the incident's plan.

    `assignment_id`: the assignment the report is about; refused (Conflict, nothing written) unless it is still
    the unit's active assignment (and, with `assignment_status`, in that status), checked under the locks.
    `audit_actor` (dispatch.audit.service.who): a status set by hand, audited by the same statement.
    `device_at`: when the crew pressed it, by its device's clock (a status queued offline), kept in the event."""
    if status == S.dispatched:
        raise Conflict("a unit is dispatched by an assignment (POST /api/incidents/{id}/assign), not by its status")
    conn = await driver_connection(session)
    row = await conn.fetchrow(
        _REPORT,
        unit_id,
        status.value,
        actor,
        lat,
        lon,
        None if by_dispatcher else _NEXT_JSON,
        assignment_id,
        assignment_status,
        audit_actor,
        device_at,
    )
    outcome, call_sign, previous, incident_id, requeue_id, requeue_priority, requeue_ms, members = row
    if outcome == "not_found":
        raise NotFound(f"no unit {unit_id}")
    previous = S(previous)
    if outcome == "stale":
        now = f"incident {incident_id}" if incident_id is not None else "no incident"
        wanted = f" {assignment_status}" if assignment_status else ""
        raise Conflict(
            f"assignment {assignment_id} is not {call_sign}'s active{wanted} assignment "
            f"({call_sign} is {previous.value}, on {now}): nothing recorded"
        )
    if outcome == "refused":
        allowed = ", ".join(sorted(s.value for s in NEXT[previous]))
        raise Conflict(f"{call_sign} is {previous.value}: it can report {allowed}, not {status.value}")
    requeue = (int(requeue_id), int(requeue_priority), int(requeue_ms)) if requeue_id is not None else None
    members = orjson.loads(members) if isinstance(members, str) else members
    return StatusChange(
        unit_id, call_sign, status, previous, incident_id, requeue, status in OFF_INCIDENT_UNIT, members
    )


async def job_before_scene(session: AsyncSession, unit_id: int) -> int | None:
    """The incident of the unit's active assignment if the unit has not reached its scene yet (a unit freed
    then is taken off its job, not done with it), else None."""
    found = await session.scalar(
        text(f"""SELECT incident_id FROM assignments
                 WHERE unit_id = :u AND status IN {sql_in(ACTIVE_ASSIGNMENT - {AssignmentStatus.on_scene})}"""),
        {"u": unit_id},
    )
    return None if found is None else int(found)


async def record_positions(session: AsyncSession, ids: list[int], lats: list[float], lons: list[float]) -> None:
    """Many units' positions in one statement."""
    await session.execute(
        text("""
        UPDATE units u SET position = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)::geography, position_at = now()
        FROM unnest(CAST(:ids AS int[]), CAST(:lats AS float8[]), CAST(:lons AS float8[])) AS v(id, lat, lon)
        WHERE u.id = v.id"""),
        {"ids": ids, "lats": lats, "lons": lons},
    )


async def stations(session: AsyncSession) -> list[StationOut]:
    rows = (await session.scalars(select(Station).order_by(Station.kind, Station.name))).all()
    out = []
    for s in rows:
        point = to_shape(s.location)
        out.append(StationOut(id=s.id, kind=s.kind, name=s.name, municipality=s.municipality, lat=point.y, lon=point.x))
    return out


async def units(session: AsyncSession, silent: Set[int] = frozenset()) -> list[UnitOut]:
    rows = (
        await session.scalars(select(Unit).options(selectinload(Unit.home_station)).order_by(Unit.kind, Unit.id))
    ).all()
    out = []
    for u in rows:
        point = to_shape(u.position) if u.position is not None else None
        out.append(
            UnitOut(
                id=u.id,
                call_sign=u.call_sign,
                kind=u.kind,
                capabilities=u.capabilities,
                status=u.status,
                home_station=u.home_station.name if u.home_station else None,
                lat=point.y if point else None,
                lon=point.x if point else None,
                status_changed_at=u.status_changed_at,
                silent=u.id in silent,
            )
        )
    return out


async def incident_point(session: AsyncSession, incident_id: int) -> tuple[float, float] | None:
    """(lat, lon) of an incident, None when it has no location (or no longer exists)."""
    row = (
        await session.execute(
            text("SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM incidents WHERE id = :id"),
            {"id": incident_id},
        )
    ).first()
    return None if row is None or row[0] is None else (row[0], row[1])
