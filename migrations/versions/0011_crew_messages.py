"""the conversation between crews and dispatchers: every message both ways, a dispatcher's with its outbox id and
when the device acknowledged it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:24:13
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crew_messages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.Enum("to_crew", "from_crew", name="crew_message_direction"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("device_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(direction = 'to_crew') = (message_id IS NOT NULL) AND (direction = 'to_crew' OR delivered_at IS NULL)",
            name=op.f("ck_crew_messages_outbox_fields_for_dispatchers"),
        ),
        sa.CheckConstraint("length(text) BETWEEN 1 AND 1000", name=op.f("ck_crew_messages_text_length")),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_crew_messages_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_crew_messages_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crew_messages")),
    )
    op.create_index("ix_crew_messages_at", "crew_messages", ["at"], unique=False)
    op.create_index("ix_crew_messages_unit_id", "crew_messages", ["unit_id", "id"], unique=False)
    op.create_index(
        "uq_crew_messages_message_id",
        "crew_messages",
        ["unit_id", "message_id"],
        unique=True,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_crew_messages_message_id", table_name="crew_messages", postgresql_where=sa.text("message_id IS NOT NULL")
    )
    op.drop_index("ix_crew_messages_unit_id", table_name="crew_messages")
    op.drop_index("ix_crew_messages_at", table_name="crew_messages")
    op.drop_table("crew_messages")
    op.execute("DROP TYPE IF EXISTS crew_message_direction")
