"""What the floor reads about incidents: the check before a call, an incident with its log, the open ones, the
types. Who read a caller's or a place's history is recorded, once per request, in the request's transaction."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.config import Settings
from dispatch.errors import NotFound
from dispatch.incidents import repository as repo
from dispatch.incidents import timeline
from dispatch.incidents.schemas import CallIn
from dispatch.incidents.service import incident_view, precheck
from dispatch.incidents.types import IncidentTypes
from geo.geocoder import Geocoder

Log = list[dict[str, Any]]  # an incident's event log, each event with its text (timeline.events)


def _history_detail(view: dict[str, Any]) -> dict[str, Any]:
    history = view["history"]
    return {"caller_calls": history["caller_calls"], "premise_incidents": history["premise_incidents"]}


async def check_call(
    session: AsyncSession, *, call: CallIn, by: Actor, geocoder: Geocoder, types: IncidentTypes, settings: Settings
) -> dict[str, Any]:
    """precheck, and the record of whose history it showed: the caller's (the number names the record, and is
    what the caller may ask about), else the place's."""
    found = await precheck(session, call=call, geocoder=geocoder, types=types, settings=settings)
    where, detail = found["location"], _history_detail(found)
    if call.caller_number:
        await audit.record_read(
            session,
            actor=by,
            action="caller_history.read",
            object_type="caller",
            object_id=call.caller_number,
            detail=detail,
        )
    elif where["lat"] is not None:
        place = where["label"] or f"{where['lat']:.5f},{where['lon']:.5f}"
        await audit.record_read(
            session, actor=by, action="premise_history.read", object_type="premise", object_id=place, detail=detail
        )
    return found


async def incident_detail(
    session: AsyncSession,
    incident_id: int,
    *,
    by: Actor,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> dict[str, Any]:
    """The incident view with its calls and event log. It shows the callers (every call's, and the log names
    them), the first caller's history and the premise's: one record for the request, naming the calls shown."""
    view = await incident_view(session, incident_id, geocoder=geocoder, types=types, settings=settings)
    view["calls"] = await repo.calls(session, incident_id)
    view["events"] = await timeline.events(session, incident_id, types)
    await audit.record_read(
        session,
        actor=by,
        action="incident.read",
        object_type="incident",
        object_id=incident_id,
        detail={**_history_detail(view), "calls": [c["id"] for c in view["calls"]]},
    )
    return view


async def incident_events(session: AsyncSession, incident_id: int, types: IncidentTypes, *, by: Actor) -> Log:
    """The log alone. When it names further callers, its read is recorded as the incident view's is."""
    if await repo.incident_row(session, incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    log = await timeline.events(session, incident_id, types)
    if callers := timeline.names_callers(log):
        await audit.record_read(
            session,
            actor=by,
            action="incident_log.read",
            object_type="incident",
            object_id=incident_id,
            detail={"calls": callers},
        )
    return log


def type_table(types: IncidentTypes) -> list[dict[str, Any]]:
    return [
        {
            "code": t.code,
            "name": t.name,
            "priority": t.priority,
            "group": t.group,
            "plan": t.plan_dict(),
            "public": t.public,
            "on_scene_min": t.on_scene_min,
            "transport": t.transport,
            "questions": list(t.questions),
            "names": dict(t.names),
        }
        for t in types
    ]


def classify(types: IncidentTypes, narrative: str) -> dict[str, Any]:
    """What intake's keyword typing (service.resolve_type without a code) makes of a narrative, and why."""
    ranked = types.rank(narrative)
    suggested = types.suggest(narrative)
    kind, confidence = suggested if suggested else (types.unknown, 0.0)
    return {
        "type_code": kind.code,
        "name": kind.name,
        "priority": kind.priority,
        "plan": kind.plan_dict(),
        "confidence": confidence,
        "matched": list(ranked[0].matched) if ranked else [],
    }
