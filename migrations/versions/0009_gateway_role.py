"""the SMS gateway's role: the caller outbox is read and marked sent by the gateway's account, not by staff

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'gateway'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value; 'gateway' stays, unused. The gateway's accounts go (with their tokens,
    # by the foreign key's cascade): the code before this revision knows no such role.
    op.execute("DELETE FROM users WHERE role = 'gateway'")
