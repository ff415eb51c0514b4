"""Stations and the units that respond from them."""

from datetime import datetime
from enum import StrEnum

from geoalchemy2 import Geography
from sqlalchemy import ARRAY, BigInteger, Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, created_at_column
from dispatch.statuses import UnitStatus


class StationKind(StrEnum):
    fire = "fire"
    police = "police"
    ambulance = "ambulance"
    hospital = "hospital"
    standby = "standby"  # a post without a building, where units wait to cover an area


class UnitKind(StrEnum):
    engine = "engine"
    ladder = "ladder"
    rescue = "rescue"
    tanker = "tanker"
    ambulance = "ambulance"
    patrol = "patrol"


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    osm_ref: Mapped[str | None] = mapped_column(String(32), unique=True)  # "n123", "w456", "r789"
    kind: Mapped[StationKind] = mapped_column(Enum(StationKind, name="station_kind"))
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str | None] = mapped_column(String(100))
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    units: Mapped[list["Unit"]] = relationship(back_populates="home_station")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[UnitKind] = mapped_column(Enum(UnitKind, name="unit_kind"))
    capabilities: Mapped[list[str]] = mapped_column(ARRAY(Text))
    home_station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    status: Mapped[UnitStatus] = mapped_column(Enum(UnitStatus, name="unit_status"), default=UnitStatus.available)
    status_changed_at: Mapped[datetime] = created_at_column()
    # Last known position; the live one is in Redis, PostgreSQL keeps it at a sampled rate.
    position = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    position_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    home_station: Mapped[Station | None] = relationship(back_populates="units")
