"""eido imports: each EIDO received from another centre, by its $id, and the incident it became

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eido_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("eido_id", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("agency", sa.String(length=255), nullable=False),
        sa.Column("issuing_element", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "document", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_eido_imports_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eido_imports")),
        sa.UniqueConstraint("eido_id", name=op.f("uq_eido_imports_eido_id")),
    )
    op.create_index(op.f("ix_eido_imports_incident_id"), "eido_imports", ["incident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_eido_imports_incident_id"), table_name="eido_imports")
    op.drop_table("eido_imports")
