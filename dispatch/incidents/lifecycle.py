"""Changes to an incident after intake: corrections, priority, notes, confirmation, merging, cancelling and
closing. Each writes its event next to the row change, and says what the queue must do once committed."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.errors import Conflict, Forbidden, NotFound
from dispatch.incidents import repository as repo
from dispatch.incidents.events import EventKind
from dispatch.incidents.locate import locate
from dispatch.incidents.schemas import IncidentUpdateIn
from dispatch.incidents.service import resolve_type
from dispatch.incidents.types import IncidentTypes
from dispatch.statuses import ACTIVE_ASSIGNMENT, OPEN_INCIDENT, sql_in
from geo.geocoder import Geocoder

ACTIVE = sql_in(ACTIVE_ASSIGNMENT)


@dataclass
class QueueAction:
    """What the queue must do after the commit: nothing, enqueue, reprioritise or remove."""

    action: str  # "none" | "enqueue" | "reprioritise" | "remove"
    incident_id: int
    priority: int = 0
    received_at_ms: int = 0
    released: tuple[tuple[int, bool, int], ...] = ()  # stood down: (unit, free again, its assignment); crews told
    why: str = ""  # what the devices are told when units are stood down


# Each active assignment ends by the one rule for it (end_assignment, dispatch/incidents/sql), its units are
# free again unless out of service. `unit`: only that unit's (a dispatcher standing one unit down; NULL: all).
# `reopen`: the incident stays open and the plan's slot the unit filled is a gap to fill again (never for a
# unit beyond the plan, an 'extra').
_RELEASE = text(f"""
WITH ended AS (
    SELECT e.* FROM (SELECT id, slot FROM assignments
                     WHERE incident_id = :id AND status IN {ACTIVE}
                       AND (CAST(:unit AS bigint) IS NULL OR unit_id = CAST(:unit AS bigint))
                     ORDER BY unit_id) a,
         LATERAL end_assignment(a.id, :actor, :reopen AND a.slot <> 'extra', NULL) e
), freed AS (
    UPDATE units SET status = 'available', status_changed_at = now()
    WHERE id IN (SELECT unit_id FROM ended) AND status <> 'out_of_service'
    RETURNING id
)
SELECT unit_id, unit_id IN (SELECT id FROM freed), assignment_id, requeue_id IS NOT NULL
FROM ended ORDER BY unit_id""")
Released = tuple[tuple[int, bool, int], ...]


async def _release(
    session: AsyncSession, incident_id: int, actor: str, *, unit: int | None = None, reopen: bool = False
) -> tuple[Released, bool]:
    """(unit, free again, the assignment) for each assignment ended, and whether the incident must be matched
    again (see end_assignment's requeue)."""
    params = {"id": incident_id, "actor": actor, "unit": unit, "reopen": reopen}
    rows = (await session.execute(_RELEASE, params)).all()
    return tuple((r[0], r[1], r[2]) for r in rows), any(r[3] for r in rows)


async def stand_down(session: AsyncSession, incident_id: int, actor: str) -> Released:
    """Ends every active assignment of an incident that is over: (unit, free again, the assignment) for each."""
    released, _ = await _release(session, incident_id, actor)
    # No unit may be left to end (the last one was diverted): the incident is cleared all the same if one was
    # done there.
    await session.execute(text("SELECT incident_cleared_if_done(:id)"), {"id": incident_id})
    return released


async def _open(session: AsyncSession, incident_id: int) -> dict[str, Any]:
    row = await repo.incident_row(session, incident_id, lock=True)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if row["status"] not in OPEN_INCIDENT:
        raise Conflict(f"incident {incident_id} is {row['status']}")
    return row


def _received_ms(row: dict[str, Any]) -> int:
    return int(row["received_at"].timestamp() * 1000)


async def _audit(
    session: AsyncSession,
    by: Actor,
    action: str,
    incident_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any],
) -> None:
    await audit.record(
        session,
        actor=by,
        action=f"incident.{action}",
        object_type="incident",
        object_id=incident_id,
        before=before,
        after=after,
    )


