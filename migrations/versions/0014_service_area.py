"""the service area: its boundary, and whether each municipality lies in it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "municipalities", sa.Column("in_service_area", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )
    op.create_geospatial_table(
        "service_area",
        sa.Column("id", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("osm_ref", sa.String(length=32), nullable=True),
        sa.Column("admin_level", sa.SmallInteger(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_service_area_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_area")),
    )
    # A map imported before this revision: its municipalities are the service area (the import's fallback), so
    # a town across the border known only by its addresses already counts as outside. The map's own boundaries
    # are not kept, so `dispatch demo` imports the map again once (its import summary lacks the service area).
    op.execute("""
        INSERT INTO service_area (name, geom)
        SELECT 'the municipalities', ST_Multi(ST_Union(geom)) FROM municipalities HAVING count(*) > 0""")


def downgrade() -> None:
    op.drop_geospatial_table("service_area")
    op.drop_column("municipalities", "in_service_area")
