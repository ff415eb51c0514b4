"""Recommendations and dispatcher assignment over HTTP."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import DispatcherDep, MatcherDep, ServicesDep
from dispatch.errors import Conflict, NotFound
from dispatch.incidents.schemas import MAX_ID
from dispatch.incidents.types import incident_types
from dispatch.matching.schemas import AssignIn, AssignOut, CoverageOut, RecommendationsOut
from dispatch.matching.service import MatchIncident, match_incident
from dispatch.matching.worker import decision_view
from dispatch.statuses import DISPATCHABLE_INCIDENT

router = APIRouter(prefix="/api", tags=["matching"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]
Dispatcher = Annotated[Principal, Depends(require_role(Role.dispatcher))]
IncidentId = Annotated[int, Path(gt=0, le=MAX_ID, description="Incident id")]


async def _open_incident(session: AsyncSession, incident_id: int) -> MatchIncident:
    incident = await match_incident(session, incident_id, incident_types())
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    if incident.status not in DISPATCHABLE_INCIDENT:
        raise Conflict(f"incident {incident_id} is {incident.status}: nothing to dispatch")
    return incident


@router.get(
    "/incidents/{incident_id}/recommendations",
    response_model=RecommendationsOut,
    summary="Ranked units for each slot of the plan, with ETA, distance and reasons",
)
async def recommendations(
    matcher: MatcherDep, incident_id: IncidentId, session: SessionDep, _: Floor
) -> dict[str, Any]:
    incident = await _open_incident(session, incident_id)
    _board, etas, decision = await matcher.advise(incident)
    view = decision_view(decision, incident, "auto" if matcher.auto_for(incident) else "recommend", etas)
    view["assigned"] = incident.assigned
    view["served"] = incident.served
    return view


@router.post(
    "/incidents/{incident_id}/assign",
    response_model=AssignOut,
    summary="Assign units (dispatcher); checked against availability",
)
async def assign(
    dispatcher: DispatcherDep,
    incident_id: IncidentId,
    body: AssignIn,
    session: SessionDep,
    who: Dispatcher,
    by: AuditActor,
) -> AssignOut:
    incident = await _open_incident(session, incident_id)
    done = await dispatcher.assign(incident, body.unit_ids, divert=body.divert, by=who.username, actor=by)
    assigned = sorted(a["unit_id"] for a in done.assignments)
    return AssignOut(incident_id=incident.id, assigned=assigned, units_missing=done.units_missing)


@router.get(
    "/coverage",
    response_model=CoverageOut,
    summary="Where calls come from and how soon a free unit of each fleet gets there now (the move-up's coverage)",
)
async def coverage(services: ServicesDep, session: SessionDep, _: Floor) -> dict[str, Any]:
    return await services.coverage.answer(
        session, services.routers.router, await services.board.units(), services.settings.coverage_target_s
    )
