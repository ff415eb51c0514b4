"""What a unit's crew may read about an incident: only one it is (or was today) assigned to, and of the caller
only what the crew needs to reach them (name and callback number), of the place only its flags. Never the
caller's or the premise's history: that is the floor's."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.config import Settings
from dispatch.errors import Forbidden
from dispatch.incidents.service import incident_view
from dispatch.incidents.types import IncidentTypes
from dispatch.push import team
from dispatch.statuses import ACTIVE_ASSIGNMENT, sql_in
from geo.geocoder import Geocoder


def day_start(time_zone: str, *, days_ago: int = 0, now: datetime | None = None) -> datetime:
    """Local midnight `days_ago` days before today, as an aware time (the report time zone's day, not UTC's)."""
    zone = ZoneInfo(time_zone)
    today = (now or datetime.now(zone)).astimezone(zone).date() - timedelta(days=days_ago)
    return datetime(today.year, today.month, today.day, tzinfo=zone)


async def crew_may_read(session: AsyncSession, *, unit_id: int, incident_id: int, since: datetime) -> bool:
    """The unit has an assignment on the incident now, or had one since `since`."""
    found = await session.scalar(
        text(f"""
        SELECT EXISTS (SELECT 1 FROM assignments
                       WHERE unit_id = :u AND incident_id = :i
                         AND (status IN {sql_in(ACTIVE_ASSIGNMENT)} OR assigned_at >= :since))"""),
        {"u": unit_id, "i": incident_id, "since": since},
    )
    return bool(found)


async def crew_incident(
    session: AsyncSession,
    incident_id: int,
    *,
    unit_id: int | None,
    by: Actor,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> dict[str, Any]:
    """The incident as the crew's device shows it (CrewIncidentOut); 403 for one the unit was not sent to."""
    # The same days as the crew's list of its jobs (units/crew.py): each job listed opens.
    since = day_start(settings.report_time_zone, days_ago=1)
    if unit_id is None or not await crew_may_read(session, unit_id=unit_id, incident_id=incident_id, since=since):
        raise Forbidden(f"incident {incident_id} is not one this unit is or was assigned to today or yesterday")
    view = await incident_view(session, incident_id, geocoder=geocoder, types=types, settings=settings)
    caller = view["caller"]
    crew = {
        "id": incident_id,
        "status": view["status"],
        "type_code": view["type_code"],
        "type_name": view["type_name"],
        "priority": view["priority"],
        "location": view["location"],
        "narrative": view["narrative"],
        "received_at": view["received_at"],
        "caller": {"caller_name": caller["caller_name"], "callback_number": caller["callback_number"]},
        "premise_flags": [
            {"category": f["category"], "description": f["description"]} for f in view["history"]["flags"]
        ],
        "notes": await team.notes(session, incident_id),
        "answers": view["answers"],  # what the caller said to the type's key questions
        "disposition": view["disposition"],
    }
    # The caller's name and number are personal data: who read them is recorded, as for the floor's read.
    await audit.record_read(
        session,
        actor=by,
        action="incident.read",
        object_type="incident",
        object_id=incident_id,
        detail={
            "unit_id": unit_id,
            "caller": caller["caller_name"] is not None or caller["callback_number"] is not None,
        },
    )
    return crew
