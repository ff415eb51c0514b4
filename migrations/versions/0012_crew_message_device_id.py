"""a crew's message keeps its device's id, by which a resend (its answer lost on the way) is stored only once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:55:52
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("crew_messages", sa.Column("device_id", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_crew_messages_device_id",
        "crew_messages",
        ["unit_id", "device_id"],
        unique=False,
        postgresql_where=sa.text("device_id IS NOT NULL"),
    )
    op.create_check_constraint(
        op.f("ck_crew_messages_device_id_for_crews"), "crew_messages", "direction = 'from_crew' OR device_id IS NULL"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_crew_messages_device_id_for_crews"), "crew_messages", type_="check")
    op.drop_index(
        "ix_crew_messages_device_id", table_name="crew_messages", postgresql_where=sa.text("device_id IS NOT NULL")
    )
    op.drop_column("crew_messages", "device_id")
