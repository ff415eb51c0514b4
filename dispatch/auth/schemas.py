"""What the accounts API answers."""

from pydantic import BaseModel

from dispatch.auth.models import Role


class Me(BaseModel):
    username: str
    role: Role
    unit_id: int | None


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    unit: str | None
    active: bool
