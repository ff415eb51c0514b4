"""The incident event log: what each kind of event carries, and the incident rebuilt from its events alone.

Every change to an incident is an append-only event; `replay` folds the events into the state the
incidents row must have. A test checks row and replay agree after every kind of change, so the log can
be trusted as the record commanders and courts read.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dispatch.statuses import OPEN_INCIDENT, IncidentStatus


class EventKind(StrEnum):
    received = "received"  # payload: the incident as first entered (see RECEIVED_FIELDS)
    queued = "queued"  # entered the dispatch queue
    located = "located"  # payload: the location fields that changed
    typed = "typed"  # payload: type_code, priority
    reprioritised = "reprioritised"  # payload: priority, reason
    updated = "updated"  # payload: narrative and other free fields that changed
    call_added = "call_added"  # a further call about the same incident; payload: call_id, channel
    confirmed = "confirmed"  # an SMS or public report accepted by a call-taker
    recommended = "recommended"  # payload: units proposed to the dispatcher, with reasons
    dispatched = "dispatched"  # payload: unit_id, assignment_id, slot, eta_s
    diverted = "diverted"  # a unit taken off this incident for a more urgent one; payload: unit_id, to
    unassigned = "unassigned"  # a unit left before reaching the scene; payload: unit_id
    acknowledged = "acknowledged"
    en_route = "en_route"
    on_scene = "on_scene"
    transporting = "transporting"  # payload: unit_id
    at_hospital = "at_hospital"  # payload: unit_id
    cleared = "cleared"  # a unit done on scene; the incident is cleared when its last unit is; payload: unit_id
    # A dispatcher took one unit off (after its `unassigned` or `cleared`, which move the incident along);
    # payload: unit_id, assignment_id, reason, requeued (the incident is matched again for the gap)
    stood_down = "stood_down"
    cancelled = "cancelled"  # payload: reason
    merged = "merged"  # payload: into (the incident it duplicates)
    closed = "closed"  # payload: disposition, note
    note = "note"  # payload: text


LOCATION_FIELDS = (
    "lat",
    "lon",
    "address_label",
    "municipality",
    "geocode_match",
    "geocode_confidence",
    "needs_location",
)
RECEIVED_FIELDS = ("type_code", "priority", "status", "narrative", *LOCATION_FIELDS)
# Unit progress: the first time any unit reaches a stage is the incident's time for it.
STAGE_TIMES = {
    EventKind.dispatched: "dispatched_at",
    EventKind.acknowledged: "acknowledged_at",
    EventKind.en_route: "en_route_at",
    EventKind.on_scene: "on_scene_at",
}
UNIT_LEAVES = (EventKind.cleared, EventKind.unassigned, EventKind.diverted)
# An open incident moves forward through its stages only, in the enum's order.
STAGE_ORDER: tuple[str, ...] = tuple(s.value for s in IncidentStatus if s in OPEN_INCIDENT)
STAGE_STATUS = {EventKind.dispatched: "dispatched", EventKind.en_route: "en_route", EventKind.on_scene: "on_scene"}


@dataclass
class IncidentState:
    type_code: str | None = None
    priority: int | None = None
    status: str | None = None
    narrative: str | None = None
    lat: float | None = None
    lon: float | None = None
    address_label: str | None = None
    municipality: str | None = None
    geocode_match: str | None = None
    geocode_confidence: float | None = None
    needs_location: bool | None = None
    duplicate_of_id: int | None = None
    disposition: str | None = None
    received_at: datetime | None = None
    queued_at: datetime | None = None
    dispatched_at: datetime | None = None
    acknowledged_at: datetime | None = None
    en_route_at: datetime | None = None
    on_scene_at: datetime | None = None
    cleared_at: datetime | None = None
    closed_at: datetime | None = None
    notes: list[str] = field(default_factory=list)
    call_ids: list[int] = field(default_factory=list)
    units: set[int] = field(default_factory=set)  # units on it now
    stages: dict[int, str] = field(default_factory=dict)  # each unit on it now: the furthest stage it reached
    some_cleared: bool = False


def apply(state: IncidentState, kind: str, at: datetime, payload: dict[str, Any]) -> IncidentState:
    kind = EventKind(kind)
    if kind == EventKind.received:
        for name in RECEIVED_FIELDS:
            setattr(state, name, payload.get(name))
        state.received_at = datetime.fromisoformat(payload["received_at"]) if "received_at" in payload else at
        state.call_ids = [payload["call_id"]] if "call_id" in payload else []
    elif kind == EventKind.queued:
        state.queued_at = state.queued_at or at
        state.status = "pending"
    elif kind in (EventKind.located, EventKind.typed, EventKind.reprioritised, EventKind.updated):
        for name, value in payload.items():
            if name != "reason" and hasattr(state, name):
                setattr(state, name, value)
    elif kind == EventKind.call_added:
        state.call_ids.append(payload["call_id"])
    elif kind in UNIT_LEAVES:
        _unit_left(state, kind, at, payload)
    elif kind in STAGE_TIMES:
        _stage_reached(state, kind, at, payload)
    elif kind == EventKind.cancelled:
        state.status, state.closed_at = "cancelled", at
    elif kind == EventKind.merged:
        state.status, state.closed_at, state.duplicate_of_id = "cancelled", at, payload["into"]
    elif kind == EventKind.closed:
        state.status, state.closed_at, state.disposition = "closed", at, payload.get("disposition")
    elif kind == EventKind.note:
        state.notes.append(payload["text"])
    return state


def _unit_left(state: IncidentState, kind: EventKind, at: datetime, payload: dict[str, Any]) -> None:
    unit = payload.get("unit_id")
    state.units.discard(unit)
    if unit is not None:
        state.stages.pop(unit, None)
    state.some_cleared = state.some_cleared or kind == EventKind.cleared
    if state.some_cleared and not state.units and state.cleared_at is None:
        state.cleared_at = at  # no unit left on an incident some unit was done at
    # The units left on it say its stage: the one on scene gone, another still on its way, it is en route again.
    left = [state.stages.get(u, "dispatched") for u in state.units]
    if left and state.status in STAGE_STATUS.values():
        state.status = max(left, key=STAGE_ORDER.index)


def _stage_reached(state: IncidentState, kind: EventKind, at: datetime, payload: dict[str, Any]) -> None:
    unit = payload.get("unit_id")
    if kind == EventKind.dispatched and unit is not None:
        state.units.add(unit)
    reached = STAGE_STATUS.get(kind, "dispatched")  # acknowledged: still at the dispatched stage
    if unit in state.units and STAGE_ORDER.index(reached) > STAGE_ORDER.index(state.stages.get(unit, "dispatched")):
        state.stages[unit] = reached
    column = STAGE_TIMES[kind]
    if getattr(state, column) is None:
        setattr(state, column, at)
    new = STAGE_STATUS.get(kind)
    # Status only moves forward: a unit sent later to an incident already on scene does not turn it back.
    if new and state.status in STAGE_ORDER and STAGE_ORDER.index(new) > STAGE_ORDER.index(state.status):
        state.status = new


def replay(events: list[tuple[str, datetime, dict[str, Any]]]) -> IncidentState:
    """The incident as its events say it is. `events` are (kind, at, payload) in log order."""
    state = IncidentState()
    for kind, at, payload in events:
        apply(state, kind, at, payload)
    return state
