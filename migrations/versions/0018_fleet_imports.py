"""fleet imports: each fleet file imported, kept whole, so that the centre's fleet outlives a map import

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fleet_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("fleet", sa.Text(), nullable=False),  # the fleet as a fleet file (dispatch.units.fleet.dump)
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleet_imports")),
    )


def downgrade() -> None:
    op.drop_table("fleet_imports")
