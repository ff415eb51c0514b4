"""A unit's status report (the server-side `unit_report`), on PostgreSQL: what each status does to the unit,
its assignment, the incident and the event log, and what it refuses."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from dispatch.errors import Conflict, NotFound
from dispatch.units.models import UnitStatus as S
from dispatch.units.service import change_status
from tests.builders import make_assignment, make_incident, make_unit

CREW, DISPATCHER = {"actor": "unit:test", "by_dispatcher": False}, {"actor": "dispatcher:test", "by_dispatcher": True}


async def dispatched(session, units: int = 1) -> tuple[int, list[int]]:
    """An incident with `units` units dispatched to it, none acknowledged yet."""
    now = datetime.now(UTC)
    incident = await make_incident(session, received_at=now, status="dispatched", dispatched_at=now)
    ids = []
    for _ in range(units):
        unit = await make_unit(session)
        await session.execute(text("UPDATE units SET status = 'dispatched' WHERE id = :u"), {"u": unit})
        await make_assignment(
            session, incident_id=incident, unit_id=unit, slot="engine", assigned_at=now, status="assigned"
        )
        ids.append(unit)
    return incident, ids


async def facts(session, incident: int, unit: int) -> dict:
    row = (
        (
            await session.execute(
                text("""
        SELECT i.status::text AS incident, i.acknowledged_at, i.en_route_at, i.on_scene_at, i.cleared_at,
               i.units_missing, u.status::text AS unit, ST_Y(u.position::geometry) AS lat,
               (SELECT status::text FROM assignments WHERE unit_id = u.id AND incident_id = i.id) AS assignment,
               (SELECT array_agg(kind ORDER BY id) FROM incident_events WHERE incident_id = i.id) AS events
        FROM incidents i, units u WHERE i.id = :i AND u.id = :u"""),
                {"i": incident, "u": unit},
            )
        )
        .mappings()
        .one()
    )
    return dict(row)


async def test_a_crew_takes_its_incident_from_acknowledged_to_cleared(session):
    incident, (unit,) = await dispatched(session)
    steps = [S.acknowledged, S.en_route, S.on_scene, S.transporting, S.at_hospital, S.available]
    changes = [await change_status(session, unit_id=unit, status=s, **CREW) for s in steps]
    assert [c.previous for c in changes] == [S.dispatched, *steps[:-1]]
    assert all(c.incident_id == incident and c.requeue is None for c in changes)
    assert [c.freed for c in changes] == [False] * 5 + [True]
    got = await facts(session, incident, unit)
    assert got["events"] == ["acknowledged", "en_route", "on_scene", "transporting", "at_hospital", "cleared"]
    assert (got["incident"], got["unit"], got["assignment"], got["units_missing"]) == (
        "on_scene",
        "available",
        "cleared",
        0,
    )
    assert all(got[c] is not None for c in ("acknowledged_at", "en_route_at", "on_scene_at", "cleared_at"))


async def test_a_unit_that_leaves_before_the_scene_leaves_a_gap_to_fill_again(session):
    incident, (leaver, stayer) = await dispatched(session, units=2)
    await change_status(session, unit_id=stayer, status=S.en_route, **CREW)
    change = await change_status(session, unit_id=leaver, status=S.out_of_service, **CREW)
    assert change.requeue is not None and change.requeue[:2] == (incident, 1) and change.freed
    got = await facts(session, incident, leaver)
    assert (got["assignment"], got["units_missing"], got["cleared_at"]) == ("cancelled", 1, None)
    assert got["events"] == ["en_route", "unassigned"] and got["incident"] == "en_route"
    await change_status(session, unit_id=stayer, status=S.on_scene, **CREW)
    await change_status(session, unit_id=stayer, status=S.returning, **CREW)  # the last one done: cleared
    assert (await facts(session, incident, stayer))["cleared_at"] is not None


async def test_what_a_report_refuses_and_what_it_does_not_repeat(session):
    incident, (unit,) = await dispatched(session)
    with pytest.raises(Conflict, match="is dispatched: it can report acknowledged, en_route, on_scene"):
        await change_status(session, unit_id=unit, status=S.at_hospital, **CREW)
    with pytest.raises(Conflict, match="dispatched by an assignment"):
        await change_status(session, unit_id=unit, status=S.dispatched, **DISPATCHER)
    with pytest.raises(NotFound, match="no unit 987654"):
        await change_status(session, unit_id=987654, status=S.available, **CREW)
    await change_status(session, unit_id=unit, status=S.en_route, **CREW)
    again = await change_status(session, unit_id=unit, status=S.en_route, **CREW)  # a resend: nothing written
    assert again.previous == S.en_route and (await facts(session, incident, unit))["events"] == ["en_route"]
    # A dispatcher corrects what the field got wrong, out of order, and a position comes with a status.
    await change_status(session, unit_id=unit, status=S.at_hospital, lat=47.14, lon=9.52, **DISPATCHER)
    got = await facts(session, incident, unit)
    assert (got["unit"], got["lat"], got["events"]) == (
        "at_hospital",
        pytest.approx(47.14),
        ["en_route", "at_hospital"],
    )
