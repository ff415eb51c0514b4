"""Recording a dispatch (the server-side `dispatch_write`), on PostgreSQL: what it writes, and each reason it
refuses with nothing written."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from dispatch.errors import Conflict
from dispatch.matching.core import Pick, Slot
from dispatch.matching.service import write_dispatch
from tests.builders import make_assignment, make_incident, make_unit

PLAN = (Slot("engine", 1),)


def pick(unit_id: int, capability: str = "engine", diverted_from: int | None = None) -> Pick:
    return Pick(capability, unit_id, f"U{unit_id}", 120.0, 900.0, "nearest", diverted_from)


async def pending(session, priority: int = 1) -> int:
    return await make_incident(
        session, received_at=datetime.now(UTC), priority=priority, status="pending", type_code="FIRE-OTHER"
    )


async def refused(session, incident: int, unit: int) -> None:
    """A write that must fail, in a savepoint: outside a test's transaction the failed statement alone is
    undone; inside one, the savepoint stands in for that."""
    async with session.begin_nested():
        await write_dispatch(session, incident_id=incident, picks=[pick(unit)], plan=PLAN, actor="m", mode="auto")


async def count(session, sql: str, **params) -> int:
    return await session.scalar(text(sql), params)


async def test_a_dispatch_writes_assignment_unit_incident_and_event_and_tells_the_brief(session):
    incident, unit = await pending(session), await make_unit(session)
    done = await write_dispatch(
        session, incident_id=incident, picks=[pick(unit)], plan=PLAN, actor="matcher:t", mode="auto"
    )
    assert [(a["unit_id"], a["slot"]) for a in done.assignments] == [(unit, "engine")]
    assert done.units_missing == 0 and done.diverted_from == []
    assert done.about["incident_id"] == incident and done.about["incident_type"] == "FIRE-OTHER"
    row = (
        await session.execute(
            text("SELECT status::text, dispatched_at IS NOT NULL, units_missing FROM incidents WHERE id = :i"),
            {"i": incident},
        )
    ).one()
    assert tuple(row) == ("dispatched", True, 0)
    assert await count(session, "SELECT count(*) FROM units WHERE id = :u AND status = 'dispatched'", u=unit) == 1
    assert (
        await count(
            session,
            "SELECT count(*) FROM incident_events WHERE incident_id = :i AND kind = 'dispatched' "
            "AND (payload->>'unit_id')::bigint = :u",
            i=incident,
            u=unit,
        )
        == 1
    )
    # A dispatcher may send more than the plan wants ("extra"), but not a second unit into a filled slot.
    extra, late = await make_unit(session), await make_unit(session)
    more = await write_dispatch(
        session, incident_id=incident, picks=[pick(extra, "extra")], plan=PLAN, actor="dispatcher:t", mode="manual"
    )
    assert more.units_missing == 0 and len(more.assignments) == 1
    with pytest.raises(Conflict, match="engine slots were filled meanwhile"):
        await write_dispatch(session, incident_id=incident, picks=[pick(late)], plan=PLAN, actor="m", mode="auto")
    assert await count(session, "SELECT count(*) FROM assignments WHERE unit_id = :u", u=late) == 0


async def test_what_a_dispatch_refuses_leaves_nothing_written(session):
    incident, busy, behind, free = (
        await pending(session),
        await make_unit(session),
        await make_unit(session),
        await make_unit(session),
    )
    other = await pending(session, priority=3)
    await make_assignment(
        session, incident_id=other, unit_id=busy, slot="engine", assigned_at=datetime.now(UTC), status="en_route"
    )
    await session.execute(text("UPDATE units SET status = 'on_scene' WHERE id = :u"), {"u": behind})
    before = await count(session, "SELECT count(*) FROM assignments")
    with pytest.raises(Conflict, match="assigned elsewhere"):  # the unique index on active assignments
        await refused(session, incident, busy)
    with pytest.raises(Conflict, match="not free"):  # the board thought it free; PostgreSQL does not
        await refused(session, incident, behind)
    await session.execute(
        text("UPDATE incidents SET status = 'closed', closed_at = now() WHERE id = :i"), {"i": incident}
    )
    with pytest.raises(Conflict, match="no longer open"):
        await refused(session, incident, free)
    with pytest.raises(Conflict, match="no longer open"):
        await refused(session, 987654321, free)
    assert await count(session, "SELECT count(*) FROM assignments") == before
    assert await count(session, "SELECT count(*) FROM incident_events WHERE incident_id = :i", i=incident) == 0


async def test_a_diverted_unit_leaves_its_old_incident_a_slot_short(session):
    urgent, minor, unit = (
        await pending(session, priority=1),
        await pending(session, priority=3),
        await make_unit(session),
    )
    await make_assignment(
        session, incident_id=minor, unit_id=unit, slot="engine", assigned_at=datetime.now(UTC), status="en_route"
    )
    await session.execute(text("UPDATE units SET status = 'en_route' WHERE id = :u"), {"u": unit})
    done = await write_dispatch(
        session, incident_id=urgent, picks=[pick(unit, diverted_from=minor)], plan=PLAN, actor="m", mode="auto"
    )
    assert [(d["id"], d["priority"]) for d in done.diverted_from] == [(minor, 3)]
    assert await count(session, "SELECT units_missing FROM incidents WHERE id = :i", i=minor) == 1
    assert (
        await count(
            session, "SELECT count(*) FROM assignments WHERE incident_id = :i AND status = 'cancelled'", i=minor
        )
        == 1
    )
    assert (
        await count(
            session, "SELECT count(*) FROM incident_events WHERE incident_id = :i AND kind = 'diverted'", i=minor
        )
        == 1
    )
