"""What the audit API answers."""

from datetime import datetime

from pydantic import BaseModel


class AuditRecordOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str
    address: str | None
    action: str
    object_type: str
    object_id: str | None
    before: dict | None
    after: dict | None
    detail: dict | None


class AuditPage(BaseModel):
    records: list[AuditRecordOut]
    next_cursor: int | None  # pass as `cursor` for the next (older) page; None: this was the last
