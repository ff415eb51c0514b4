"""Calls that do not come through a call-taker: an SMS gateway's webhook and the public report form.

Both become incidents `unconfirmed`: a call-taker confirms them before anything is dispatched (unless
DISPATCH_DISPATCH_UNCONFIRMED is set). The public sees a reference number, never anyone's history.
"""

import hashlib
import hmac
import re
import time
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from dispatch.aftercommit import change_message
from dispatch.audit.service import Actor
from dispatch.clients import client_address
from dispatch.deps import ServicesDep
from dispatch.errors import DispatchError, InvalidInput, NotAuthenticated
from dispatch.incidents import service
from dispatch.incidents.lifecycle import QueueAction
from dispatch.incidents.models import Channel
from dispatch.incidents.routes import parse
from dispatch.incidents.schemas import CallIn, Clean, Latitude, Longitude, PublicReportOut, SmsTakenOut, _phone
from dispatch.incidents.types import incident_types
from dispatch.services import Services
from geo.geocoder import Geocoder
from geo.geocoder.coords import parse_coordinates

router = APIRouter(prefix="/api", tags=["channels"])
_SEGMENTS = re.compile(r"[.;!?\n]+|,\s+(?=[A-ZÄÖÜa-zäöü])")
_COORDS = re.compile(r"[NS]?\s*\d{1,2}[.,]\d{3,}\s*°?\s*[NS]?\s*[,;\s]\s*[EWO]?\s*\d{1,3}[.,]\d{3,}\s*°?\s*[EWO]?")
MAX_SMS_LOOKUPS = 40


class TooManyRequests(DispatchError):
    status, code, title = 429, "rate_limited", "Too many reports"


class SmsIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # gateways add fields of their own
    message_id: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    sender: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] = Field(alias="from")
    text: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=1600)]

    _sender = field_validator("sender")(_phone)


class PublicReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    phone: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)]
    location_text: (
        Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=3, max_length=200)] | None
    ) = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    type_code: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    description: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=5, max_length=1000)]

    _phone = field_validator("phone")(_phone)

    @model_validator(mode="after")
    def _where(self) -> "PublicReportIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.location_text is None and self.lat is None:
            raise ValueError("say where: location_text, or lat and lon")
        if self.type_code is not None:
            kind = incident_types().get(self.type_code)
            if kind is None or not kind.public:
                raise ValueError(f"'{self.type_code}' is not a type the public can report")
        return self


def location_in_text(geocoder: Geocoder, text: str) -> str | None:
    """The part of a free text that names a place best: coordinates, else the most confident word span."""
    coords = _COORDS.search(text)
    if coords and parse_coordinates(coords.group()):
        return coords.group()
    best, best_conf, lookups = None, 0.0, 0
    for segment in (s.strip() for s in _SEGMENTS.split(text) if s.strip()):
        words = segment.split()
        spans = [segment] if len(words) <= 6 else []
        spans += [" ".join(words[i : i + n]) for n in (5, 4, 3, 2) for i in range(len(words) - n + 1)]
        for span in spans:
            if lookups >= MAX_SMS_LOOKUPS:
                return best
            lookups += 1
            found = geocoder.geocode(span, limit=1)
            if found.match != "none" and found.confidence > best_conf:
                best, best_conf = span, found.confidence
    return best


async def _create(services: Services, call: CallIn, actor: str, key: str, by: Actor) -> service.Intake:
    settings = services.settings
    async with services.sessionmaker() as session:
        intake = await service.take_call(
            session,
            call=call,
            actor=actor,
            by=by,
            user_id=None,
            geocoder=services.geocoder.geocoder,
            types=incident_types(),
            settings=settings,
            idempotency_key=key,
            status="pending" if settings.dispatch_unconfirmed else "unconfirmed",
        )
        if not intake.replayed:
            message = change_message(
                "incident.created", intake.incident_id, priority=intake.priority, unconfirmed=not intake.queue
            )
            if intake.queue:
                received_ms = int(intake.received_at.timestamp() * 1000)
                action = QueueAction("enqueue", intake.incident_id, intake.priority, received_ms)
                services.after_commit.then(session, partial(services.queue_keeper.apply, action, message))
            else:
                services.after_commit.then(session, partial(services.queue_keeper.publish, message))
        await services.after_commit.commit(session)
    return intake


@router.post(
    "/inbound/sms", status_code=201, response_model=SmsTakenOut, summary="SMS gateway webhook (HMAC-SHA256 signed)"
)
async def inbound_sms(
    services: ServicesDep, request: Request, signature: Annotated[str | None, Header(alias="X-Signature")] = None
) -> SmsTakenOut:
    body = await request.body()
    secret = request.app.state.settings.sms_webhook_secret.encode()
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(signature, expected):
        raise NotAuthenticated("bad or missing X-Signature (sha256=HMAC of the body)")
    sms = parse(SmsIn, body)
    where = location_in_text(services.geocoder.geocoder, sms.text)
    call = CallIn(
        channel=Channel.sms,
        caller_number=sms.sender,
        callback_number=sms.sender,
        location_text=where,
        narrative=sms.text,
    )
    # The gateway is known by its signature, not an account: the record names it and the address it posted from.
    by = Actor(None, "sms-gateway", "gateway", client_address(request))
    intake = await _create(services, call, "sms-gateway", f"sms:{sms.message_id}", by)
    return SmsTakenOut(
        incident_id=intake.incident_id, status=intake.view["status"], location=where, replayed=intake.replayed
    )


async def _rate_limit(services: Services, request: Request, phone: str) -> None:
    limit = request.app.state.settings.public_reports_per_hour
    hour = int(time.time() // 3600)
    keys = [
        services.keys.rate("public-ip", client_address(request), hour),
        services.keys.rate("public-phone", phone, hour),
    ]
    async with services.redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, 3600)
        counts = (await pipe.execute())[::2]
    if max(counts) > limit:
        raise TooManyRequests(
            f"at most {limit} reports an hour from one address or number; for an emergency, call the emergency number",
            extra={"retry_after_s": 3600},
        )


@router.post(
    "/public/reports",
    status_code=202,
    response_model=PublicReportOut,
    summary="A report from the public (no login; rate-limited)",
)
async def public_report(services: ServicesDep, request: Request) -> PublicReportOut:
    body = await request.body()
    report = parse(PublicReportIn, body)
    await _rate_limit(services, request, report.phone)
    geocoder = services.geocoder.geocoder
    if (
        report.lat is not None
        and report.lon is not None  # given together (the model checks)
        and report.location_text is None
        and not geocoder.in_service_area(report.lat, report.lon)
    ):
        raise InvalidInput("that point is outside the service area")
    call = CallIn(
        channel=Channel.web,
        caller_name=report.name,
        caller_number=report.phone,
        callback_number=report.phone,
        location_text=report.location_text,
        lat=report.lat,
        lon=report.lon,
        type_code=report.type_code,
        narrative=report.description,
    )
    key = "public:" + service.request_hash(body)  # the same report sent twice is one report
    intake = await _create(services, call, "public", key, Actor(None, "public", "public", client_address(request)))
    return PublicReportOut(
        reference=intake.incident_id, status="received", message="Thank you. A call-taker will review your report."
    )
