"""the unit status log: every change of a unit's status, with its time (out-of-service time in the workload report)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from dispatch import sqlfunctions

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS = postgresql.ENUM(name="unit_status", create_type=False)


def upgrade() -> None:
    op.create_table(
        "unit_status_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", STATUS, nullable=False),
        sa.Column("previous", STATUS, nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_unit_status_log_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_status_log")),
    )
    op.create_index("ix_unit_status_log_unit_at", "unit_status_log", ["unit_id", "at"], unique=False)
    # The few entries that begin or end a spell out of service, which the workload report reads.
    op.create_index(
        "ix_unit_status_log_out_of_service",
        "unit_status_log",
        ["unit_id", "at"],
        unique=False,
        postgresql_where=sa.text("(status = 'out_of_service' OR previous = 'out_of_service')"),
    )
    # Where each unit stood when the log began: its status now, from when it last changed.
    op.execute("INSERT INTO unit_status_log (unit_id, at, status) SELECT id, status_changed_at, status FROM units")
    for name in ("unit_status_logged", "unit_status_log_append_only"):
        op.execute(sqlfunctions.create(name))
    op.execute("""
        CREATE TRIGGER unit_status_logged_insert AFTER INSERT ON units
        FOR EACH ROW EXECUTE FUNCTION unit_status_logged()""")
    op.execute("""
        CREATE TRIGGER unit_status_logged AFTER UPDATE OF status ON units
        FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION unit_status_logged()""")
    op.execute("""
        CREATE TRIGGER unit_status_log_append_only BEFORE UPDATE OR DELETE ON unit_status_log
        FOR EACH ROW EXECUTE FUNCTION unit_status_log_append_only()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS unit_status_logged ON units")
    op.execute("DROP TRIGGER IF EXISTS unit_status_logged_insert ON units")
    op.drop_table("unit_status_log")  # its trigger goes with it
    op.execute("DROP FUNCTION IF EXISTS unit_status_logged()")
    op.execute("DROP FUNCTION IF EXISTS unit_status_log_append_only()")
