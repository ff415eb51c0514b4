"""Intake and the incident lifecycle over HTTP. Thin: parse, call the service, commit, then tell the queue."""

import time
from functools import partial
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from dispatch.aftercommit import change_message
from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import AfterCommitDep, GeocodersDep, KeeperDep, ServicesDep
from dispatch.incidents import crew, lifecycle, reads, search, service
from dispatch.incidents import repository as repo
from dispatch.incidents.crew_schemas import CrewIncidentOut
from dispatch.incidents.lifecycle import QueueAction
from dispatch.incidents.schemas import (
    MAX_ID,
    CallCheckIn,
    CallCheckOut,
    CallIn,
    ClassifyIn,
    ClassifyOut,
    ClosedOut,
    CloseIn,
    EventOut,
    IncidentDetailOut,
    IncidentOut,
    IncidentTypeOut,
    IncidentUpdateIn,
    MergedOut,
    MergeIn,
    NotedOut,
    NoteIn,
    OpenIncidentOut,
    PriorityIn,
    ReasonIn,
    ReprioritisedOut,
    StatusOut,
    UpdatedOut,
)
from dispatch.incidents.types import incident_types
from dispatch.reports import feedback

router = APIRouter(prefix="/api", tags=["incidents"])
ModelT = TypeVar("ModelT", bound=BaseModel)
TakesCalls = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher))]
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
# A unit's crew reads the incidents it is sent to (crew.crew_incident checks which), the floor any.
FloorOrCrew = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander, Role.unit))]
IncidentId = Annotated[int, Path(gt=0, le=MAX_ID, description="Incident id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


def actor_of(who: Principal) -> str:
    return f"{who.role.value}:{who.username}"


def dispatches(who: Principal) -> bool:
    """Has the dispatcher's role (as require_role, an admin has every role): standing units down and changing a
    priority, by whatever road, take it."""
    return who.role in (Role.dispatcher, Role.admin)


def parse(model: type[ModelT], body: bytes) -> ModelT:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None


@router.post(
    "/calls",
    status_code=201,
    response_model=IncidentOut,
    summary="Take a call: geocode, type, check duplicates and history, store, queue",
)
async def take_call(
    after_commit: AfterCommitDep,
    geocoders: GeocodersDep,
    keeper: KeeperDep,
    request: Request,
    session: SessionDep,
    who: TakesCalls,
    by: AuditActor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    started = time.perf_counter()
    body = await request.body()
    call = parse(CallIn, body)
    intake = await service.take_call(
        session,
        call=call,
        actor=actor_of(who),
        by=by,
        user_id=who.user_id,
        geocoder=geocoders.geocoder,
        types=incident_types(),
        settings=request.app.state.settings,
        idempotency_key=idempotency_key,
        body_hash=service.request_hash(body),
        writer=request.app.state.services.calls_writer,  # calls taken together share a commit
    )
    headers: dict[str, str] = {}
    if intake.replayed:
        headers["Idempotent-Replayed"] = "true"
    elif intake.queue:
        action = QueueAction("enqueue", intake.incident_id, intake.priority, int(intake.received_at.timestamp() * 1000))
        view = intake.view
        message = change_message(
            "incident.created",
            intake.incident_id,
            priority=intake.priority,
            needs_location=view["location"]["needs_location"],
            repeat_address=view["history"]["repeat_address"],
            duplicates=[d["id"] for d in view["duplicates"]],
        )
        after_commit.then(session, partial(keeper.apply, action, message))
    # PostgreSQL holds the call before the queue hears of it and before the caller hears 201.
    await session.commit()
    durable = time.perf_counter()
    await after_commit.run(session)
    # Where the time went, for whoever measures (the benchmark reads it): parse+geocode+write, then the queue.
    headers["Server-Timing"] = (
        f"intake;dur={(durable - started) * 1000:.2f}, queue;dur={(time.perf_counter() - durable) * 1000:.2f}"
    )
    # The view is built by the service to IncidentOut's shape (tests hold it to the schema); written directly.
    return Response(orjson.dumps(intake.view), status_code=201, media_type="application/json", headers=headers)


@router.post(
    "/calls/check",
    response_model=CallCheckOut,
    summary="Before taking a call: location, suspected duplicates, history (writes nothing)",
)
async def check_call(
    geocoders: GeocodersDep, request: Request, session: SessionDep, _: TakesCalls, by: AuditActor
) -> dict[str, Any]:
    return await reads.check_call(
        session,
        call=parse(CallCheckIn, await request.body()),
        by=by,
        geocoder=geocoders.geocoder,
        types=incident_types(),
        settings=request.app.state.settings,
    )


@router.get(
    "/incidents",
    response_model=list[OpenIncidentOut],
    summary="Open incidents (not closed or cancelled), most urgent first",
)
async def open_incidents(session: SessionDep, _: Floor) -> list[dict[str, Any]]:
    return await repo.open_incidents(session)


@router.get(
    "/incidents/search",
    response_model=search.SearchOut,
    summary="Find incidents, open and closed: by words, number or filters; newest first, a page at a time",
)
async def search_incidents(
    request: Request,
    session: SessionDep,
    _: Floor,
    by: AuditActor,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words of the address, the narrative, the type (code or name), the caller's name; digits "
            "of the caller's number; or an incident number (#123 for that one only)",
        ),
    ] = None,
    status: Annotated[search.Status, Query(description="open, closed (closed or cancelled) or all")] = "all",
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    type: Annotated[str | None, Query(max_length=32, description="An incident type code")] = None,
    start: Annotated[
        str | None, Query(alias="from", max_length=40, description="Received at or after: a date or ISO date-time")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", max_length=40, description="Received before: a date (included) or date-time")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    query = search.parse_query(
        q=q,
        status=status,
        priority=priority,
        type_code=type,
        start=start,
        end=end,
        types=incident_types(),
        time_zone=request.app.state.settings.report_time_zone,
    )
    return await search.search(session, query=query, cursor=cursor, limit=limit, types=incident_types(), by=by)


@router.get(
    "/incidents/{incident_id}",
    response_model=IncidentDetailOut | CrewIncidentOut,
    summary="An incident with its caller, history, flags and duplicates (a unit: its own, as CrewIncidentOut)",
)
async def get_incident(
    geocoders: GeocodersDep,
    request: Request,
    incident_id: IncidentId,
    session: SessionDep,
    who: FloorOrCrew,
    by: AuditActor,
) -> dict[str, Any]:
    if who.role == Role.unit:
        return await crew.crew_incident(
            session,
            incident_id,
            unit_id=who.unit_id,
            by=by,
            geocoder=geocoders.geocoder,
            types=incident_types(),
            settings=request.app.state.settings,
        )
    return await reads.incident_detail(
        session,
        incident_id,
        by=by,
        geocoder=geocoders.geocoder,
        types=incident_types(),
        settings=request.app.state.settings,
    )


@router.get(
    "/incidents/{incident_id}/events",
    response_model=list[EventOut],
    summary="The incident's append-only event log, each event with a line of text naming what happened",
)
async def incident_events(incident_id: IncidentId, session: SessionDep, _: Floor, by: AuditActor) -> reads.Log:
    return await reads.incident_events(session, incident_id, incident_types(), by=by)


@router.patch(
    "/incidents/{incident_id}",
    response_model=UpdatedOut,
    summary="Correct the location, type or narrative (a type of another priority: dispatcher)",
)
async def update_incident(
    services: ServicesDep,
    request: Request,
    incident_id: IncidentId,
    session: SessionDep,
    who: TakesCalls,
    by: AuditActor,
) -> UpdatedOut:
    body = parse(IncidentUpdateIn, await request.body())
    action = await lifecycle.update(
        session,
        incident_id,
        body,
        actor=actor_of(who),
        by=by,
        geocoder=services.geocoder.geocoder,
        types=incident_types(),
        dispatcher=dispatches(who),
    )
    services.after_commit.later(session, action, "incident.updated")
    # Crews on the way hear of a corrected address, type or narrative at once (once it is stored).
    changed = body.model_dump(exclude_none=True)
    services.after_commit.then(session, partial(services.pusher.corrected, incident_id, changed))
    return UpdatedOut(id=incident_id, updated=True)


@router.post("/incidents/{incident_id}/priority", response_model=ReprioritisedOut, summary="Reprioritise (dispatcher)")
async def reprioritise(
    services: ServicesDep,
    incident_id: IncidentId,
    body: PriorityIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> ReprioritisedOut:
    action = await lifecycle.reprioritise(
        session, incident_id, priority=body.priority, reason=body.reason, actor=actor_of(who), by=by
    )
    services.after_commit.later(session, action, "incident.reprioritised")  # and the crews on it, at once:
    services.after_commit.then(session, partial(services.pusher.corrected, incident_id, {"priority": body.priority}))
    return ReprioritisedOut(id=incident_id, priority=body.priority)


@router.post(
    "/incidents/{incident_id}/notes", status_code=201, response_model=NotedOut, summary="Add a note to the log"
)
async def add_note(
    services: ServicesDep, incident_id: IncidentId, body: NoteIn, session: SessionDep, who: TakesCalls, by: AuditActor
) -> NotedOut:
    await lifecycle.add_note(session, incident_id, note=body.text, actor=actor_of(who), by=by)
    # The crews on the incident read it on their devices as it is added (once it is stored).
    note = {"text": body.text, "from": who.username, "at": int(time.time() * 1000)}
    services.after_commit.then(session, partial(services.pusher.note, incident_id, note))
    # The consoles showing the incident read its log again.
    told = change_message("incident.noted", incident_id)
    services.after_commit.then(session, partial(services.queue_keeper.publish, told))
    return NotedOut(id=incident_id, noted=True)


@router.post(
    "/incidents/{incident_id}/confirm", response_model=StatusOut, summary="Accept an SMS or public report for dispatch"
)
async def confirm(
    after_commit: AfterCommitDep, incident_id: IncidentId, session: SessionDep, who: TakesCalls, by: AuditActor
) -> StatusOut:
    action = await lifecycle.confirm(session, incident_id, actor=actor_of(who), by=by)
    after_commit.later(session, action, "incident.created")
    return StatusOut(id=incident_id, status="pending")


@router.post(
    "/incidents/{incident_id}/merge",
    response_model=MergedOut,
    summary="Merge a confirmed duplicate into the incident it repeats "
    "(a dispatcher's when it has units or is more urgent than the other)",
)
async def merge(
    after_commit: AfterCommitDep,
    incident_id: IncidentId,
    body: MergeIn,
    session: SessionDep,
    who: TakesCalls,
    by: AuditActor,
) -> MergedOut:
    action = await lifecycle.merge(
        session, incident_id, into=body.into, actor=actor_of(who), by=by, dispatcher=dispatches(who)
    )
    after_commit.later(session, action, "incident.merged")
    return MergedOut(id=incident_id, merged_into=body.into)


@router.post("/incidents/{incident_id}/cancel", response_model=StatusOut, summary="Cancel (dispatcher)")
async def cancel(
    after_commit: AfterCommitDep,
    incident_id: IncidentId,
    body: ReasonIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> StatusOut:
    action = await lifecycle.cancel(session, incident_id, reason=body.reason, actor=actor_of(who), by=by)
    after_commit.later(session, action, "incident.cancelled")
    return StatusOut(id=incident_id, status="cancelled")


@router.post(
    "/incidents/{incident_id}/close", response_model=ClosedOut, summary="Close with a disposition (dispatcher)"
)
async def close(
    after_commit: AfterCommitDep,
    request: Request,
    incident_id: IncidentId,
    body: CloseIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> dict[str, Any]:
    action = await lifecycle.close(
        session,
        incident_id,
        disposition=body.disposition,
        note=body.note,
        actor=actor_of(who),
        by=by,
        confirm=body.confirm,
    )
    # The caller is owed a feedback link, in the same transaction; the dispatcher sees that it was offered, never
    # the link (the SMS gateway sends it).
    message = await feedback.offer(session, incident_id, settings=request.app.state.settings, by=by)
    after_commit.later(session, action, "incident.closed")
    return {"id": incident_id, "status": "closed", "caller_message": feedback.as_offered(message)}


@router.post(
    "/calls/classify",
    response_model=ClassifyOut,
    summary="The type a call with this narrative and no type_code would get (keywords; writes nothing)",
)
async def classify_call(request: Request, _: TakesCalls) -> dict[str, Any]:
    return reads.classify(incident_types(), parse(ClassifyIn, await request.body()).narrative)


@router.get("/incident-types", response_model=list[IncidentTypeOut], summary="Incident types, priorities and plans")
async def types(_: Floor) -> list[dict[str, Any]]:
    return reads.type_table(incident_types())
