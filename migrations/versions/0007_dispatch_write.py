"""dispatch_write(): a dispatch as one server-side call

Recording a dispatch locks the incident, checks that its response plan still has the slots the decision
fills (another matcher or a dispatcher may have filled them meanwhile), and writes the assignments, the
units' status, the incident's status and time, the diverted units' old assignments and every event. As
BEGIN, a locking read, the write and COMMIT it cost four round trips on the way from a call to the unit's
device; as one function call it costs one. Each statement inside the function sees what was committed
before it ran (READ COMMITTED), so the plan is checked after the lock, as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:00:00
"""

from collections.abc import Sequence

from alembic import op

from dispatch import sqlfunctions

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sqlfunctions.create("dispatch_write"))  # its text: dispatch/matching/sql/dispatch_write.sql


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS dispatch_write(bigint, jsonb, jsonb, text, text)")
    op.execute("DROP FUNCTION IF EXISTS dispatch_write(bigint, jsonb, jsonb, text, text, jsonb)")
