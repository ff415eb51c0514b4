"""Reports over HTTP: the commanders' response-time report, the outbox of caller messages, and the public side
(monthly response times, the feedback form) which needs no account and shows no personal data."""

import time
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import async_sessionmaker

from dispatch.audit import service as audit
from dispatch.audit.deps import AuditActor, PublicActor
from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.reports import feedback, public, service
from dispatch.reports.render import report_csv
from dispatch.reports.schemas import (
    CallerMessageOut,
    FeedbackAnswerOut,
    FeedbackIn,
    FeedbackRecordedOut,
    FeedbackSeriesOut,
    PublicResponseTimesOut,
    ResponseTimesOut,
    SentOut,
)
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import targets_at

PUBLIC_CACHE_S = 300.0
router = APIRouter(prefix="/api", tags=["reports"])
public_router = APIRouter(prefix="/public", tags=["public"])
Commander = Annotated[Principal, Depends(require_role(Role.commander))]
# The caller outbox holds single-use feedback links: the SMS gateway's account reads and marks it, no one else
# (an admin neither: whoever reads a link can answer in the caller's place).
Gateway = Annotated[Principal, Depends(require_role(Role.gateway, admin=False))]
Token = Annotated[str, Path(min_length=10, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


async def report_sessions(request: Request) -> async_sessionmaker | None:
    """Sessions of their own for the report's two big statements, so that they run side by side (they read
    committed data, as a report should)."""
    return request.app.state.services.sessionmaker


ReportSessions = Annotated[async_sessionmaker | None, Depends(report_sessions)]


@router.get(
    "/reports/response-times",
    response_model=ResponseTimesOut,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or with format=csv one row per figure"}},
    summary="Response-time intervals, percentiles and compliance (commander)",
)
async def response_times(
    request: Request,
    session: SessionDep,
    _: Commander,
    sessions: ReportSessions,
    start: Annotated[
        str, Query(alias="from", max_length=40, description="A local date (2026-11-01, included) or ISO date and time")
    ],
    end: Annotated[
        str, Query(alias="to", max_length=40, description="A local date (included) or ISO date and time (excluded)")
    ],
    group_by: GroupBy = GroupBy.priority,
    priority: Annotated[int | None, Query(ge=1, le=4, description="Only incidents of this priority")] = None,
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | Response:
    settings = request.app.state.settings
    period = parse_period(start, end, settings.report_time_zone)
    report = await service.response_times(
        session,
        period=period,
        group_by=group_by,
        targets=targets_at(settings.report_targets),
        sessions=sessions,
        priority=priority,
    )
    if format == "csv":
        # The file says what it holds: period (local days), grouping, priority.
        first, last = service.local_days(period)
        name = f"response-times-{first}-{last}-by-{group_by.value}{f'-p{priority}' if priority else ''}.csv"
        return Response(
            report_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report


@router.get(
    "/reports/feedback",
    response_model=list[FeedbackAnswerOut],
    summary="Callers' answers on the period's incidents, newest first (commander)",
)
async def feedback_answers(
    request: Request,
    session: SessionDep,
    _: Commander,
    by: AuditActor,
    start: Annotated[str, Query(alias="from", max_length=40)],
    end: Annotated[str, Query(alias="to", max_length=40)],
    complaints: Annotated[bool, Query(description="Complaints only")] = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    period = parse_period(start, end, request.app.state.settings.report_time_zone)
    rows = await feedback.answers(session, start=period.start, end=period.end, complaints_only=complaints, limit=limit)
    detail = {"from": period.start, "to": period.end, "complaints": complaints, "rows": len(rows)}
    await audit.record_read(session, actor=by, action="feedback.read", object_type="feedback", detail=detail)
    return rows


@router.get(
    "/reports/feedback/series",
    response_model=FeedbackSeriesOut,
    summary="Callers' satisfaction, answers and complaints by day or month (commander)",
)
async def feedback_series(
    request: Request,
    session: SessionDep,
    _: Commander,
    start: Annotated[str, Query(alias="from", max_length=40)],
    end: Annotated[str, Query(alias="to", max_length=40)],
    by: Literal["day", "month"] = "day",
) -> dict[str, Any]:
    period = parse_period(start, end, request.app.state.settings.report_time_zone)
    return await service.feedback_series(session, period=period, by=GroupBy(by))


@router.get(
    "/caller-messages",
    response_model=list[CallerMessageOut],
    summary="Messages owed to callers and not sent yet (SMS gateway)",
)
async def caller_messages(session: SessionDep, _: Gateway, by: AuditActor) -> list[dict[str, Any]]:
    messages = await feedback.unsent_messages(session)
    detail = {"rows": len(messages)}
    await audit.record_read(
        session, actor=by, action="caller_message.read", object_type="caller_message", detail=detail
    )
    return messages


@router.post(
    "/caller-messages/{message_id}/sent", response_model=SentOut, summary="Mark a caller message as sent (SMS gateway)"
)
async def message_sent(
    message_id: Annotated[int, Path(gt=0, le=2**62)], session: SessionDep, _: Gateway, by: AuditActor
) -> SentOut:
    await feedback.mark_sent(session, message_id, by=by)
    return SentOut(id=message_id, sent=True)


class PageRoute(APIRoute):
    """A route browsers read as a page: a query it cannot take answers them a page (422) saying so in a sentence,
    with the way back; API clients keep the problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                asked = request.query_params.get("format")
                if asked == "json" or not (asked == "html" or public.wants_html(request.headers.get("accept", ""))):
                    raise
                page = public.error_page(public.problem_sentence(list(exc.errors())), back=request.url.path)
                return HTMLResponse(page, status_code=422, headers={"Vary": "Accept"})

        return route


public_pages = APIRouter(tags=["public"], route_class=PageRoute)


@public_pages.get(
    "/response-times",
    response_model=PublicResponseTimesOut,
    responses={
        200: {
            "content": {"text/html": {}},
            "description": "JSON; a page for browsers (Accept: text/html) or format=html",
        },
        304: {"description": "Not modified (If-None-Match)"},
    },
    summary="Monthly response times by municipality (public, no personal data)",
)
async def public_response_times(
    request: Request,
    session: SessionDep,
    months: Annotated[int, Query(ge=1, le=60, description="Months back from this one")] = 12,
    format: Annotated[
        Literal["json", "html"] | None, Query(description="Without it, by the Accept header (JSON unless text/html)")
    ] = None,
) -> Response:
    as_html = format == "html" or (format is None and public.wants_html(request.headers.get("accept", "")))
    # Anyone may ask, and the answer costs a pass over the months' incidents: each process keeps it a while, both
    # forms rendered once.
    settings = request.app.state.settings
    cache = getattr(request.app.state, "public_response_times", None)
    if cache is None:
        cache = request.app.state.public_response_times = {}
    hit = cache.get(months)
    if hit is None or hit.expires <= time.monotonic():
        hit = cache[months] = await public.answer(session, settings=settings, months=months, ttl_s=PUBLIC_CACHE_S)
    body, etag = (hit.html, hit.html_etag) if as_html else (hit.json, hit.json_etag)
    headers = {
        "Cache-Control": f"public, max-age={int(PUBLIC_CACHE_S)}",
        "ETag": etag,
        "Vary": "Accept",
    }
    if etag in (t.strip() for t in request.headers.get("if-none-match", "").split(",")):
        return Response(status_code=304, headers=headers)
    media = "text/html; charset=utf-8" if as_html else "application/json"
    return Response(body, media_type=media, headers=headers)


public_router.include_router(public_pages)


@public_router.get("/feedback/{token}", response_class=HTMLResponse, summary="The feedback form of a link")
async def feedback_form(token: Token, request: Request, session: SessionDep) -> HTMLResponse:
    await feedback.check(session, token, secret_key=request.app.state.settings.secret_key)
    return HTMLResponse(FORM)


@public_router.post(
    "/feedback/{token}", response_model=FeedbackRecordedOut, summary="Record a caller's satisfaction (once per link)"
)
async def give_feedback(
    token: Token, body: FeedbackIn, request: Request, session: SessionDep, by: PublicActor
) -> FeedbackRecordedOut:
    await feedback.answer(
        session,
        token,
        satisfaction=body.satisfaction,
        comment=body.comment or None,
        complaint=body.complaint,
        secret_key=request.app.state.settings.secret_key,
        by=by,
    )
    return FeedbackRecordedOut(recorded=True, message="Thank you. Your answer was recorded.")


FORM = """<!doctype html><html lang="en"><meta charset="utf-8"><title>Your feedback</title>
<style>body{font-family:sans-serif;margin:2em;max-width:36em}label{display:block;margin:.6em 0}</style>
<h1>How did we do?</h1>
<p>You called the emergency service recently. Your answer helps the service improve; it is read by the
centre's commanders and is used only in summaries.</p>
<form id="f"><fieldset><legend>Satisfaction</legend>
<label><input type="radio" name="s" value="5" required> 5: very satisfied</label>
<label><input type="radio" name="s" value="4"> 4</label><label><input type="radio" name="s" value="3"> 3</label>
<label><input type="radio" name="s" value="2"> 2</label>
<label><input type="radio" name="s" value="1"> 1: very dissatisfied</label></fieldset>
<label>Comment (optional)<br><textarea name="c" rows="5" cols="50" maxlength="2000"></textarea></label>
<label><input type="checkbox" name="k"> Treat this as a complaint</label>
<button>Send</button></form><p id="out" role="status"></p>
<script src="/assets/feedback.js"></script></html>"""
