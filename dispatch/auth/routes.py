"""Who am I, and (for admins) who has access."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dispatch.auth import service
from dispatch.auth.deps import CurrentPrincipal, SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.schemas import Me, UserOut
from dispatch.auth.service import Principal

router = APIRouter(prefix="/api", tags=["auth"])


@router.get("/me", response_model=Me, summary="The account behind this token (any role)")
async def me(principal: CurrentPrincipal, request: Request) -> Me:
    return Me(
        username=principal.username,
        role=principal.role,
        unit_id=principal.unit_id,
        time_zone=request.app.state.settings.report_time_zone,
        distance_unit=request.app.state.settings.distance_unit,
    )


@router.get("/users", response_model=list[UserOut], summary="All accounts (admin)")
async def users(session: SessionDep, _: Annotated[Principal, Depends(require_role(Role.admin))]) -> list[UserOut]:
    return [
        UserOut(username=u.username, display_name=u.display_name, role=u.role, unit=call_sign, active=u.active)
        for u, call_sign in await service.list_users(session)
    ]
