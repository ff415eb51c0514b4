"""unit_report(): a unit's status report as one server-side call

A status report is the most frequent write there is (four or more for every unit sent). As BEGIN, a locking
read, a write and COMMIT it cost four round trips; as one function call it costs one, atomic as any single
statement. The order of statuses a crew may report stays in Python (dispatch.units.service.NEXT), passed in
as `next` (NULL for dispatchers, who may correct anything).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:45:00
"""

from collections.abc import Sequence

from alembic import op

from dispatch import sqlfunctions

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sqlfunctions.create("incident_cleared_if_done"))
    op.execute(sqlfunctions.create("end_assignment"))  # its text: dispatch/incidents/sql/end_assignment.sql
    op.execute(sqlfunctions.create("unit_report"))  # its text: dispatch/units/sql/unit_report.sql


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb, bigint, text)")
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb, bigint, text, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS end_assignment(bigint, text, boolean)")
    op.execute("DROP FUNCTION IF EXISTS end_assignment(bigint, text, boolean, timestamptz)")
    op.execute(
        "DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb, bigint, text, jsonb, timestamptz)"
    )
    op.execute("DROP FUNCTION IF EXISTS incident_cleared_if_done(bigint)")
