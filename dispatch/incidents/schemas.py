"""What intake accepts and answers."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.types import Strict

from dispatch.incidents.models import Channel
from dispatch.schema_types import JsonObject, JsonTimestamp

# Control characters (NUL above all, which PostgreSQL refuses), and the bidirectional controls: embeddings,
# overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C). A right-to-left
# override in a caller's name or a narrative shows the rest of the line reversed on every console and report
# ("fire at Städtle 32" read as 23); words in right-to-left scripts still show rightly without them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutral_text(value: str) -> str:
    """The text without control characters; tabs and newlines stay."""
    return _CONTROL.sub("", value)


def _no_control(value: object) -> object:
    return neutral_text(value) if isinstance(value, str) else value


Clean = BeforeValidator(_no_control)  # on every text field of an input model


def _not_blank(value: str) -> str:
    if not value:  # stripped already: StringConstraints' min_length alone let "  " through as ""
        raise ValueError("a reason is needed: it cannot be blank")
    return value


Reason = Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_not_blank)]
# Numbers, not booleans or strings: lax parsing stored {"lon": false} as longitude 0.
Latitude = Annotated[float, Strict(), Field(ge=-90, le=90)]
Longitude = Annotated[float, Strict(), Field(ge=-180, le=180)]
MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id cannot exist, and must not reach the driver
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,30}$")
Text = Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=300)]
Phone = Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)]


def _phone(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not PHONE.match(value):
        raise ValueError("a phone number: digits, optionally a leading +, spaces, dots, dashes or brackets")
    return re.sub(r"[ ()./-]", "", value)


class AnswerIn(BaseModel):
    """A key question of the type (types.toml) as asked, and what the caller said."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    answer: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=500)]


class AnswerOut(BaseModel):
    question: str
    answer: str


