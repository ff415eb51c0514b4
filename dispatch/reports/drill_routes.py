"""The commanders' reports page's own routes: the incidents behind a cell of the report, today's live panel, and
the HTML report as a download."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from dispatch.audit import service as audit
from dispatch.audit.deps import AuditActor
from dispatch.auth.deps import SessionDep
from dispatch.incidents.types import incident_types
from dispatch.reports import drill, service, today
from dispatch.reports.drill_schemas import DrillOut, TodayOut
from dispatch.reports.html import report_html
from dispatch.reports.routes import Commander, ReportSessions
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import Interval, targets_at

router = APIRouter(prefix="/api", tags=["reports"])
# matplotlib's pyplot keeps global state: one page's charts drawn at a time, off the event loop.
_charts = asyncio.Lock()

From = Annotated[
    str, Query(alias="from", max_length=40, description="A local date (2026-11-01, included) or ISO date and time")
]
To = Annotated[str, Query(alias="to", max_length=40, description="A local date (included) or ISO date and time")]


@router.get(
    "/reports/incidents",
    response_model=DrillOut,
    summary="The incidents behind a cell of the response-time report, longest first (commander)",
)
async def report_incidents(
    request: Request,
    session: SessionDep,
    _: Commander,
    by: AuditActor,
    start: From,
    end: To,
    group_by: GroupBy = GroupBy.none,
    key: Annotated[
        str | None, Query(max_length=200, description="The report's group key: 1, Vaduz, 14, 2026-11-28, ...")
    ] = None,
    interval: Annotated[Interval, Query(description="The interval to sort by, longest first")] = Interval.response,
    target: Annotated[str | None, Query(max_length=48, description="Only incidents eligible for this target")] = None,
    late: Annotated[bool, Query(description="Only those that missed the target")] = False,
    priority: Annotated[int | None, Query(ge=1, le=4, description="Only incidents of this priority")] = None,
    limit: Annotated[int, Query(ge=1, le=drill.MAX_LIMIT)] = 200,
    offset: Annotated[int, Query(ge=0, le=drill.MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    settings = request.app.state.settings
    period = parse_period(start, end, settings.report_time_zone)
    cell = drill.make_cell(
        period,
        group_by=group_by,
        key=key,
        interval=interval,
        target=drill.find_target(targets_at(settings.report_targets), target),
        late=late,
        priority=priority,
    )
    count, rows = await drill.page(session, cell, limit=limit, offset=offset)
    items = await drill.items(session, rows, tz=period.tz, types=incident_types())
    detail = {
        "from": period.start,
        "to": period.end,
        "group_by": group_by.value,
        "key": key,
        "target": target,
        "late": late,
        "priority": priority,
        "rows": len(items),
        "ids": [i["id"] for i in items],
    }
    await audit.record_read(session, actor=by, action="report_incidents.read", object_type="incident", detail=detail)
    return {"count": count, "items": items}


@router.get("/reports/today", response_model=TodayOut, summary="Today since local midnight: the live panel (commander)")
async def report_today(request: Request, session: SessionDep, _: Commander) -> dict[str, Any]:
    settings = request.app.state.settings
    return await today.today(
        session, tz=settings.report_time_zone, targets=targets_at(settings.report_targets), now=datetime.now(UTC)
    )


@router.get(
    "/reports/report.html",
    response_class=HTMLResponse,
    summary="The whole report as one HTML file with its charts, as `dispatch report --format html` (commander)",
)
async def report_file(
    request: Request, session: SessionDep, _: Commander, sessions: ReportSessions, start: From, end: To
) -> HTMLResponse:
    settings = request.app.state.settings
    period = parse_period(start, end, settings.report_time_zone)
    full = await service.full_report(
        session, period=period, targets=targets_at(settings.report_targets), sessions=sessions
    )
    async with _charts:
        page = await run_in_threadpool(report_html, full)
    first, last = service.local_days(period)
    name = f"response-times-{first.isoformat()}-{last.isoformat()}.html"
    return HTMLResponse(page, headers={"Content-Disposition": f'attachment; filename="{name}"'})
