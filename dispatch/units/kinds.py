"""The kinds of stations and units, as the database's enums name them. Pure (no SQLAlchemy), so that the settings
can read a fleet file without the models."""

from enum import StrEnum


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
