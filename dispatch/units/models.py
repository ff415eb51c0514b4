"""Stations and the units that respond from them."""

from datetime import datetime
from enum import StrEnum

from geoalchemy2 import Geography
from sqlalchemy import ARRAY, BigInteger, CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, created_at_column
from dispatch.statuses import UnitStatus
from dispatch.units.kinds import StationKind as StationKind
from dispatch.units.kinds import UnitKind as UnitKind


class MessageDirection(StrEnum):
    to_crew = "to_crew"  # a dispatcher wrote to the unit's crew (through its outbox)
    from_crew = "from_crew"  # the crew wrote to the dispatchers (over its socket)


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


# The entries that begin or end a spell out of service: the workload report reads only these (a partial index).
_OOS = UnitStatus.out_of_service.value
OUT_OF_SERVICE_SPELL = f"(status = '{_OOS}' OR previous = '{_OOS}')"


class UnitStatusEntry(Base):
    """Append-only: every change of a unit's status with its time, written by triggers on `units` in the transaction
    that changes it (dispatch/units/sql/unit_status_logged.sql); a trigger refuses UPDATE and DELETE. The status a
    unit had at any moment is that of its last entry before it (the workload report's out-of-service time); an entry
    with `previous` out of service ends a spell."""

    __tablename__ = "unit_status_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = created_at_column()
    status: Mapped[UnitStatus] = mapped_column(Enum(UnitStatus, name="unit_status"))
    previous: Mapped[UnitStatus | None] = mapped_column(Enum(UnitStatus, name="unit_status"))

    __table_args__ = (
        Index("ix_unit_status_log_unit_at", "unit_id", "at"),
        Index("ix_unit_status_log_out_of_service", "unit_id", "at", postgresql_where=sql(OUT_OF_SERVICE_SPELL)),
    )


class CrewMessage(Base):
    """The conversation between a unit's crew and the dispatchers, both ways, as the consoles read it back
    (GET /api/units/{id}/messages). Kept as long as the audit trail and purged with it (`dispatch audit purge`):
    a dispatcher's words are in the trail too, and the two are read together."""

    __tablename__ = "crew_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    direction: Mapped[MessageDirection] = mapped_column(Enum(MessageDirection, name="crew_message_direction"))
    text: Mapped[str] = mapped_column(Text)
    # A dispatcher's account (no longer set once the account is deleted) and the name the crew was shown.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = created_at_column()  # the server's time: when the message was stored
    # When the crew wrote it by the device's clock, for a message written offline and sent later.
    device_at: Mapped[datetime | None]
    # A dispatcher's message: its id in the unit's outbox, and when the device acknowledged it.
    message_id: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None]
    # A crew's message: the device's own id of it, by which a resend (its answer lost) is stored only once.
    device_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_crew_messages_unit_id", "unit_id", "id"),  # a unit's conversation, newest first, by pages
        Index("ix_crew_messages_at", "at"),  # the purge
        Index(
            "uq_crew_messages_message_id",
            "unit_id",
            "message_id",
            unique=True,
            postgresql_where=sql("message_id IS NOT NULL"),
        ),
        # Not unique: a device id is the same message only within a day (conversation.RESENT_WITHIN).
        Index("ix_crew_messages_device_id", "unit_id", "device_id", postgresql_where=sql("device_id IS NOT NULL")),
        CheckConstraint("direction = 'from_crew' OR device_id IS NULL", name="device_id_for_crews"),
        CheckConstraint(
            "(direction = 'to_crew') = (message_id IS NOT NULL) AND (direction = 'to_crew' OR delivered_at IS NULL)",
            name="outbox_fields_for_dispatchers",
        ),
        CheckConstraint("length(text) BETWEEN 1 AND 1000", name="text_length"),
    )


class FleetImport(Base):
    """A fleet file imported (`dispatch units import`, DISPATCH_FLEET_FILE), kept whole: once there is one, the fleet
    is the centre's, and a map import applies the latest again rather than seeding the demo's (dispatch.setup)."""

    __tablename__ = "fleet_imports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = created_at_column()
    fleet: Mapped[str] = mapped_column(Text)
