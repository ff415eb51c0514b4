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
    received_at: datetime
    lat: float | None
    lon: float | None
    leased_by: str | None = Field(description="The matcher holding it, None while it waits")


class QueueOut(BaseModel):
    source: Literal["redis", "postgres"] = Field(description="Where the order was read (PostgreSQL when Redis is away)")
    count: int
    items: list[QueueItemOut]
