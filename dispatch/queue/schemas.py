"""What the queue API answers."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class QueueItemOut(BaseModel):
    id: int
    type_code: str
    priority: int
    status: str
    address_label: str | None
    municipality: str | None
    needs_location: bool
    exercise: bool = Field(description="An exercise incident: a drill, not a real call")
    received_at: datetime
    lat: float | None
    lon: float | None
    leased_by: str | None = Field(
        description="The matcher holding it, None while it waits in the queue (a matcher holds an incident it only "
        "recommends for too, while a dispatcher decides: see waiting_for)"
    )
    waiting_for: Literal["dispatcher", "matcher", "units"] = Field(
        description="What it waits for: 'dispatcher' (the matcher only recommends at its priority, or it has no "
        "location: a dispatcher assigns), 'matcher' (waiting for, or being worked by, the matcher), 'units' (the "
        "matcher found no free unit and waits for one to come free)"
    )


class QueueOut(BaseModel):
    source: Literal["redis", "postgres"] = Field(description="Where the order was read (PostgreSQL when Redis is away)")
    count: int
    items: list[QueueItemOut]
