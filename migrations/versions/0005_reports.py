"""reports: citizens' feedback and the caller outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:26:43
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caller_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_caller_messages_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caller_messages")),
    )
    op.create_index(op.f("ix_caller_messages_incident_id"), "caller_messages", ["incident_id"], unique=False)
    op.create_index(
        "ix_caller_messages_unsent",
        "caller_messages",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "feedback_requests",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=True),
        sa.Column("complaint", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name=op.f("ck_feedback_requests_satisfaction_range")),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_feedback_requests_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_requests")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_feedback_requests_incident_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feedback_requests_token_hash")),
    )
    op.create_index(
        "ix_feedback_requests_answered_at",
        "feedback_requests",
        ["answered_at"],
        unique=False,
        postgresql_where=sa.text("answered_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_feedback_requests_answered_at",
        table_name="feedback_requests",
        postgresql_where=sa.text("answered_at IS NOT NULL"),
    )
    op.drop_table("feedback_requests")
    op.drop_index(
        "ix_caller_messages_unsent", table_name="caller_messages", postgresql_where=sa.text("sent_at IS NULL")
    )
    op.drop_index(op.f("ix_caller_messages_incident_id"), table_name="caller_messages")
    op.drop_table("caller_messages")
