"""The audit trail over HTTP, for admins: filtered, newest first, a page at a time."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dispatch.audit.deps import AuditActor
from dispatch.audit.queries import MAX_PAGE, parse_filters, search
from dispatch.audit.schemas import AuditPage, AuditRecordOut
from dispatch.audit.service import record_read
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.service import Principal

router = APIRouter(prefix="/api", tags=["audit"])
Admin = Annotated[Principal, Depends(require_role())]


@router.get("/audit", response_model=AuditPage, summary="The audit trail, newest first (admin)")
async def audit_trail(
    request: Request,
    session: SessionDep,
    _: Admin,
    actor: AuditActor,
    who: Annotated[str | None, Query(alias="actor", max_length=100, description="Username")] = None,
    object: Annotated[str | None, Query(max_length=140, description="A type, or type:id (incident:42)")] = None,
    action: Annotated[str | None, Query(max_length=64, description="incident.close, or incident.*")] = None,
    start: Annotated[str | None, Query(alias="from", max_length=40, description="Date or ISO date and time")] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40, description="Date (included) or date and time")] = None,
    cursor: Annotated[int | None, Query(gt=0, le=2**63 - 1, description="next_cursor of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPage:
    filters = parse_filters(
        actor=who,
        object=object,
        action=action,
        start=start,
        end=end,
        time_zone=request.app.state.settings.report_time_zone,
    )
    records, next_cursor = await search(session, filters=filters, cursor=cursor, limit=limit)
    # The trail names callers and addresses: reading it is recorded as well.
    await record_read(
        session,
        actor=actor,
        action="audit.read",
        object_type="audit",
        detail={**filters.as_detail(), "cursor": cursor, "rows": len(records)},
    )
    return AuditPage(records=[AuditRecordOut(**r) for r in records], next_cursor=next_cursor)
