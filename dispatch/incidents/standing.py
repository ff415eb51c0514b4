"""A dispatcher's control of one unit on an incident: standing it down, with a reason. Thin, as every route: the
rule is lifecycle.stand_down_unit's; what follows the commit is the queue's, the board's, the crews' and the
consoles'."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from dispatch.aftercommit import change_message
from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep
from dispatch.deps import ServicesDep
from dispatch.incidents import lifecycle
from dispatch.incidents.routes import Dispatcher, IncidentId, actor_of
from dispatch.incidents.schemas import MAX_ID, ReasonIn

router = APIRouter(prefix="/api", tags=["incidents"])
UnitId = Annotated[int, Path(gt=0, le=MAX_ID, description="Unit id")]


class StoodDownOut(BaseModel):
    incident_id: int
    unit_id: int
    stood_down: bool
    requeued: bool = Field(description="The incident is matched again for the unit it lost (none had arrived)")


@router.post(
    "/incidents/{incident_id}/units/{unit_id}/stand-down",
    response_model=StoodDownOut,
    summary="Stand one unit down from an incident, with a reason (dispatcher)",
)
async def stand_down_unit(
    services: ServicesDep,
    incident_id: IncidentId,
    unit_id: UnitId,
    body: ReasonIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> StoodDownOut:
    action, unit = await lifecycle.stand_down_unit(
        session, incident_id, unit_id, reason=body.reason, actor=actor_of(who), by=by
    )
    requeued = action.action == "enqueue"
    # The queue, the board and the crew (a cancel, as for a cancelled incident), then the consoles, the unit's
    # change among them (told here, with its status before as PostgreSQL had it), and the other crews on it.
    services.after_commit.later(session, action, "incident.requeued", units_told=True)
    told = change_message(
        "incident.unit_stood_down", incident_id, unit_id=unit_id, reason=body.reason, requeued=requeued
    )
    status = {"type": "unit.status", "unit_id": unit_id, "incident_id": None, **unit}
    services.after_commit.then(session, partial(services.queue_keeper.publish, told, status))
    services.after_commit.then(session, partial(services.pusher.team, incident_id, changed=unit_id, left=True))
    return StoodDownOut(incident_id=incident_id, unit_id=unit_id, stood_down=True, requeued=requeued)
