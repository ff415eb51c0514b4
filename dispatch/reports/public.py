"""The public response-times answer: the months' figures, as JSON and as the page, each with its ETag."""

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.config import Settings
from dispatch.reports import public_page, service
from dispatch.reports.schemas import PublicResponseTimesOut
from dispatch.reports.service import parse_period
from dispatch.reports.targets import targets_at

INTERVAL = "call received → first unit on scene"


@dataclass(frozen=True)
class PublicAnswer:
    expires: float  # time.monotonic()
    json: bytes
    json_etag: str
    html: bytes
    html_etag: str


def wants_html(accept: str) -> bool:
    """A browser's Accept header (text/html preferred to application/json): the page; JSON otherwise, also for */*
    (scripts and API clients)."""
    html_q, json_q = 0.0, -1.0
    for part in accept.lower().split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if kind == "text/html":
            html_q = max(html_q, q)
        elif kind == "application/json" or (kind == "*/*" and json_q < 0):
            json_q = q if kind == "application/json" else max(json_q, q)
    return html_q > 0 and html_q > json_q


def month_span(now: datetime, months: int) -> list[str]:
    """The last `months` calendar months up to `now`'s, oldest first ("2026-01", ...)."""
    last = now.year * 12 + now.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(last - months + 1, last + 1)]


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def answer(session: AsyncSession, *, settings: Settings, months: int, ttl_s: float) -> PublicAnswer:
    tz = settings.report_time_zone
    now = datetime.now(UTC).astimezone(ZoneInfo(tz))
    span = month_span(now, months)
    period = parse_period(f"{span[0]}-01", now.strftime("%Y-%m-%d"), tz)
    data = await service.public_response_times(session, period=period, min_count=settings.public_min_count)
    out = PublicResponseTimesOut(
        time_zone=tz, interval=INTERVAL, suppressed_below=settings.public_min_count, **data
    ).model_dump(mode="json")
    body = orjson.dumps(out)
    html = public_page.page(
        data,
        months=span,
        min_count=settings.public_min_count,
        time_zone=tz,
        as_of=f"{now:%Y-%m-%d %H:%M}",
        today=now.date(),
        targets=list(targets_at(settings.report_targets)),
    ).encode()
    return PublicAnswer(time.monotonic() + ttl_s, body, _etag(body), html, _etag(html))


def error_page(problem: str, *, back: str) -> str:
    """What a browser is shown for a request the page cannot answer: the problem in a sentence, and the way back."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Emergency response times: the address is not right</title>
<link rel="icon" href="data:,"><style>{public_page.STYLE}</style></head>
<body><header><h1>Emergency response times</h1></header>
<main id="main"><h2>This address cannot be shown</h2><p class="lede">{escape(problem)}</p>
<p><a href="{escape(back)}">See the response times of the last 12 months</a>.</p></main></body></html>"""


def problem_sentence(errors: list[dict]) -> str:
    """A validation error of the page's query as a sentence for citizens."""
    fields = {str(e.get("loc", ("", ""))[-1]) for e in errors}
    if "months" in fields:
        return "The number of months must be a whole number from 1 to 60, for example ?months=12."
    if "format" in fields:
        return "The format must be html (the page) or json (the figures as data)."
    return "The address asks for something the page does not know."
