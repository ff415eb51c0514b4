"""What the units API accepts and answers."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from dispatch.incidents.schemas import Clean, Latitude, Longitude, Reason
from dispatch.units.models import MessageDirection, StationKind, UnitKind, UnitStatus


class StationOut(BaseModel):
    id: int
    kind: StationKind
    name: str
    municipality: str | None
    lat: float
    lon: float


class UnitOut(BaseModel):
    id: int
    call_sign: str
    kind: UnitKind
    capabilities: list[str]
    status: UnitStatus
    home_station: str | None
    lat: float | None
    lon: float | None
    status_changed_at: datetime
    silent: bool = False  # its device has not answered a message through every resend, and not since


# When the crew pressed it, by the device's clock (epoch ms): a status or a message queued while offline is sent
# later and keeps its moment; the server stores it beside its own time (dispatch.push.protocol.device_time).
DeviceTime = Annotated[int, Field(gt=0, le=2**53)]


class StatusIn(BaseModel):
    status: UnitStatus
    # The assignment the status is about: a unit's device names it, as on its socket (docs/protocol.md), so that
    # a status meant for a job the crew no longer has is refused rather than applied to another.
    assignment_id: Annotated[int, Field(gt=0, le=2**53)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    # When the crew pressed it, by the device's clock (epoch ms), for a status sent late (queued offline).
    at: DeviceTime | None = None
    # A dispatcher's words for setting it by hand: required for out of service and for taking a unit off its
    # job (the route checks); kept in the audit, shown to the crew (`unit_status`, `cancel`) and the consoles.
    reason: Reason | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> "StatusIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=1000)]

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("a message needs some text")
        return value


class MessageOut(BaseModel):
    unit_id: int
    id: str = Field(description="The message's id on the unit's outbox (the device acknowledges it by this)")
    from_: str = Field(alias="from", description="The dispatcher's name, as the crew sees it")
    text: str

    model_config = ConfigDict(populate_by_name=True)


class CrewMessageOut(BaseModel):
    """One message of the conversation between a unit's crew and the dispatchers."""

    id: int = Field(description="The message's number in the conversation: pass it as ?before= for older ones")
    unit_id: int
    direction: MessageDirection = Field(description="to_crew: a dispatcher wrote; from_crew: the crew wrote")
    text: str
    from_: str | None = Field(alias="from", description="The dispatcher's name, as the crew saw it; null: the crew")
    at: datetime = Field(description="When the service stored it")
    device_at: datetime | None = Field(description="When the crew wrote it by the device's clock (written offline)")
    message_id: str | None = Field(
        description="A dispatcher's message: its id on the unit's outbox (as in unit.message.sent)"
    )
    delivered_at: datetime | None = Field(
        description="A dispatcher's message: when the crew's device acknowledged it (null: not yet)"
    )

    model_config = ConfigDict(populate_by_name=True)


class ConversationOut(BaseModel):
    unit_id: int
    messages: list[CrewMessageOut] = Field(description="Newest first")
    next_before: int | None = Field(description="?before= for the page of older messages; null: no older ones")


class PositionIn(BaseModel):
    lat: Latitude
    lon: Longitude


class RouteOut(BaseModel):
    """A drive as a device draws it."""

    seconds: float
    meters: float
    coords: list[list[float]] = Field(description="[lat, lon] pairs, thinned to at most a few hundred")


class UnitRouteOut(BaseModel):
    unit_id: int
    incident_id: int | None = Field(description="The incident the unit is sent to, if any")
    route: RouteOut | None = Field(description="None when the unit is on no incident, or no road leads there")


class UnitStatusOut(BaseModel):
    unit_id: int
    call_sign: str
    status: UnitStatus
    previous: UnitStatus
    incident_id: int | None


class PositionOut(BaseModel):
    unit_id: int
    lat: float
    lon: float


class JobOut(BaseModel):
    """One of a unit's assignments, as its crew looks back on it (GET /api/units/{id}/jobs)."""

    assignment_id: int
    incident_id: int
    slot: str
    status: str = Field(description="The assignment's status: assigned ... cleared, or cancelled")
    type_code: str
    type_name: str
    priority: int
    address_label: str | None
    municipality: str | None
    incident_status: str
    disposition: str | None
    assigned_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    cancelled_at: datetime | None