class CallIn(BaseModel):
    """A call as the call-taker enters it. Location as text, as coordinates, or both."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.phone
    caller_name: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    caller_number: Phone | None = None
    callback_number: Phone | None = None
    location_text: Text | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    type_code: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    narrative: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None
    priority: Annotated[int, Strict()] | None = Field(
        default=None, ge=1, le=4, description="Override the type's priority"
    )
    duplicate_of: int | None = Field(default=None, gt=0, le=MAX_ID, description="Attach to this open incident instead")
    answers: list[AnswerIn] = Field(default=[], max_length=20, description="The type's key questions, answered")
    exercise: Annotated[bool, Strict()] = Field(
        default=False, description="A drill or simulated call: handled as any other, left out of every report"
    )

    _phones = field_validator("caller_number", "callback_number")(_phone)

    @model_validator(mode="after")
    def _location(self) -> "CallIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        acted_on = self.location_text or self.lat is not None or self.type_code or self.narrative or self.duplicate_of
        if not acted_on and not self.may_check_by_number():
            raise ValueError(
                "nothing to act on: give a location (location_text or lat and lon), a type_code, "
                "a narrative, or the incident it repeats (duplicate_of)"
            )
        return self

    def may_check_by_number(self) -> bool:
        return False


class CallCheckIn(CallIn):
    """What the call-taker has typed so far, checked before the call is taken: a caller's number alone is enough
    to look up its earlier calls (the type is left to the narrative now, so a form may have nothing else yet)."""

    def may_check_by_number(self) -> bool:
        return self.caller_number is not None


class CheckLocationOut(BaseModel):
    lat: float | None
    lon: float | None
    label: str | None
    municipality: str | None
    match: str
    confidence: float
    needs_location: bool


class LocationOut(CheckLocationOut):
    in_service_area: bool | None
    candidates: list[JsonObject]


class SlotOut(BaseModel):
    capability: str
    count: int


class IncidentSummary(BaseModel):
    """A suspected duplicate, as PostgreSQL writes it (jsonb: its times as text, its keys in its own order)."""

    id: int
    status: str
    priority: int
    type_code: str
    distance_m: float | None
    received_at: JsonTimestamp
    municipality: str | None
    address_label: str | None


class HistoryOut(BaseModel):
    caller_calls: int
    caller_last: list[JsonObject]
    premise_incidents: int
    premise_by_type: dict[str, int]
    premise_last: list[JsonObject]
    repeat_address: bool
    flags: list[JsonObject]
    history_months: int = Field(
        description="How many months back the premise's history looks (the caller's: every call on record)"
    )


class CallCheckOut(BaseModel):
    """What the call-taker should know before taking a call (POST /api/calls/check)."""

    type_code: str
    type_suggested: bool
    priority: int
    response_plan: list[SlotOut]
    location: CheckLocationOut
    duplicates: list[IncidentSummary]
    history: HistoryOut


class IncidentOut(BaseModel):
    id: int
    call_id: int
    status: str
    type_code: str
    type_name: str
    type_suggested: bool
    priority: int
    response_plan: list[SlotOut]
    location: LocationOut
    narrative: str | None
    received_at: datetime
    duplicates: list[IncidentSummary]
    history: HistoryOut
    attached_to: int | None
    exercise: bool = Field(description="An exercise incident: a drill, not a real call; left out of the reports")


class CallerOut(BaseModel):
    caller_name: str | None
    caller_number: str | None
    callback_number: str | None
    channel: str | None


class IncidentCallOut(BaseModel):
    id: int
    received_at: datetime
    channel: str
    caller_name: str | None
    caller_number: str | None
    narrative: str | None


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    payload: JsonObject
    text: str = Field(description='What happened, in words: "Engine 1 on scene", "note by dispatcher: ..."')


class IncidentDetailOut(IncidentOut):
    """An incident as a console opens it: the intake view, its first caller and every call, how it ended, its log."""

    caller: CallerOut
    calls: list[IncidentCallOut] = Field(description="Every call about it, oldest first (further callers too)")
    disposition: str | None
    duplicate_of: int | None
    answers: list[AnswerOut]
    events: list[EventOut]


class OpenIncidentOut(BaseModel):
    id: int
    type_code: str
    priority: int
    status: str
    address_label: str | None
    municipality: str | None
    needs_location: bool
    received_at: datetime
    lat: float | None
    lon: float | None
    units_missing: int
    cleared_at: datetime | None
    units: list[int]
    exercise: bool


class IncidentTypeOut(BaseModel):
    code: str
    name: str
    priority: int
    group: str
    plan: dict[str, int] = Field(description="Units of each capability the response plan asks for")
    public: bool
    on_scene_min: float
    transport: bool
    questions: list[str] = Field(description="Key questions to ask a caller of this type, in order")
    names: dict[str, str] = Field(default_factory=dict, description="Its name in other languages, by code: fi, sv")


class ClassifyIn(BaseModel):
    """A narrative as the call-taker has typed it so far."""

    model_config = ConfigDict(extra="forbid")

    narrative: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=4000)]


class ClassifyOut(BaseModel):
    """The type intake would give a call with this narrative and no type_code (POST /api/calls/classify)."""

    type_code: str
    name: str
    priority: int
    plan: dict[str, int] = Field(description="Units of each capability the response plan asks for")
    confidence: float = Field(description="0..1; 0 when no keyword matched (the UNKNOWN type)")
    matched: list[str] = Field(description="The keywords found in the narrative, so the call-taker sees why")


class UpdatedOut(BaseModel):
    id: int
    updated: bool


class ReprioritisedOut(BaseModel):
    id: int
    priority: int


class NotedOut(BaseModel):
    id: int
    noted: bool


class StatusOut(BaseModel):
    id: int
    status: str


class MergedOut(BaseModel):
    id: int
    merged_into: int


class CallerMessageOffered(BaseModel):
    """What staff see of a message owed to a caller: that it was offered, never the link."""

    kind: str
    to: str
    text: str


class ClosedOut(StatusOut):
    caller_message: CallerMessageOffered | None


class SmsTakenOut(BaseModel):
    incident_id: int
    status: str
    location: str | None = Field(description="The part of the text read as the location, if any")
    replayed: bool


class PublicReportOut(BaseModel):
    reference: int
    status: str
    message: str


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: Annotated[int, Strict()] = Field(ge=1, le=4)
    reason: Reason


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disposition: Literal[
        "treated",
        "transported",
        "resolved",
        "no_action",
        "false_alarm",
        "referred",
        "unfounded",
        "gone_on_arrival",
        "other",
    ]
    note: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    confirm: Annotated[bool, Strict()] = False  # treated or transported with no unit ever on scene: 409 without it


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    into: int = Field(gt=0, le=MAX_ID)


class IncidentUpdateIn(BaseModel):
    """Corrections by the call-taker or dispatcher: a new location, type or narrative."""

    model_config = ConfigDict(extra="forbid")
    location_text: Text | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    type_code: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    narrative: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None

    @model_validator(mode="after")
    def _some(self) -> "IncidentUpdateIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if all(v is None for v in (self.location_text, self.lat, self.type_code, self.narrative)):
            raise ValueError("nothing to update")
        return self
