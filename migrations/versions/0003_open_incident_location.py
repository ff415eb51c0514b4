"""open incidents by place: the duplicate check scans only what is open, however long the history grows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('unconfirmed', 'pending', 'dispatched', 'en_route', 'on_scene')"


def upgrade() -> None:
    op.create_index(
        "ix_incidents_open_location", "incidents", ["location"], postgresql_using="gist", postgresql_where=OPEN
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_open_location", table_name="incidents")
