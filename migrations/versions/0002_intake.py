"""intake: unconfirmed incidents, dispositions, idempotent requests

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE incident_status ADD VALUE IF NOT EXISTS 'unconfirmed' BEFORE 'pending'")
    op.add_column("incidents", sa.Column("disposition", sa.String(length=64), nullable=True))
    op.add_column("calls", sa.Column("request_hash", sa.String(length=64), nullable=True))
    # Duplicate and history look-ups: calls by number in time order.
    op.drop_index("ix_calls_caller_number", table_name="calls")
    op.create_index("ix_calls_number_received", "calls", ["caller_number", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_number_received", table_name="calls")
    op.create_index("ix_calls_caller_number", "calls", ["caller_number"])
    op.drop_column("calls", "request_hash")
    op.drop_column("incidents", "disposition")
    # PostgreSQL cannot drop one value of an enum: rebuild the type without it.
    op.execute("UPDATE incidents SET status = 'pending' WHERE status = 'unconfirmed'")
    op.execute("ALTER TYPE incident_status RENAME TO incident_status_old")
    op.execute(
        "CREATE TYPE incident_status AS ENUM ('pending', 'dispatched', 'en_route', 'on_scene', 'closed', 'cancelled')"
    )
    op.execute("ALTER TABLE incidents ALTER COLUMN status TYPE incident_status USING status::text::incident_status")
    op.execute("DROP TYPE incident_status_old")
