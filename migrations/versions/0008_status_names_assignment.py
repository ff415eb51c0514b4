"""unit_report() names the assignment a report is about; the outbox's epochs

A device's status used to name no assignment: after a cancel it never received, a crew's "en route" was
applied to whatever assignment the unit had by then. `unit_report` now takes the assignment a report is about
(`p_assignment`, NULL for a report about the unit only, as a dispatcher's) and refuses it, writing nothing, when
that assignment is no longer the unit's active one ('stale'); `p_assignment_status` narrows it further (the
acknowledgement watcher escalates only an assignment still `assigned`).

`outbox_epoch`: a unit's message numbers (`seq`) are counted in Redis, which keeps nothing on disk. After
Redis lost its data the count starts again at the next epoch from this sequence, in the high bits
(epoch * 2^32), so a number is never given twice (dispatch.push.outbox).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

from alembic import op

from dispatch import sqlfunctions

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb)")
    op.execute(sqlfunctions.create("unit_report"))  # its text: dispatch/units/sql/unit_report.sql
    # 2^21 epochs of 2^32 numbers each: every seq stays below 2^53, exact in JSON and JavaScript.
    op.execute("CREATE SEQUENCE IF NOT EXISTS outbox_epoch MINVALUE 1 MAXVALUE 2097151 NO CYCLE")


def downgrade() -> None:
    op.execute("DROP SEQUENCE IF EXISTS outbox_epoch")
    # The function is its file's (dispatch/units/sql/unit_report.sql): there is no older text to go back to,
    # and migration 0006's downgrade drops it.
