"""Incidents in and out as NENA EIDO over HTTP. Thin: check, call the service, commit, then tell the queue."""

from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from dispatch.aftercommit import change_message
from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import AfterCommitDep, GeocodersDep, KeeperDep
from dispatch.eido import export, importer, validate
from dispatch.eido.schema import Eido
from dispatch.errors import Forbidden
from dispatch.incidents.lifecycle import QueueAction
from dispatch.incidents.routes import IncidentId
from dispatch.incidents.schemas import LocationOut
from dispatch.incidents.types import incident_types

router = APIRouter(prefix="/api", tags=["eido"])
Exporter = Annotated[Principal, Depends(require_role(Role.dispatcher, Role.commander))]
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
# Who reads a caller's name and number in an EIDO: whoever reads them on the incident itself (the floor's
# dispatchers and commanders, and admins), each read audited as there.
READS_CALLERS = frozenset({Role.dispatcher, Role.commander, Role.admin})


class EidoImportOut(BaseModel):
    """What an imported EIDO became here: the incident, and (when this import took it) how intake saw it."""

    incident_id: int
    eido_id: str
    agency: str
    status: str | None = None
    type_code: str | None = None
    priority: int | None = None
    location: LocationOut | None = None
    duplicates: list[int] = []
    replayed: bool


@router.get(
    "/incidents/{incident_id}/eido",
    response_model=Eido,
    summary="The incident as a NENA EIDO (JSON): calls, place, type, notes, cautions, units and disposition",
)
async def export_eido(
    request: Request,
    incident_id: IncidentId,
    session: SessionDep,
    who: Exporter,
    by: AuditActor,
    personal: Annotated[
        bool | None,
        Query(description="Callers' names and numbers (audited): by default; false leaves them out"),
    ] = None,
) -> Response:
    if personal and who.role not in READS_CALLERS:
        raise Forbidden(f"role '{who.role.value}' may not export callers' personal data")
    document = await export.export(
        session,
        incident_id,
        types=incident_types(),
        settings=request.app.state.settings,
        personal=who.role in READS_CALLERS if personal is None else personal,
        by=by,
    )
    # Written as built (the schema describes it for the documentation; re-serialising through it would drop
    # what the models leave out).
    return Response(orjson.dumps(document, default=str), media_type="application/json")


@router.post(
    "/eido",
    status_code=201,
    response_model=EidoImportOut,
    summary="An incident received from another centre as a NENA EIDO becomes an incident here (once per EIDO $id)",
    responses={200: {"description": "This EIDO was imported before: the incident it became"}},
)
async def import_eido(
    after_commit: AfterCommitDep,
    geocoders: GeocodersDep,
    keeper: KeeperDep,
    request: Request,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> Response:
    body = await request.body()
    eido = validate.parse(body)
    done = await importer.import_eido(
        session,
        eido,
        document=orjson.loads(body),
        by=by,
        user_id=who.user_id,
        geocoder=geocoders.geocoder,
        types=incident_types(),
        settings=request.app.state.settings,
    )
    intake = done.intake
    if intake and intake.queue:
        action = QueueAction("enqueue", intake.incident_id, intake.priority, int(intake.received_at.timestamp() * 1000))
        message = change_message(
            "incident.created",
            intake.incident_id,
            priority=intake.priority,
            needs_location=intake.view["location"]["needs_location"],
            repeat_address=intake.view["history"]["repeat_address"],
            duplicates=[d["id"] for d in intake.view["duplicates"]],
        )
        after_commit.then(session, partial(keeper.apply, action, message))
    await session.commit()
    await after_commit.run(session)
    return Response(
        orjson.dumps(done.view(), default=str),
        status_code=200 if done.replayed else 201,
        media_type="application/json",
    )
