"""What intake accepts and answers."""

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from dispatch.incidents.models import Channel

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value):
    """Control characters (NUL above all, which PostgreSQL refuses) are dropped; tabs and newlines stay."""
    return _CONTROL.sub("", value) if isinstance(value, str) else value


Clean = BeforeValidator(_no_control)
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


class CallIn(BaseModel):
    """A call as the call-taker enters it. Location as text, as coordinates, or both."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.phone
    caller_name: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    caller_number: Phone | None = None
    callback_number: Phone | None = None
    location_text: Text | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    type_code: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    narrative: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None
    priority: int | None = Field(default=None, ge=1, le=4, description="Override the type's priority")
    duplicate_of: int | None = Field(default=None, gt=0, le=MAX_ID, description="Attach to this open incident instead")

    _phones = field_validator("caller_number", "callback_number")(_phone)

    @model_validator(mode="after")
    def _location(self) -> "CallIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class LocationOut(BaseModel):
    lat: float | None
    lon: float | None
    label: str | None
    municipality: str | None
    match: str
    confidence: float
    needs_location: bool
    in_service_area: bool | None = None
    candidates: list[dict] = []


class SlotOut(BaseModel):
    capability: str
    count: int


class IncidentSummary(BaseModel):
    id: int
    type_code: str
    priority: int
    status: str
    address_label: str | None
    municipality: str | None
    received_at: datetime
    distance_m: float | None = None


class HistoryOut(BaseModel):
    caller_calls: int
    caller_last: list[dict]
    premise_incidents: int
    premise_by_type: dict[str, int]
    premise_last: list[dict]
    repeat_address: bool
    flags: list[dict]


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
    attached_to: int | None = None


class PriorityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int = Field(ge=1, le=4)
    reason: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    disposition: Literal["treated", "transported", "resolved", "no_action", "false_alarm", "referred",
                         "unfounded", "gone_on_arrival", "other"]
    note: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


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
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    type_code: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    narrative: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None

    @model_validator(mode="after")
    def _some(self) -> "IncidentUpdateIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if all(v is None for v in (self.location_text, self.lat, self.type_code, self.narrative)):
            raise ValueError("nothing to update")
        return self
