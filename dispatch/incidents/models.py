"""Calls, incidents, their append-only event log, assignments and premise flags."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.db import Base, created_at_column
from dispatch.statuses import ACTIVE_ASSIGNMENT, OPEN_INCIDENT, AssignmentStatus, IncidentStatus, sql_in


def trigram_index(table: str, column: str) -> Index:
    """A GIN trigram index: ILIKE '%words%' on the column finds its rows through it."""
    return Index(f"ix_{table}_{column}_trgm", column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


class Channel(StrEnum):
    phone = "phone"
    web = "web"
    app = "app"
    sms = "sms"


class GeocodeMatch(StrEnum):
    address = "address"
    interpolated = "interpolated"
    street = "street"
    intersection = "intersection"
    poi = "poi"
    coordinates = "coordinates"
    none = "none"


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type_code: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[IncidentStatus] = mapped_column(
        Enum(IncidentStatus, name="incident_status"), default=IncidentStatus.pending
    )
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True))
    address_label: Mapped[str | None] = mapped_column(String(300))
    municipality: Mapped[str | None] = mapped_column(String(100))
    geocode_match: Mapped[GeocodeMatch] = mapped_column(Enum(GeocodeMatch, name="geocode_match"))
    geocode_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    needs_location: Mapped[bool] = mapped_column(server_default=text("false"))
    # A drill or simulated traffic: handled like any call, left out of every report (migration 0016).
    exercise: Mapped[bool] = mapped_column(server_default=text("false"))
    # Slots of the response plan no unit fills yet: the matcher keeps such an incident in the queue.
    units_missing: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    narrative: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    disposition: Mapped[str | None] = mapped_column(String(64))  # how it ended: "treated", "false alarm", ...
    # The type's key questions as the call-taker asked them: [{"question", "answer"}], in the order asked.
    answers: Mapped[list[dict[str, str]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # The interval timestamps that the commander reports are computed from (all UTC).
    received_at: Mapped[datetime]
    entered_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    en_route_at: Mapped[datetime | None]
    on_scene_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_incidents_open", "priority", "received_at", postgresql_where=text("closed_at IS NULL")),
        Index("ix_incidents_received_at", "received_at"),
        # The search's words (incidents/search.py): a substring of years of incidents found without reading
        # them all (pg_trgm, migration 0013).
        *(trigram_index("incidents", column) for column in ("address_label", "narrative")),
        # The duplicate check looks only at open incidents nearby: this index does not grow with history.
        Index(
            "ix_incidents_open_location",
            "location",
            postgresql_using="gist",
            postgresql_where=text(f"status IN {sql_in(OPEN_INCIDENT)}"),
        ),
    )


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, name="channel"))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    callback_number: Mapped[str | None] = mapped_column(String(32))
    location_text: Mapped[str | None] = mapped_column(String(500))
    reported_location = mapped_column(Geography("POINT", srid=4326, spatial_index=False))
    narrative: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))  # a retry must repeat the same request
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        Index("ix_calls_number_received", "caller_number", "received_at"),
        *(trigram_index("calls", column) for column in ("caller_name", "caller_number")),
    )


class IncidentEvent(Base):
    """Append-only: a database trigger refuses UPDATE and DELETE."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime] = created_at_column()
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))

    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    slot: Mapped[str] = mapped_column(String(32))  # the capability of the response plan it fills
    status: Mapped[AssignmentStatus] = mapped_column(
        Enum(AssignmentStatus, name="assignment_status"), default=AssignmentStatus.assigned
    )
    eta_s: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    assigned_at: Mapped[datetime] = created_at_column()
    acknowledged_at: Mapped[datetime | None]
    en_route_at: Mapped[datetime | None]
    on_scene_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    __table_args__ = (
        # A unit is never on two incidents at once: at most one active assignment per unit.
        Index(
            "uq_assignments_active_unit",
            "unit_id",
            unique=True,
            postgresql_where=text(f"status IN {sql_in(ACTIVE_ASSIGNMENT)}"),
        ),
    )


class PremiseFlag(Base):
    """What responders must know about a place: hazards and special needs, kept by dispatchers."""

    __tablename__ = "premise_flags"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    location = mapped_column(Geography("POINT", srid=4326, spatial_index=True), nullable=False)
    radius_m: Mapped[float] = mapped_column(Float, default=25.0)
    address_label: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(32))  # hazard | special_needs | access | info
    description: Mapped[str] = mapped_column(Text)  # "dog on premises", "oxygen in use", ...
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(server_default=text("true"))
