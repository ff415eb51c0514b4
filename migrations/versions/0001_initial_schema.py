"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:03:20.879644
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography, Geometry
from sqlalchemy.dialects import postgresql

from dispatch import sqlfunctions

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENUMS = (
    "incident_status",
    "geocode_match",
    "station_kind",
    "unit_kind",
    "unit_status",
    "assignment_status",
    "role",
    "channel",
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table(
        "addresses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("osm_ref", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("housenumber", sa.String(length=32), nullable=False),
        sa.Column("postcode", sa.String(length=16), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    op.create_geospatial_index(
        "idx_addresses_location", "addresses", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_addresses_street_number", "addresses", ["street", "housenumber"], unique=False)
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("type_code", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "dispatched", "en_route", "on_scene", "closed", "cancelled", name="incident_status"),
            nullable=False,
        ),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("address_label", sa.String(length=300), nullable=True),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column(
            "geocode_match",
            sa.Enum(
                "address", "interpolated", "street", "intersection", "poi", "coordinates", "none", name="geocode_match"
            ),
            nullable=False,
        ),
        sa.Column("geocode_confidence", sa.Float(), nullable=False),
        sa.Column("needs_location", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("en_route_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["incidents.id"], name=op.f("fk_incidents_duplicate_of_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_geospatial_index(
        "idx_incidents_location", "incidents", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["priority", "received_at"],
        unique=False,
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index("ix_incidents_received_at", "incidents", ["received_at"], unique=False)
    op.create_table(
        "map_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_imports")),
    )
    op.create_geospatial_table(
        "municipalities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("osm_ref", sa.String(length=32), nullable=False),
        sa.Column("admin_level", sa.SmallInteger(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_municipalities")),
        sa.UniqueConstraint("name", name=op.f("uq_municipalities_name")),
    )
    op.create_geospatial_index(
        "idx_municipalities_geom", "municipalities", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "places",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("osm_ref", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("osm_ref", name=op.f("uq_places_osm_ref")),
    )
    op.create_geospatial_index(
        "idx_places_location", "places", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "road_nodes",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("osm_node_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_nodes")),
        sa.UniqueConstraint("osm_node_id", name=op.f("uq_road_nodes_osm_node_id")),
    )
    op.create_geospatial_index(
        "idx_road_nodes_geom", "road_nodes", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "stations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("osm_ref", sa.String(length=32), nullable=True),
        sa.Column(
            "kind", sa.Enum("fire", "police", "ambulance", "hospital", "standby", name="station_kind"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
        sa.UniqueConstraint("osm_ref", name=op.f("uq_stations_osm_ref")),
    )
    op.create_geospatial_index(
        "idx_stations_location", "stations", ["location"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_geospatial_table(
        "streets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipality", sa.String(length=100), nullable=True),
        sa.Column("highway", sa.String(length=32), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geography(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streets")),
    )
    op.create_geospatial_index(
        "idx_streets_geom", "streets", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_streets_name_municipality", "streets", ["name", "municipality"], unique=True)
    op.create_table(
        "incident_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_events_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_events")),
    )
    op.create_index("ix_incident_events_incident_at", "incident_events", ["incident_id", "at"], unique=False)
    op.create_geospatial_table(
        "road_edges",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("osm_way_id", sa.BigInteger(), nullable=False),
        sa.Column("highway", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("speed_kph", sa.Float(), nullable=False),
        sa.Column("travel_s", sa.Float(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["source"], ["road_nodes.id"], name=op.f("fk_road_edges_source_road_nodes")),
        sa.ForeignKeyConstraint(["target"], ["road_nodes.id"], name=op.f("fk_road_edges_target_road_nodes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_edges")),
    )
    op.create_geospatial_index(
        "idx_road_edges_geom", "road_edges", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_road_edges_source"), "road_edges", ["source"], unique=False)
    op.create_geospatial_table(
        "units",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("call_sign", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("engine", "ladder", "rescue", "tanker", "ambulance", "patrol", name="unit_kind"),
            nullable=False,
        ),
        sa.Column("capabilities", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("home_station_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "available",
                "dispatched",
                "en_route",
                "on_scene",
                "transporting",
                "at_hospital",
                "returning",
                "out_of_service",
                name="unit_status",
            ),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("position_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "position",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_station_id"], ["stations.id"], name=op.f("fk_units_home_station_id_stations"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("call_sign", name=op.f("uq_units_call_sign")),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("unit_id", sa.BigInteger(), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "assigned", "acknowledged", "en_route", "on_scene", "cleared", "cancelled", name="assignment_status"
            ),
            nullable=False,
        ),
        sa.Column("eta_s", sa.Float(), nullable=True),
        sa.Column(
            "reasons", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("assigned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("en_route_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_scene_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_assignments_incident_id_incidents")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_assignments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    op.create_index(op.f("ix_assignments_incident_id"), "assignments", ["incident_id"], unique=False)
    op.create_index(
        "uq_assignments_active_unit",
        "assignments",
        ["unit_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role", sa.Enum("call_taker", "dispatcher", "unit", "commander", "admin", name="role"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_users_unit_id_units"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("unit_id", name=op.f("uq_users_unit_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_geospatial_table(
        "calls",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.Enum("phone", "web", "app", "sms", name="channel"), nullable=False),
        sa.Column("caller_name", sa.String(length=200), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("callback_number", sa.String(length=32), nullable=True),
        sa.Column("location_text", sa.String(length=500), nullable=True),
        sa.Column(
            "reported_location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("narrative", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("taken_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_calls_incident_id_incidents")),
        sa.ForeignKeyConstraint(["taken_by"], ["users.id"], name=op.f("fk_calls_taken_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_calls_idempotency_key")),
    )
    op.create_index(op.f("ix_calls_caller_number"), "calls", ["caller_number"], unique=False)
    op.create_index(op.f("ix_calls_incident_id"), "calls", ["incident_id"], unique=False)
    op.create_geospatial_table(
        "premise_flags",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("address_label", sa.String(length=300), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_premise_flags_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premise_flags")),
    )
    op.create_geospatial_index(
        "idx_premise_flags_location",
        "premise_flags",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    # The event log is append-only: corrections are new events, never edits.
    op.execute(sqlfunctions.create("incident_events_append_only"))
    op.execute("""
        CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
        FOR EACH ROW EXECUTE FUNCTION incident_events_append_only()""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS incident_events_append_only ON incident_events")
    op.execute("DROP FUNCTION IF EXISTS incident_events_append_only()")
    op.drop_geospatial_index(
        "idx_premise_flags_location", table_name="premise_flags", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("premise_flags")
    op.drop_index(op.f("ix_calls_incident_id"), table_name="calls")
    op.drop_index(op.f("ix_calls_caller_number"), table_name="calls")
    op.drop_geospatial_table("calls")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index(
        "uq_assignments_active_unit",
        table_name="assignments",
        postgresql_where=sa.text("status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')"),
    )
    op.drop_index(op.f("ix_assignments_incident_id"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_geospatial_table("units")
    op.drop_index(op.f("ix_road_edges_source"), table_name="road_edges")
    op.drop_geospatial_index(
        "idx_road_edges_geom", table_name="road_edges", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("road_edges")
    op.drop_index("ix_incident_events_incident_at", table_name="incident_events")
    op.drop_table("incident_events")
    op.drop_index("ix_streets_name_municipality", table_name="streets")
    op.drop_geospatial_index("idx_streets_geom", table_name="streets", postgresql_using="gist", column_name="geom")
    op.drop_geospatial_table("streets")
    op.drop_geospatial_index(
        "idx_stations_location", table_name="stations", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("stations")
    op.drop_geospatial_index(
        "idx_road_nodes_geom", table_name="road_nodes", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("road_nodes")
    op.drop_geospatial_index(
        "idx_places_location", table_name="places", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("places")
    op.drop_geospatial_index(
        "idx_municipalities_geom", table_name="municipalities", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("municipalities")
    op.drop_table("map_imports")
    op.drop_index("ix_incidents_received_at", table_name="incidents")
    op.drop_index("ix_incidents_open", table_name="incidents", postgresql_where=sa.text("closed_at IS NULL"))
    op.drop_geospatial_index(
        "idx_incidents_location", table_name="incidents", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("incidents")
    op.drop_index("ix_addresses_street_number", table_name="addresses")
    op.drop_geospatial_index(
        "idx_addresses_location", table_name="addresses", postgresql_using="gist", column_name="location"
    )
    op.drop_geospatial_table("addresses")
    for name in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {name}")
