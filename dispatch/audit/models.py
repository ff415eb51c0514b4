"""The audit trail's one table. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, save the purge of
records past their retention (`audit_purge()`, see migrations/versions/0010_audit.py)."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, created_at_column


class AuditRecord(Base):
    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = created_at_column()  # the transaction's time: the change's own moment
    # No foreign key: the record outlives the account; the username and role are kept as they were.
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))  # "incident.close", "caller_history.read", ...
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSONB)  # the changed fields as they were (writes)
    after: Mapped[dict | None] = mapped_column(JSONB)  # ... and as they are now
    detail: Mapped[dict | None] = mapped_column(JSONB)  # what a read asked for and how much it got

    __table_args__ = (
        Index("ix_audit_records_at", "at"),
        Index("ix_audit_records_actor_at", "actor", "at"),
        Index("ix_audit_records_object_at", "object_type", "object_id", "at"),
        Index("ix_audit_records_action_at", "action", "at"),
    )