async def update(
    session: AsyncSession,
    incident_id: int,
    body: IncidentUpdateIn,
    *,
    actor: str,
    by: Actor,
    geocoder: Geocoder,
    types: IncidentTypes,
    dispatcher: bool,
) -> QueueAction:
    """`dispatcher`: the caller has the dispatcher's role, which a type change that changes the priority takes
    (as reprioritising does): a call-taker cannot raise or lower a priority by retyping."""
    row = await _open(session, incident_id)
    if body.type_code is not None and not dispatcher:
        kind, _ = resolve_type(types, body.type_code, None)
        if kind.priority != row["priority"]:
            raise Forbidden(
                f"type {kind.code} is priority {kind.priority} and incident {incident_id} priority "
                f"{row['priority']}: changing the priority takes a dispatcher"
            )
    changes: dict[str, Any] = {}
    if body.location_text is not None or body.lat is not None:
        located = locate(geocoder, text=body.location_text, lat=body.lat, lon=body.lon)
        payload = located.event_payload()
        await repo.append_event(
            session, incident_id, EventKind.located, actor, {**payload, "location_text": body.location_text}
        )
        changes.update(payload)
    if body.type_code is not None:
        kind, _ = resolve_type(types, body.type_code, None)
        await repo.append_event(
            session, incident_id, EventKind.typed, actor, {"type_code": kind.code, "priority": kind.priority}
        )
        changes.update(type_code=kind.code, priority=kind.priority)
    if body.narrative is not None:
        await repo.append_event(session, incident_id, EventKind.updated, actor, {"narrative": body.narrative})
        changes["narrative"] = body.narrative
    await repo.update_incident(session, incident_id, changes)
    await _audit(session, by, "correct", incident_id, {k: row.get(k) for k in changes}, changes)
    if "priority" in changes and changes["priority"] != row["priority"] and row["status"] == "pending":
        return QueueAction("reprioritise", incident_id, changes["priority"])
    return QueueAction("none", incident_id)


async def reprioritise(
    session: AsyncSession, incident_id: int, *, priority: int, reason: str, actor: str, by: Actor
) -> QueueAction:
    row = await _open(session, incident_id)
    await repo.append_event(
        session, incident_id, EventKind.reprioritised, actor, {"priority": priority, "reason": reason}
    )
    await repo.update_incident(session, incident_id, {"priority": priority})
    await _audit(session, by, "priority", incident_id, {"priority": row["priority"]}, {"priority": priority})
    # Waiting or partly dispatched, the incident may be in the queue: its place changes either way.
    return QueueAction("reprioritise", incident_id, priority)


async def add_note(session: AsyncSession, incident_id: int, *, note: str, actor: str, by: Actor) -> None:
    if await repo.incident_row(session, incident_id) is None:
        raise NotFound(f"no incident {incident_id}")
    await repo.append_event(session, incident_id, EventKind.note, actor, {"text": note})
    await _audit(session, by, "note", incident_id, None, {"note": note})


async def confirm(session: AsyncSession, incident_id: int, *, actor: str, by: Actor) -> QueueAction:
    """An SMS or public report accepted by a call-taker: from now on it is queued like any call."""
    row = await _open(session, incident_id)
    if row["status"] != "unconfirmed":
        raise Conflict(f"incident {incident_id} is {row['status']}, not unconfirmed")
    await repo.append_event(session, incident_id, EventKind.confirmed, actor, {})
    await repo.append_event(session, incident_id, EventKind.queued, actor, {})
    await session.execute(
        text("UPDATE incidents SET status = 'pending', queued_at = now() WHERE id = :id"), {"id": incident_id}
    )
    await _audit(session, by, "confirm", incident_id, {"status": row["status"]}, {"status": "pending"})
    return QueueAction("enqueue", incident_id, row["priority"], _received_ms(row))


