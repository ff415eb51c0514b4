"""street alt names: a street's other names in the map (name:sv, name:fi, alt_name, old_name...), found as it is

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 21:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "streets",
        sa.Column("alt_names", postgresql.ARRAY(sa.String(200)), server_default=sa.text("'{}'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("streets", "alt_names")
