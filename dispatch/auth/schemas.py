"""What the accounts API answers."""

from typing import Literal

from pydantic import BaseModel, Field

from dispatch.auth.models import Role


class Me(BaseModel):
    username: str
    role: Role
    unit_id: int | None
    time_zone: str = Field(description="The centre's time zone: the clock its screens show (IANA name)")
    distance_unit: Literal["km", "mi"] = Field(description="How its screens give distances: m and km, or ft and mi")


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    unit: str | None
    active: bool
