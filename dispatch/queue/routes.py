"""The pending queue as consoles see it."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import QueueDep
from dispatch.queue import listing
from dispatch.queue.schemas import QueueOut

router = APIRouter(prefix="/api", tags=["queue"])
Floor = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander))]


@router.get("/queue", response_model=QueueOut, summary="Incidents waiting for units, most urgent first (then oldest)")
async def queue(
    request: Request,
    queue: QueueDep,
    session: SessionDep,
    _: Floor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Read from Redis; if Redis is away, from PostgreSQL, which holds the same truth (`source` says which)."""
    return await listing.pending(session, queue=queue, limit=limit, settings=request.app.state.settings)
