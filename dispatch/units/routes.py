"""Stations and units as the dispatch floor sees them."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import (
    AfterCommitDep,
    BoardDep,
    GeocodersDep,
    KeeperDep,
    OutboxDep,
    PositionsDep,
    RoutersDep,
    StatusesDep,
)
from dispatch.errors import InvalidInput, NotFound
from dispatch.incidents.types import incident_types
from dispatch.mapbound import check_position
from dispatch.push import messages
from dispatch.push.outbox import now_ms
from dispatch.push.protocol import BadMessage, device_time
from dispatch.statuses import OFF_INCIDENT_UNIT, UnitStatus
from dispatch.units import conversation, service
from dispatch.units.crew import check_own_unit, recent_jobs
from dispatch.units.models import Unit
from dispatch.units.reports import StatusReports, report_status
from dispatch.units.schemas import (
    ConversationOut,
    JobOut,
    MessageIn,
    MessageOut,
    PositionIn,
    PositionOut,
    StationOut,
    StatusIn,
    UnitOut,
    UnitRouteOut,
    UnitStatusOut,
)
from dispatch.units.service import ABOUT_ASSIGNMENT
from dispatch.units.talk import message_crew

router = APIRouter(prefix="/api", tags=["units"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
FieldOrDispatcher = Annotated[Principal, Depends(require_role(Role.unit, Role.dispatcher))]
# The floor reads any unit; a unit's device its own (check_own_unit).
FloorOrCrew = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander, Role.unit))]
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
FieldOrCommand = Annotated[Principal, Depends(require_role(Role.unit, Role.dispatcher, Role.commander))]
UnitId = Annotated[int, Path(gt=0, le=2**63 - 1, description="Unit id")]


@router.get("/stations", response_model=list[StationOut], summary="Stations and standby posts")
async def stations(session: SessionDep, _: Floor) -> list[StationOut]:
    return await service.stations(session)


@router.get("/units", response_model=list[UnitOut], summary="Every unit with its status and last position")
async def units(session: SessionDep, board: BoardDep, _: Floor) -> list[UnitOut]:
    return await service.units(session, await board.silent_units())


@router.get(
    "/units/{unit_id}/route",
    response_model=UnitRouteOut,
    summary="The route of a unit to the incident it is sent to (map, device)",
)
async def unit_route(
    board: BoardDep, routers: RoutersDep, request: Request, unit_id: UnitId, session: SessionDep, who: FloorOrCrew
) -> dict[str, Any]:
    check_own_unit(who, unit_id)
    unit = await board.get(unit_id)
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    if unit.incident_id is None or unit.lat is None or unit.lon is None:
        return {"unit_id": unit_id, "incident_id": None, "route": None}
    to = await service.incident_point(session, unit.incident_id)
    if to is None:
        return {"unit_id": unit_id, "incident_id": unit.incident_id, "route": None}
    found = await asyncio.to_thread(messages.route, routers.router, (unit.lat, unit.lon), to)
    return {"unit_id": unit_id, "incident_id": unit.incident_id, "route": found}


@router.get(
    "/units/{unit_id}/jobs",
    response_model=list[JobOut],
    summary="A unit's assignments of today and yesterday, newest first (its device, or the floor's dispatchers)",
)
async def unit_jobs(
    request: Request, unit_id: UnitId, session: SessionDep, who: FieldOrCommand
) -> list[dict[str, Any]]:
    check_own_unit(who, unit_id)
    if await session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit {unit_id}")
    return await recent_jobs(
        session, unit_id, time_zone=request.app.state.settings.report_time_zone, types=incident_types()
    )


@router.post(
    "/units/{unit_id}/status",
    response_model=UnitStatusOut,
    summary="Report a unit's status (its device, or a dispatcher)",
)
async def status(
    geocoders: GeocodersDep,
    statuses: StatusesDep,
    unit_id: UnitId,
    body: StatusIn,
    who: FieldOrDispatcher,
    by: AuditActor,
) -> dict[str, Any]:
    if who.role == Role.unit and body.assignment_id is None and body.status in ABOUT_ASSIGNMENT:
        raise InvalidInput(
            f"a status of {body.status.value} from a unit's device must name its assignment (assignment_id)"
        )
    if body.lat is not None and body.lon is not None:  # given together (StatusIn checks)
        check_position(geocoders, body.lat, body.lon)
    try:
        device_at = device_time(body.at, now_ms())
    except BadMessage as exc:
        raise InvalidInput(str(exc)) from None
    if who.role != Role.unit and body.reason is None:
        await _reason_needed(statuses, unit_id, body.status)
    return await report_status(
        statuses,
        who,
        unit_id,
        body.status,
        body.lat,
        body.lon,
        assignment_id=body.assignment_id,
        by=by,
        device_at_ms=device_at,
        reason=body.reason,
    )


async def _reason_needed(statuses: StatusReports, unit_id: int, status: UnitStatus) -> None:
    """A dispatcher gives a reason for setting a unit out of service or taking it off its job before it reached
    the scene (freeing a unit done there is the end of its job, as its crew would report it): the crew reads it,
    and the audit keeps it."""
    if status == UnitStatus.out_of_service:
        raise InvalidInput("setting a unit out of service by hand needs a reason (reason)")
    if status in OFF_INCIDENT_UNIT:
        async with statuses.sessions() as session:
            incident_id = await service.job_before_scene(session, unit_id)
        if incident_id is not None:
            raise InvalidInput(
                f"unit {unit_id} is on incident {incident_id}: taking it off its job needs a reason (reason)"
            )


@router.post("/units/{unit_id}/position", response_model=PositionOut, summary="Report a unit's position (its device)")
async def position(
    geocoders: GeocodersDep,
    positions: PositionsDep,
    request: Request,
    unit_id: UnitId,
    body: PositionIn,
    who: FieldOrDispatcher,
) -> PositionOut:
    check_position(geocoders, body.lat, body.lon)
    await positions.report(who, unit_id, body.lat, body.lon, now=True)
    return PositionOut(unit_id=unit_id, lat=body.lat, lon=body.lon)


@router.post(
    "/units/{unit_id}/messages",
    status_code=201,
    response_model=MessageOut,
    response_model_by_alias=True,
    summary="Write to a unit's crew (dispatcher): sent through its outbox, acknowledged by the device",
)
async def message_unit(
    after_commit: AfterCommitDep,
    keeper: KeeperDep,
    outbox: OutboxDep,
    unit_id: UnitId,
    body: MessageIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> dict[str, Any]:
    return await message_crew(
        session,
        unit_id=unit_id,
        text=body.text,
        who=who,
        by=by,
        after_commit=after_commit,
        outbox=outbox,
        keeper=keeper,
    )


@router.get(
    "/units/{unit_id}/messages",
    response_model=ConversationOut,
    response_model_by_alias=True,
    summary="The conversation between a unit's crew and the dispatchers, newest first, by pages (the floor's "
    "dispatchers and commanders any unit's, a unit's device its own)",
)
async def unit_messages(
    unit_id: UnitId,
    session: SessionDep,
    who: FieldOrCommand,
    limit: Annotated[
        int, Query(ge=1, le=conversation.MAX_PAGE, description="Messages in the page")
    ] = conversation.PAGE,
    before: Annotated[
        int | None, Query(gt=0, le=2**63 - 1, description="Only messages numbered below this (next_before)")
    ] = None,
) -> dict[str, Any]:
    check_own_unit(who, unit_id)
    if await session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit {unit_id}")
    page, next_before = await conversation.conversation(session, unit_id=unit_id, limit=limit, before=before)
    return {"unit_id": unit_id, "messages": page, "next_before": next_before}
