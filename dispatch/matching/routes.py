"""Recommendations and dispatcher assignment over HTTP."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.errors import Conflict, InvalidInput, NotFound
from dispatch.incidents.lifecycle import QueueAction
from dispatch.incidents.schemas import MAX_ID
from dispatch.incidents.types import incident_types
from dispatch.matching.core import Decision, Pick
from dispatch.matching.eta import unit_etas
from dispatch.matching.service import match_incident
from dispatch.matching.worker import decision_view
from dispatch.statuses import DISPATCHABLE_INCIDENT, DIVERTIBLE_UNIT, FREE_UNIT

router = APIRouter(prefix="/api", tags=["matching"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
IncidentId = Annotated[int, Path(gt=0, le=MAX_ID, description="Incident id")]


class AssignIn(BaseModel):
    unit_ids: list[Annotated[int, Field(gt=0, le=MAX_ID)]] = Field(min_length=1, max_length=20)
    divert: bool = Field(default=False, description="Allow taking units that are on their way to other work")


async def _open_incident(request: Request, session, incident_id: int):
    incident = await match_incident(session, incident_id, incident_types())
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.status not in DISPATCHABLE_INCIDENT:
        raise Conflict(f"incident {incident_id} is {incident.status}: nothing to dispatch")
    return incident


@router.get(
    "/incidents/{incident_id}/recommendations",
    summary="Ranked units for each slot of the plan, with ETA, distance and reasons",
)
async def recommendations(request: Request, incident_id: IncidentId, session: SessionDep, _: Floor) -> dict:
    state = request.app.state
    incident = await _open_incident(request, session, incident_id)
    _, etas, decision = await state.matcher.advise(incident)
    view = decision_view(decision, incident, "auto" if state.matcher.auto_for(incident) else "recommend", etas)
    view["assigned"] = incident.assigned
    return view


@router.post("/incidents/{incident_id}/assign", summary="Assign units (dispatcher); checked against availability")
async def assign(
    request: Request, incident_id: IncidentId, body: AssignIn, session: SessionDep, who: Dispatcher
) -> dict:
    state = request.app.state
    incident = await _open_incident(request, session, incident_id)
    units = {u.id: u for u in await state.board.units()}
    unknown = [u for u in body.unit_ids if u not in units]
    if unknown:
        raise InvalidInput(f"no unit {', '.join(map(str, unknown))}")
    if len(set(body.unit_ids)) != len(body.unit_ids):
        raise InvalidInput("a unit is named twice")
    etas = (
        unit_etas(state.routers.router, incident.lat, incident.lon, [units[u] for u in body.unit_ids])
        if incident.lat is not None
        else {}
    )
    open_slots = [s.capability for s in incident.remaining() for _ in range(s.count)]
    picks = []
    for unit_id in sorted(body.unit_ids):
        unit = units[unit_id]
        if unit.incident_id == incident.id:
            raise Conflict(f"{unit.call_sign} is already on this incident")
        busy = unit.status not in FREE_UNIT
        if busy and not (body.divert and unit.status in DIVERTIBLE_UNIT):
            raise Conflict(
                f"{unit.call_sign} is {unit.status.replace('_', ' ')}"
                + ("" if body.divert else "; set divert to take it from its current work")
            )
        if busy and (unit.work_priority or 0) < state.matcher.rules.divert_from_priority:
            raise Conflict(f"{unit.call_sign} is on priority-{unit.work_priority} work: it is not taken from it")
        slot = next((c for c in open_slots if c in unit.capabilities), None)
        if slot is not None:
            open_slots.remove(slot)
        picks.append(
            Pick(
                slot or "extra",
                unit.id,
                unit.call_sign,
                etas.get(unit.id),
                0.0,
                f"assigned by {who.username}",
                unit.incident_id if busy else None,
            )
        )
    decision = Decision(incident.id, state.matcher.policy, tuple(picks), (), (), ())
    done = await state.matcher.dispatch(incident, decision, actor=f"dispatcher:{who.username}", mode="manual")
    if done is None:
        raise Conflict("a unit was taken by another dispatch meanwhile; look at the recommendations again")
    if done.units_missing == 0:  # owed by the keeper if Redis is away: the dispatch is stored either way
        await state.queue_keeper.apply(QueueAction("remove", incident.id))
    return {"incident_id": incident.id, "assigned": [p.unit_id for p in picks], "units_missing": done.units_missing}
