"""matching: an acknowledged unit status, and how many units an incident still lacks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE unit_status ADD VALUE IF NOT EXISTS 'acknowledged' AFTER 'dispatched'")
    op.add_column(
        "incidents", sa.Column("units_missing", sa.SmallInteger(), server_default=sa.text("0"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("incidents", "units_missing")
    # PostgreSQL cannot drop an enum value; 'acknowledged' stays, unused, which the old code tolerates.
