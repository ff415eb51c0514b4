"""the audit trail: who wrote or read what, append-only, purged only past its retention

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from dispatch import sqlfunctions

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=100), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
    )
    op.create_index("ix_audit_records_at", "audit_records", ["at"], unique=False)
    op.create_index("ix_audit_records_actor_at", "audit_records", ["actor", "at"], unique=False)
    op.create_index("ix_audit_records_object_at", "audit_records", ["object_type", "object_id", "at"], unique=False)
    op.create_index("ix_audit_records_action_at", "audit_records", ["action", "at"], unique=False)
    # Append-only, as the incident event log; old records go only by audit_purge (their texts: dispatch/audit/sql).
    op.execute(sqlfunctions.create("audit_records_append_only"))
    op.execute("""
        CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()""")
    op.execute("""
        CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
        FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()""")
    op.execute(sqlfunctions.create("audit_purge"))


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS audit_purge(timestamptz)")
    op.drop_table("audit_records")  # its triggers go with it
    op.execute("DROP FUNCTION IF EXISTS audit_records_append_only()")
