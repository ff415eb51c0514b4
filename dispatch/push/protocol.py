"""The websocket protocol, version 1 (docs/protocol.md): inbound messages parsed strictly, close codes named.

Server messages are JSON objects with `type`, `id` (unique), `seq` (per unit, increasing, for units only)
and `sent_at`. Device messages are parsed here; anything malformed or unknown is answered with an `error`
message and changes nothing.
"""

from typing import Annotated, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from dispatch.units.models import UnitStatus
from dispatch.units.schemas import DeviceTime
from dispatch.units.service import ABOUT_ASSIGNMENT

VERSION = 1
MAX_FRAME = 64 * 1024  # larger frames close the socket with 1009 (uvicorn's ws_max_size)

# Close codes: 1008 policy (bad token, wrong role, flooding), 1009 too big (uvicorn), 1013 try again later (the
# database is away at the handshake), and ours:
CLOSE_VERSION = 4005  # the device speaks another version of the protocol: its app must be updated
CLOSE_REVOKED = 4003  # the token was revoked or expired, the account deactivated or its role changed
CLOSE_SLOW = 4008  # the send queue overflowed: reconnect and resume from the last seq
CLOSE_REPLACED = 4009  # the same unit connected again elsewhere
CLOSE_IDLE = 4010  # no message (not even a heartbeat) for too long


SUBPROTOCOL_PREFIX = "dispatch.v"


def offered_versions(offered: list[str]) -> list[int]:
    """The protocol versions a device offered as subprotocols (`dispatch.v<N>`); the ones that are not numbers
    count as version 0, which no server speaks."""
    versions = []
    for sub in offered:
        if sub.startswith(SUBPROTOCOL_PREFIX):
            tail = sub[len(SUBPROTOCOL_PREFIX) :]
            versions.append(int(tail) if tail.isdigit() and len(tail) < 6 else 0)
    return versions


def unsupported(version: int | str) -> dict[str, object]:
    """The refusal an old (or newer) device reads before its socket is closed with CLOSE_VERSION."""
    return {
        "type": "error",
        "code": "unsupported_protocol",
        "message": f"this dispatch service speaks protocol version {VERSION}, the device version {version}: "
        "update the device's app (reload it) and connect again",
        "protocol": VERSION,
    }


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(min_length=1, max_length=64)] | None = None  # the device's own id, echoed


class Hello(_In):
    type: Literal["hello"]
    last_seq: Annotated[int, Field(ge=0, le=2**53)] = 0
    protocol: int = VERSION


class Ack(_In):
    type: Literal["ack"]
    of: Annotated[str, Field(min_length=1, max_length=64)]  # the id of the server message acknowledged


class Status(_In):
    type: Literal["status"]
    status: UnitStatus
    # The assignment the status is about: required for a status only an assignment has (ABOUT_ASSIGNMENT);
    # for returning, available and out of service, given when the crew ends the assignment it works.
    assignment_id: Annotated[int, Field(gt=0, le=2**53)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    at: DeviceTime | None = None

    @model_validator(mode="after")
    def _names_its_assignment(self) -> "Status":
        if self.assignment_id is None and self.status in ABOUT_ASSIGNMENT:
            raise ValueError(f"a status of {self.status.value} must name its assignment (assignment_id)")
        return self


class Position(_In):
    type: Literal["position"]
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    speed_kph: Annotated[float, Field(ge=0, le=400)] | None = None
    heading: Annotated[float, Field(ge=0, le=360)] | None = None


class Text(_In):
    type: Literal["message"]
    text: Annotated[str, Field(min_length=1, max_length=1000)]
    at: DeviceTime | None = None


class Ping(_In):
    type: Literal["ping"]


class Pong(_In):
    type: Literal["pong"]


AnyUnitMessage = Hello | Ack | Status | Position | Text | Ping | Pong
AnyConsoleMessage = Ping | Pong
UnitMessage = Annotated[AnyUnitMessage, Field(discriminator="type")]
ConsoleMessage = Annotated[AnyConsoleMessage, Field(discriminator="type")]
_unit: TypeAdapter[AnyUnitMessage] = TypeAdapter(UnitMessage)
_console: TypeAdapter[AnyConsoleMessage] = TypeAdapter(ConsoleMessage)
_M = TypeVar("_M")


class BadMessage(Exception):
    def __init__(self, message: str, re: str | None = None) -> None:
        super().__init__(message)
        self.re = re


def _parse(adapter: TypeAdapter[_M], raw: str | bytes) -> _M:
    try:
        return adapter.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:] if p != "function-after") or "message"
        re = None
        try:
            body = orjson.loads(raw)
            re = body.get("id") if isinstance(body, dict) and isinstance(body.get("id"), str) else None
        except ValueError:
            pass
        raise BadMessage(f"{where}: {first['msg']}", re) from None


def parse_unit(raw: str | bytes) -> AnyUnitMessage:
    return _parse(_unit, raw)


def parse_console(raw: str | bytes) -> AnyConsoleMessage:
    return _parse(_console, raw)


AHEAD_MS = 5 * 60 * 1000  # a device clock this far ahead of the server's is wrong, not early
QUEUED_MS = 24 * 3600 * 1000  # a queued status older than this is not a status of the job any more


def device_time(at: int | None, now_ms: int, re: str | None = None) -> int | None:
    """The device's moment (epoch ms) if it is believable, else BadMessage naming the field. None: not given."""
    if at is None:
        return None
    if at > now_ms + AHEAD_MS:
        raise BadMessage(f"at: {(at - now_ms) / 60000:.0f} min ahead of the server's clock; set the device's clock", re)
    if at < now_ms - QUEUED_MS:
        raise BadMessage("at: more than 24 h old; a status or message that old is not sent", re)
    return at
