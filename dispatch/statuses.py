"""The statuses of incidents, assignments and units, and the sets the rules are written in, each defined once.

Python reads the sets as frozensets of enum members (a `StrEnum` member equals its string, so `"available" in
FREE_UNIT` holds); SQL reads them through `sql_in`, which the server-side functions' files name as
`{{ACTIVE_ASSIGNMENT}}` and the like (`dispatch.sqlfunctions`), and queries written in Python interpolate.
Literals rather than bound arrays: only so does the planner match a statement to the partial indexes that
are declared on the same sets (active assignments, open incidents).

Pure: no I/O, imported by the matching core as well as by the models.
"""

from collections.abc import Iterable
from enum import StrEnum


class IncidentStatus(StrEnum):
    unconfirmed = "unconfirmed"  # an SMS or public report: waits for a call-taker before it is queued
    pending = "pending"  # received, waiting in the queue for units
    dispatched = "dispatched"  # at least one unit assigned
    en_route = "en_route"
    on_scene = "on_scene"
    closed = "closed"
    cancelled = "cancelled"


class AssignmentStatus(StrEnum):
    assigned = "assigned"  # sent to the unit's device, not yet acknowledged
    acknowledged = "acknowledged"
    en_route = "en_route"
    on_scene = "on_scene"
    cleared = "cleared"
    cancelled = "cancelled"


class UnitStatus(StrEnum):
    available = "available"  # in quarters or on standby, can take a call
    dispatched = "dispatched"  # assigned, the device has not acknowledged yet
    acknowledged = "acknowledged"  # the crew has the assignment, not yet moving
    en_route = "en_route"
    on_scene = "on_scene"
    transporting = "transporting"
    at_hospital = "at_hospital"
    returning = "returning"  # available while driving back to quarters
    out_of_service = "out_of_service"


Inc, Asg, Unit = IncidentStatus, AssignmentStatus, UnitStatus

# An incident not yet over: the duplicate check and the caller's open calls look among these.
OPEN_INCIDENT = frozenset({Inc.unconfirmed, Inc.pending, Inc.dispatched, Inc.en_route, Inc.on_scene})
# Open and accepted: units may be sent to it (an unconfirmed report waits for a call-taker first).
DISPATCHABLE_INCIDENT = OPEN_INCIDENT - {Inc.unconfirmed}
# An assignment still holding its unit: a unit has at most one (a partial unique index says so).
ACTIVE_ASSIGNMENT = frozenset({Asg.assigned, Asg.acknowledged, Asg.en_route, Asg.on_scene})
# A unit that can take a new call at once; "returning" is free while it drives home.
FREE_UNIT = frozenset({Unit.available, Unit.returning})
# A unit on no incident (free, or out of service): a status report into one of these ends its assignment.
OFF_INCIDENT_UNIT = FREE_UNIT | {Unit.out_of_service}
# Busy on a call but still driving to it or not yet moving: a priority-1 call may take it away.
DIVERTIBLE_UNIT = frozenset({Unit.dispatched, Unit.acknowledged, Unit.en_route})

SETS: dict[str, frozenset[StrEnum]] = {
    "OPEN_INCIDENT": OPEN_INCIDENT,
    "DISPATCHABLE_INCIDENT": DISPATCHABLE_INCIDENT,
    "ACTIVE_ASSIGNMENT": ACTIVE_ASSIGNMENT,
    "FREE_UNIT": FREE_UNIT,
    "OFF_INCIDENT_UNIT": OFF_INCIDENT_UNIT,
    "DIVERTIBLE_UNIT": DIVERTIBLE_UNIT,
}


def _position(status: StrEnum) -> int:
    """Where a member stands in its enum's declaration."""
    members: list[StrEnum] = list(type(status))
    return members.index(status)


def sql_in(statuses: Iterable[StrEnum]) -> str:
    """`('a', 'b')`, in the enum's order (a stable text: the functions' files are compared with the database).
    The values are the enums' own names, never user input."""
    members = sorted(statuses, key=_position)
    return "(" + ", ".join(f"'{s.value}'" for s in members) + ")"
