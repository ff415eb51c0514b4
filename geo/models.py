"""The imported map: municipalities, addresses, streets, places and the drivable road graph."""

from datetime import datetime

from geoalchemy2 import Geography, Geometry
from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, Index, Integer, SmallInteger, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo.base import Base, created_at_column


class MapImport(Base):
    __tablename__ = "map_imports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = created_at_column()
    duration_s: Mapped[float] = mapped_column(Float)
    counts: Mapped[dict] = mapped_column(JSONB)


class Municipality(Base):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    osm_ref: Mapped[str] = mapped_column(String(32))
    admin_level: Mapped[int] = mapped_column(SmallInteger)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False)
    # Whether its point on surface lies in the service area (a town across the border does not).
    in_service_area: Mapped[bool] = mapped_column(server_default=text("true"))


class ServiceArea(Base):
    """The area the service answers for, one row: the map's complete boundary (admin_level 2 to 6) that holds most
    of its addresses, else the union of its municipalities (`osm_ref` and `admin_level` NULL)."""

    __tablename__ = "service_area"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default=text("1"))
    name: Mapped[str] = mapped_column(String(100))
    osm_ref: Mapped[str | None] = mapped_column(String(32))
    admin_level: Mapped[int | None] = mapped_column(SmallInteger)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_ref: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # node | building | interpolation
    street: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))  # addr:place, where there is no street
    housenumber: Mapped[str] = mapped_column(String(32))
    postcode: Mapped[str | None] = mapped_column(String(16))
    municipality: Mapped[str | None] = mapped_column(String(100))
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True), nullable=False)

    __table_args__ = (Index("ix_addresses_street_number", "street", "housenumber"),)


class Street(Base):
    __tablename__ = "streets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(100))
    highway: Mapped[str] = mapped_column(String(32))  # the most important class among its ways
    length_m: Mapped[float] = mapped_column(Float)
    # Its other names in the map (name:sv, name:fi, alt_name, old_name...): a caller may use any of them.
    alt_names: Mapped[list[str]] = mapped_column(ARRAY(String(200)), server_default=text("'{}'"))
    geom = mapped_column(Geography("MULTILINESTRING", srid=4326, spatial_index=True), nullable=False)

    __table_args__ = (Index("ix_streets_name_municipality", "name", "municipality", unique=True),)


class Place(Base):
    __tablename__ = "places"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_ref: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(32))  # the OSM key: amenity, shop, tourism, ...
    kind: Mapped[str] = mapped_column(String(64))  # its value: hospital, school, bakery, ...
    municipality: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[dict] = mapped_column(JSONB)  # alternative names, address, operator
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True), nullable=False)


class RoadNode(Base):
    """A junction or end of the drivable graph; ids are dense (0..n-1) so they index arrays."""

    __tablename__ = "road_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    osm_node_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)


class RoadEdge(Base):
    """One direction of travel between two road nodes; a two-way road is two edges."""

    __tablename__ = "road_edges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[int] = mapped_column(ForeignKey("road_nodes.id"), index=True)
    target: Mapped[int] = mapped_column(ForeignKey("road_nodes.id"))
    osm_way_id: Mapped[int] = mapped_column(BigInteger)
    highway: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    length_m: Mapped[float] = mapped_column(Float)
    speed_kph: Mapped[float] = mapped_column(Float)
    travel_s: Mapped[float] = mapped_column(Float)
    geom = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=True), nullable=False)
