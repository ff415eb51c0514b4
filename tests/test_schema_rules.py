"""Rules the database itself enforces, whatever code writes to it."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from dispatch.incidents.models import Assignment, GeocodeMatch, Incident, IncidentEvent
from dispatch.units.models import Unit, UnitKind


async def _incident(session) -> Incident:
    incident = Incident(type_code="TEST", priority=2, geocode_match=GeocodeMatch.none, received_at=datetime.now(UTC))
    session.add(incident)
    await session.flush()
    return incident


async def test_incident_events_are_append_only(session):
    incident = await _incident(session)
    session.add(IncidentEvent(incident_id=incident.id, kind="created", actor="test", payload={"a": 1}))
    await session.flush()
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(update(IncidentEvent).values(kind="edited"))
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("DELETE FROM incident_events"))
    kinds = await session.scalars(select(IncidentEvent.kind).where(IncidentEvent.incident_id == incident.id))
    assert kinds.all() == ["created"]


async def test_a_unit_has_at_most_one_active_assignment(session):
    unit = Unit(call_sign="Test 1", kind=UnitKind.patrol, capabilities=["police"])
    session.add(unit)
    first, second = await _incident(session), await _incident(session)
    session.add(Assignment(incident_id=first.id, unit_id=unit.id, slot="police"))
    await session.flush()
    with pytest.raises(IntegrityError, match="uq_assignments_active_unit"):
        async with session.begin_nested():
            session.add(Assignment(incident_id=second.id, unit_id=unit.id, slot="police"))
            await session.flush()
    # Once the first is cleared, the unit can be assigned again.
    await session.execute(
        update(Assignment)
        .where(Assignment.incident_id == first.id)
        .values(status="cleared", cleared_at=datetime.now(UTC))
    )
    session.add(Assignment(incident_id=second.id, unit_id=unit.id, slot="police"))
    await session.flush()
    assert await session.scalar(select(Assignment.status).where(Assignment.incident_id == second.id)) == "assigned"