async def cancel(session: AsyncSession, incident_id: int, *, reason: str, actor: str, by: Actor) -> QueueAction:
    row = await _open(session, incident_id)
    released = await stand_down(session, incident_id, actor)
    await repo.append_event(session, incident_id, EventKind.cancelled, actor, {"reason": reason})
    await session.execute(
        text("UPDATE incidents SET status = 'cancelled', closed_at = now() WHERE id = :id"), {"id": incident_id}
    )
    after = {"status": "cancelled", "reason": reason, "units_stood_down": [unit_id for unit_id, *_ in released]}
    await _audit(session, by, "cancel", incident_id, {"status": row["status"]}, after)
    return QueueAction("remove", incident_id, released=released, why=f"incident cancelled: {reason}")


async def stand_down_unit(
    session: AsyncSession, incident_id: int, unit_id: int, *, reason: str, actor: str, by: Actor
) -> tuple[QueueAction, dict[str, Any]]:
    """A dispatcher takes one unit off an open incident: its assignment ends by the stand-down's one rule (the
    unit free again unless out of service, its crew told with a cancel after the commit). Before any unit has
    reached the scene, the slot it filled is a gap: the incident is matched again (pending again when no unit is
    left on it). Once one has, the dispatcher is trusted that the scene needs no other. Returns the queue's
    action and the unit as the consoles are told of it (call_sign, status, previous)."""
    row = await _open(session, incident_id)
    unit = (
        await session.execute(text("SELECT call_sign, status::text FROM units WHERE id = :u"), {"u": unit_id})
    ).first()
    if unit is None:
        raise NotFound(f"no unit {unit_id}")
    released, requeue = await _release(session, incident_id, actor, unit=unit_id, reopen=row["on_scene_at"] is None)
    if not released:
        raise Conflict(f"unit {unit_id} is not on incident {incident_id}")
    _, free, assignment_id = released[0]
    payload = {"unit_id": unit_id, "assignment_id": assignment_id, "reason": reason, "requeued": requeue}
    await repo.append_event(session, incident_id, EventKind.stood_down, actor, payload)
    await _audit(session, by, "stand_down_unit", incident_id, {"units": [unit_id]}, payload | {"free": free})
    action = QueueAction(
        "enqueue" if requeue else "none",
        incident_id,
        row["priority"],
        _received_ms(row),
        released=released,
        why=f"stood down: {reason}",
    )
    status = "available" if free else unit[1]
    return action, {"call_sign": unit[0], "status": status, "previous": unit[1]}


# Dispositions that say a crew was there; closing with one where none arrived takes a dispatcher's `confirm`.
AT_SCENE = frozenset({"treated", "transported"})
_ARRIVED = text("""
    SELECT on_scene_at IS NOT NULL
        OR EXISTS (SELECT 1 FROM assignments WHERE incident_id = :id AND on_scene_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM incident_events WHERE incident_id = :id AND kind = 'on_scene')
    FROM incidents WHERE id = :id""")


async def close(
    session: AsyncSession,
    incident_id: int,
    *,
    disposition: str,
    note: str | None,
    actor: str,
    by: Actor,
    confirm: bool = False,
) -> QueueAction:
    row = await _open(session, incident_id)
    # Kept in the log and the audit when a dispatcher confirmed it: what was closed as treated with no arrival.
    extra: dict[str, Any] = {}
    if disposition in AT_SCENE and not await session.scalar(_ARRIVED, {"id": incident_id}):
        extra["confirmed_without_arrival"] = True
    if extra and not confirm:
        raise Conflict(
            f"incident {incident_id}: no unit reached the scene, so it cannot have been {disposition}; "
            "choose another disposition, or close again with confirm: true if it was",
            extra={"disposition": disposition, "arrived": False},
        )
    released = await stand_down(session, incident_id, actor)
    await repo.append_event(
        session, incident_id, EventKind.closed, actor, {"disposition": disposition, "note": note, **extra}
    )
    await session.execute(
        text("""UPDATE incidents SET status = 'closed', closed_at = now(), disposition = :d
                                  WHERE id = :id"""),
        {"id": incident_id, "d": disposition},
    )
    after: dict[str, Any] = {"status": "closed", "disposition": disposition, "note": note, **extra}
    after["units_stood_down"] = [unit_id for unit_id, *_ in released]
    await _audit(session, by, "close", incident_id, {"status": row["status"], "disposition": row["disposition"]}, after)
    return QueueAction("remove", incident_id, released=released, why=f"incident closed: {disposition}")


