"""A stand-down (close, cancel, merge) clears an incident some unit was done at, even when no unit is left on
it to end: the rule the stand-down had before it went through end_assignment, and what the event log says."""

from datetime import UTC, datetime

from sqlalchemy import text

from dispatch.audit.service import Actor
from dispatch.incidents import lifecycle
from dispatch.matching.core import Pick, Slot
from dispatch.matching.service import write_dispatch
from dispatch.units.models import UnitStatus as S
from dispatch.units.service import change_status
from tests.builders import make_assignment, make_incident, make_unit

CREW = {"actor": "unit:test", "by_dispatcher": False}


async def cleared_at(session, incident: int):
    return await session.scalar(text("SELECT cleared_at FROM incidents WHERE id = :i"), {"i": incident})


async def test_closing_an_incident_whose_last_unit_was_diverted_sets_cleared_at(session):
    now = datetime.now(UTC)
    # Incident X: unit A on scene, unit B still on its way.
    x = await make_incident(
        session,
        received_at=now,
        priority=3,
        status="on_scene",
        type_code="FIRE-OTHER",
        dispatched_at=now,
        on_scene_at=now,
    )
    a, b = await make_unit(session), await make_unit(session)
    await session.execute(text("UPDATE units SET status = 'on_scene' WHERE id = :u"), {"u": a})
    await session.execute(text("UPDATE units SET status = 'en_route' WHERE id = :u"), {"u": b})
    await make_assignment(session, incident_id=x, unit_id=a, slot="engine", assigned_at=now, status="on_scene")
    await make_assignment(session, incident_id=x, unit_id=b, slot="engine", assigned_at=now, status="en_route")
    # A is done at the scene; B is still on X, so X is not cleared yet.
    await change_status(session, unit_id=a, status=S.available, **CREW)
    assert await cleared_at(session, x) is None
    # B is diverted to a priority-1 call: no unit is left on X, one was done there.
    y = await make_incident(session, received_at=now, priority=1, status="pending", type_code="FIRE-OTHER")
    await write_dispatch(
        session,
        incident_id=y,
        picks=[Pick("engine", b, "B", 60.0, 500.0, "diverted", x)],
        plan=(Slot("engine", 1),),
        actor="matcher:t",
        mode="auto",
    )
    # Diverting X's last unit clears X (one unit was done there, none is left), as the event log replays it.
    diverted_at = await cleared_at(session, x)
    assert diverted_at is not None
    await session.execute(text("UPDATE incidents SET cleared_at = NULL WHERE id = :i"), {"i": x})
    # The dispatcher closes X. The stand-down has no active assignment to end, but X is over and some unit
    # was done at it: before end_assignment, the stand-down set cleared_at here (coalesce(cleared_at, now())).
    await lifecycle.close(session, x, disposition="resolved", note=None, actor="dispatcher:t", by=Actor.system("test"))
    assert await cleared_at(session, x) is not None
