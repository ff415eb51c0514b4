"""What the premise-flag API accepts and answers."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.types import Strict

from dispatch.incidents.schemas import Clean, Latitude, Longitude

Category = Literal["hazard", "special_needs", "access", "info"]


class FlagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category
    description: Annotated[str, Clean, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    location_text: Annotated[str, Clean, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: Annotated[float, Strict()] = Field(default=25.0, gt=0, le=500)
    expires_at: AwareDatetime | None = Field(default=None, description="With a time zone, in the future")

    @model_validator(mode="after")
    def _where(self) -> "FlagIn":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not self.location_text:
            raise ValueError("say where: location_text, or lat and lon")
        if self.expires_at is not None and self.expires_at <= datetime.now(UTC):
            raise ValueError(f"expires_at {self.expires_at.isoformat()} is in the past: a flag that never shows")
        return self


class FlagAddedOut(BaseModel):
    id: int
    lat: float
    lon: float
    address_label: str | None


class FlagOut(BaseModel):
    id: int
    category: str
    description: str
    address_label: str | None
    radius_m: float
    created_at: datetime
    expires_at: datetime | None
    # PostgreSQL's numeric, rounded to 0.1 m: written as a decimal string, as it always was.
    distance_m: Decimal


class FlagRetiredOut(BaseModel):
    id: int
    active: bool
