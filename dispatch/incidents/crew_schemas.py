"""An incident as a unit's crew reads it: separate from the floor's views, which carry the caller's and the place's
history that a crew never gets."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dispatch.incidents.schemas import AnswerOut, LocationOut


class CrewCallerOut(BaseModel):
    caller_name: str | None
    callback_number: str | None


class PremiseFlagBrief(BaseModel):
    category: str
    description: str


class CrewNoteOut(BaseModel):
    """A note a dispatcher wrote in the incident's log, as the crew reads it."""

    model_config = ConfigDict(populate_by_name=True)

    text: str
    from_: str = Field(alias="from", description="The dispatcher's name")
    at: int = Field(description="When it was written (epoch ms)")


class CrewIncidentOut(BaseModel):
    """An incident as a unit's crew reads it (GET /api/incidents/{id} with a unit's token): how to reach the
    caller and what to know about the place, never the caller's or the premise's history."""

    # A floor's view carries more fields: refusing extras keeps the two apart in the route's union.
    model_config = ConfigDict(extra="forbid")

    id: int
    status: str
    type_code: str
    type_name: str
    priority: int
    location: LocationOut
    narrative: str | None
    received_at: datetime
    caller: CrewCallerOut
    premise_flags: list[PremiseFlagBrief]
    notes: list[CrewNoteOut]
    answers: list[AnswerOut]
    disposition: str | None
