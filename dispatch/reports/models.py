"""Citizens' feedback on a closed incident, and the outbox of messages to callers that carries the link."""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, created_at_column


class FeedbackRequest(Base):
    """One single-use link per closed incident. Only a keyed hash of its token is stored."""

    __tablename__ = "feedback_requests"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)
    complaint: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
        Index("ix_feedback_requests_answered_at", "answered_at", postgresql_where=text("answered_at IS NOT NULL")),
    )


class CallerMessage(Base):
    """A message owed to a caller (the feedback link, by SMS to the callback number): read and marked sent by the
    SMS gateway's account (role `gateway`); staff see only that it was offered."""

    __tablename__ = "caller_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_caller_messages_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),)
