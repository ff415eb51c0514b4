"""Intake: a call becomes one located, typed incident with what the call-taker must know. Services flush,
never commit; the route commits and only then touches the queue."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.config import Settings
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.groupcommit import GroupWriter
from dispatch.incidents import repository as repo
from dispatch.incidents.events import EventKind
from dispatch.incidents.locate import Located, locate
from dispatch.incidents.schemas import CallIn
from dispatch.incidents.types import IncidentType, IncidentTypes
from dispatch.statuses import OPEN_INCIDENT
from geo.geocoder import Geocoder


@dataclass
class Intake:
    view: dict[str, Any]
    incident_id: int
    priority: int
    received_at: datetime
    queue: bool  # True when the incident is to be queued for dispatch (after the commit)
    replayed: bool = False  # an idempotent retry: nothing new was written


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def resolve_type(types: IncidentTypes, code: str | None, narrative: str | None) -> tuple[IncidentType, bool]:
    """The type the call-taker chose, else the one the narrative suggests, else UNKNOWN. (type, suggested)."""
    if code:
        found = types.get(code)
        if found is None:
            raise InvalidInput(f"unknown incident type '{code}'", extra={"known": sorted(types.codes())})
        return found, False
    suggested = types.suggest(narrative or "")
    return (suggested[0] if suggested else types.unknown), True


def compatible_codes(types: IncidentTypes, kind: IncidentType) -> list[str]:
    return [t.code for t in types if t.group == kind.group or t.code == "UNKNOWN" or kind.code == "UNKNOWN"]


def history_view(ctx: dict[str, Any], settings: Settings) -> dict[str, Any]:
    premise = ctx["premise"]
    return {
        "caller_calls": ctx["caller_calls"],
        "caller_last": ctx["caller_last"],
        "premise_incidents": premise["count"],
        "premise_by_type": premise["by_type"],
        "premise_last": premise["last"],
        "repeat_address": premise["in_window"] >= settings.repeat_address_count,
        "flags": ctx["flags"],
        "history_months": settings.history_months,  # how far back the counts and lists look
    }


def duplicates_view(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    for d in ctx["near"] + ctx["same_number"]:
        if d["id"] not in seen:
            seen.add(d["id"])
            out.append(d)
    return out


def build_view(
    *,
    incident_id: int,
    call_id: int,
    status: str,
    kind: IncidentType,
    suggested: bool,
    priority: int,
    located: Located,
    narrative: str | None,
    received_at: datetime,
    ctx: dict[str, Any],
    settings: Settings,
    attached_to: int | None = None,
    exercise: bool = False,
) -> dict[str, Any]:
    return {
        "id": incident_id,
        "call_id": call_id,
        "status": status,
        "type_code": kind.code,
        "type_name": kind.name,
        "type_suggested": suggested,
        "priority": priority,
        "response_plan": [{"capability": s.capability, "count": s.count} for s in kind.plan],
        "location": {
            **located.view(),
            "in_service_area": located.in_service_area,
            "candidates": located.candidates,
        },
        "narrative": narrative,
        "received_at": received_at,
        "duplicates": duplicates_view(ctx),
        "history": history_view(ctx, settings),
        "attached_to": attached_to,
        "exercise": exercise,
    }


def context_params(settings: Settings) -> dict[str, Any]:
    return {
        "radius_m": settings.duplicate_radius_m,
        "window_min": settings.duplicate_window_min,
        "premise_m": settings.premise_radius_m,
        "history_months": settings.history_months,
        "repeat_days": settings.repeat_address_days,
    }


async def take_call(
    session: AsyncSession,
    *,
    call: CallIn,
    actor: str,
    by: Actor,
    user_id: int | None,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
    idempotency_key: str | None = None,
    body_hash: str | None = None,
    status: str = "pending",
    writer: GroupWriter | None = None,
) -> Intake:
    now = datetime.now(UTC)
    kind, suggested = resolve_type(types, call.type_code, call.narrative)
    priority = call.priority or kind.priority
    located = locate(geocoder, text=call.location_text, lat=call.lat, lon=call.lon)
    call_values = {
        "channel": call.channel.value,
        "caller_name": call.caller_name,
        "caller_number": call.caller_number,
        "callback_number": call.callback_number or call.caller_number,
        "location_text": call.location_text,
        "narrative": call.narrative,
        "received_at": now,
        "idempotency_key": idempotency_key,
        "request_hash": body_hash,
        "taken_by": user_id,
        "actor": actor,
    }
    answers = [a.model_dump() for a in call.answers]
    if call.duplicate_of:
        if idempotency_key and (
            earlier := await _replay(session, idempotency_key, body_hash, geocoder, types, settings)
        ):
            return earlier
        intake = await _attach(
            session, call.duplicate_of, call.exercise, call_values, answers, located, geocoder, types, settings
        )
        after = {"call_id": intake.view["call_id"], "channel": call.channel.value}
        await audit.record(
            session,
            actor=by,
            action="incident.call_added",
            object_type="incident",
            object_id=intake.incident_id,
            after=after,
        )
        return intake
    received = {
        "type_code": kind.code,
        "priority": priority,
        "status": status,
        "narrative": call.narrative,
        "channel": call.channel.value,
        **({"exercise": True} if call.exercise else {}),
        "type_suggested": suggested,
        "received_at": now.isoformat(),
        **located.event_payload(),
        **({"answers": answers} if answers else {}),
    }
    events = [{"kind": EventKind.received.value, "payload": orjson.dumps(received).decode()}]
    if status == "pending":
        events.append({"kind": EventKind.queued.value, "payload": "{}"})
    first = {"type_code": kind.code, "priority": priority, "status": status, "channel": call.channel.value}
    audited = audit.params(actor=by, action="incident.intake", object_type="incident", after=first)
    taken = await repo.take_call(
        session,
        {
            **call_values,
            **context_params(settings),
            "type_code": kind.code,
            "priority": priority,
            "status": status,
            "lat": located.lat,
            "lon": located.lon,
            "address_label": located.label,
            "municipality": located.municipality,
            "geocode_match": located.match,
            "geocode_confidence": located.confidence,
            "needs_location": located.needs_location,
            "exercise": call.exercise,
            "answers": orjson.dumps(answers).decode(),
            "reported_lat": call.lat,
            "reported_lon": call.lon,
            "events": events,
            "now": now,
            "number": call.caller_number,
            "compatible": compatible_codes(types, kind),
            # Its audit record is written by the same statement (the call's id added there).
            **{f"audit_{k}": v for k, v in audited.items()},
        },
        writer,
    )
    if isinstance(taken, repo.Prior):  # the Idempotency-Key was used before: answer what that call made
        return await _answer_replay(
            session, taken.incident_id, taken.request_hash, body_hash, geocoder, types, settings
        )
    view = build_view(
        incident_id=taken.incident_id,
        call_id=taken.call_id,
        status=status,
        kind=kind,
        suggested=suggested,
        priority=priority,
        located=located,
        narrative=call.narrative,
        received_at=now,
        ctx=taken.context,
        settings=settings,
        exercise=call.exercise,
    )
    return Intake(view, taken.incident_id, priority, now, queue=status == "pending")


async def _replay(
    session: AsyncSession,
    key: str,
    body_hash: str | None,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> Intake | None:
    earlier = await repo.find_call_by_key(session, key)
    if earlier is None:
        return None
    return await _answer_replay(session, earlier[1], earlier[2], body_hash, geocoder, types, settings)


async def _answer_replay(
    session: AsyncSession,
    incident_id: int,
    earlier_hash: str | None,
    body_hash: str | None,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> Intake:
    if body_hash and earlier_hash and earlier_hash != body_hash:
        raise Conflict("this Idempotency-Key was used for a different request")
    view = await incident_view(session, incident_id, geocoder=geocoder, types=types, settings=settings)
    return Intake(view, incident_id, view["priority"], view["received_at"], queue=False, replayed=True)


async def _attach(
    session: AsyncSession,
    incident_id: int,
    exercise: bool,
    call_values: dict[str, Any],
    answers: list[dict[str, str]],
    located: Located,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> Intake:
    """A confirmed duplicate: the call joins the open incident; nothing new is dispatched."""
    row = await repo.incident_row(session, incident_id, lock=True)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row["status"] not in OPEN_INCIDENT:
        raise Conflict(f"incident {incident_id} is {row['status']}: a new call cannot join it")
    if row["exercise"] != exercise:  # a drill's call never joins a real incident, nor the reverse
        raise Conflict(
            f"incident {incident_id} is {'an exercise' if row['exercise'] else 'a real incident'}: "
            f"{'an exercise' if exercise else 'a real'} call cannot join it"
        )
    call_id = await repo.attach_call(session, incident_id=incident_id, **call_values)
    if answers:
        await repo.add_answers(session, incident_id, answers)
    view = await incident_view(session, incident_id, geocoder=geocoder, types=types, settings=settings)
    view.update(call_id=call_id, attached_to=incident_id)
    return Intake(view, incident_id, view["priority"], view["received_at"], queue=False)


async def incident_view(
    session: AsyncSession, incident_id: int, *, geocoder: Geocoder, types: IncidentTypes, settings: Settings
) -> dict[str, Any]:
    row = await repo.incident_row(session, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    call = await repo.first_call(session, incident_id) or {}
    kind = types.get(row["type_code"]) or types.unknown
    ctx = await repo.context(
        session,
        lat=row["lat"],
        lon=row["lon"],
        number=call.get("caller_number"),
        compatible=compatible_codes(types, kind),
        now=datetime.now(UTC),
        exclude=incident_id,
        exercise=row["exercise"],
        **context_params(settings),
    )
    located = Located(
        row["lat"],
        row["lon"],
        row["address_label"],
        row["municipality"],
        row["geocode_match"],
        row["geocode_confidence"],
        row["needs_location"],
        geocoder.in_service_area(row["lat"], row["lon"]) if row["lat"] is not None else None,
    )
    view = build_view(
        incident_id=incident_id,
        call_id=call.get("id", 0),
        status=row["status"],
        kind=kind,
        suggested=False,
        priority=row["priority"],
        located=located,
        narrative=row["narrative"],
        received_at=row["received_at"],
        ctx=ctx,
        settings=settings,
        exercise=row["exercise"],
    )
    view["caller"] = {k: call.get(k) for k in ("caller_name", "caller_number", "callback_number", "channel")}
    view["disposition"] = row["disposition"]
    view["duplicate_of"] = row["duplicate_of_id"]
    view["answers"] = row["answers"]
    return view


async def precheck(
    session: AsyncSession, *, call: CallIn, geocoder: Geocoder, types: IncidentTypes, settings: Settings
) -> dict[str, Any]:
    """What the call-taker should know before taking the call: where it is, suspected duplicates, the caller's
    and the premise's history and flags. Writes nothing."""
    kind, suggested = resolve_type(types, call.type_code, call.narrative)
    located = locate(geocoder, text=call.location_text, lat=call.lat, lon=call.lon)
    ctx = await repo.context(
        session,
        lat=located.lat,
        lon=located.lon,
        number=call.caller_number,
        compatible=compatible_codes(types, kind),
        now=datetime.now(UTC),
        exercise=call.exercise,
        **context_params(settings),
    )
    return {
        "type_code": kind.code,
        "type_suggested": suggested,
        "priority": call.priority or kind.priority,
        "response_plan": [{"capability": s.capability, "count": s.count} for s in kind.plan],
        "location": located.view(),
        "duplicates": duplicates_view(ctx),
        "history": history_view(ctx, settings),
    }