async def _merge_allowed(session: AsyncSession, row: dict[str, Any], target: dict[str, Any]) -> None:
    """What a call-taker may merge: a duplicate with no unit on it, into an incident at least as urgent. Standing
    units down and lowering a priority are the dispatcher's (the rows are locked: no unit joins meanwhile)."""
    units = await session.scalar(
        text(f"SELECT count(*) FROM assignments WHERE incident_id = :id AND status IN {sql_in(ACTIVE_ASSIGNMENT)}"),
        {"id": row["id"]},
    )
    if units:
        raise Forbidden(
            f"incident {row['id']} has {units} unit{'s' if units > 1 else ''} on it, which a merge "
            "would stand down: merging it takes a dispatcher"
        )
    if row["priority"] < target["priority"]:
        raise Forbidden(
            f"incident {row['id']} is priority {row['priority']} and incident {target['id']} priority "
            f"{target['priority']}: merging it into a less urgent one takes a dispatcher"
        )


async def merge(
    session: AsyncSession, incident_id: int, *, into: int, actor: str, by: Actor, dispatcher: bool
) -> QueueAction:
    """A confirmed duplicate: its calls move to the incident it duplicates, and it is closed as merged. Both keep
    their logs: the duplicate's ends with the merge, the other gains the calls, each naming where it came from.
    `dispatcher`: the caller has the dispatcher's role (see `_merge_allowed` for what a call-taker may merge)."""
    if into == incident_id:
        raise Conflict("an incident cannot be merged into itself")
    row = await _open(session, incident_id)
    target = await _open(session, into)
    if row["exercise"] != target["exercise"]:  # a drill and a real incident never become one
        raise Conflict(f"incident {incident_id} and incident {into} are not both exercises, or both real")
    if not dispatcher:
        await _merge_allowed(session, row, target)
    released = await stand_down(session, incident_id, actor)
    calls = (
        await session.execute(
            text("UPDATE calls SET incident_id = :into WHERE incident_id = :id RETURNING id, channel::text"),
            {"id": incident_id, "into": into},
        )
    ).all()
    for call_id, channel in calls:
        await repo.append_event(
            session,
            into,
            EventKind.call_added,
            actor,
            {"call_id": call_id, "channel": channel, "merged_from": incident_id},
        )
    await repo.append_event(
        session,
        incident_id,
        EventKind.merged,
        actor,
        {"into": into, "units_stood_down": [unit_id for unit_id, *_ in released]},
    )
    await session.execute(
        text("""UPDATE incidents SET status = 'cancelled', closed_at = now(), duplicate_of_id = :into
                                  WHERE id = :id"""),
        {"id": incident_id, "into": into},
    )
    moved = [call_id for call_id, _ in calls]
    before = {"status": row["status"], "duplicate_of_id": row["duplicate_of_id"]}
    after = {"status": "cancelled", "duplicate_of_id": into, "calls_moved": moved}
    await _audit(session, by, "merge", incident_id, before, after | {"units_stood_down": [u for u, *_ in released]})
    await _audit(session, by, "merge_into", into, None, {"calls_added": moved, "merged_from": incident_id})
    return QueueAction("remove", incident_id, released=released, why=f"duplicate of incident {into}")
