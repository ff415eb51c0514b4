"""What a crew's device is told: the assignment with all it needs on the way, moves, updates, cancels."""

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.incidents.types import incident_types
from dispatch.push import team
from dispatch.push.team import NOTES_JSON
from dispatch.statuses import ACTIVE_ASSIGNMENT, sql_in
from geo.routing import Route, Router, RoutingError

ROUTE_POINTS = 300  # at most this many points of route geometry on the wire

# A message as it goes on the wire: a JSON object whose values are whatever JSON holds.
Message = dict[str, Any]


# What every unit sent to an incident is told about it, as columns of `incidents i` (one query however many
# units go; the dispatch write reads them with its lock, so a dispatch costs no extra round trip for them).
BRIEF_COLUMNS = (
    """i.type_code, i.priority, i.address_label, i.municipality, ST_Y(i.location::geometry),
       ST_X(i.location::geometry), i.narrative, i.needs_location,
       (SELECT coalesce(c.callback_number, c.caller_number) FROM calls c
        WHERE c.incident_id = i.id ORDER BY c.id LIMIT 1),
       (SELECT c.caller_name FROM calls c WHERE c.incident_id = i.id ORDER BY c.id LIMIT 1),
       (SELECT coalesce(jsonb_agg(jsonb_build_object('category', f.category, 'description', f.description)
                                  ORDER BY f.created_at), '[]')
        FROM premise_flags f
        WHERE i.location IS NOT NULL AND f.active AND (f.expires_at IS NULL OR f.expires_at > now())
          AND ST_DWithin(f.location, i.location, f.radius_m + 10)),
       """
    + NOTES_JSON.format(incident="i.id")
    + ", i.answers, i.exercise"
)


def _type_name(code: str) -> str:
    """The type's name a crew reads (the code is for machines)."""
    kind = incident_types().get(code)
    return kind.name if kind is not None else code


def brief_of(incident_id: int, row: Sequence[Any]) -> Message:
    """The brief from the fourteen BRIEF_COLUMNS of a row."""
    type_code, priority, address, municipality, lat, lon, narrative, needs_location = row[:8]
    callback, caller, flags, notes, answers, exercise = row[8:]
    if isinstance(flags, str):
        flags = orjson.loads(flags)
    if isinstance(notes, str):
        notes = orjson.loads(notes)
    if isinstance(answers, str):
        answers = orjson.loads(answers)
    return {
        "incident_id": incident_id,
        "incident_type": type_code,
        "incident_type_name": _type_name(type_code),
        "priority": priority,
        "address": address,
        "municipality": municipality,
        "location": {"lat": lat, "lon": lon, "needs_location": needs_location},
        "narrative": narrative,
        "callback": callback,
        "caller_name": caller,  # who to ask for on calling back
        "premise_flags": flags,
        "notes": notes,  # what dispatchers wrote in the incident's log so far; later ones come as `update`
        "answers": answers,  # the caller's answers to the type's key questions: [{question, answer}]
        "exercise": exercise,  # a drill, not a real call: the device says so on every view of the job
    }


async def brief(session: AsyncSession, incident_id: int) -> Message:
    """What every unit sent to the incident is told about it."""
    row = (
        await session.execute(text(f"SELECT {BRIEF_COLUMNS} FROM incidents i WHERE i.id = :id"), {"id": incident_id})
    ).one()
    return brief_of(incident_id, row)


def assignment(about: Message, *, assignment_id: int, slot: str, eta_s: float | None) -> Message:
    """The assignment as the crew first sees it; its route follows as an `update` (see Pusher.assignments)."""
    return {"type": "assignment", **about, "assignment_id": assignment_id, "slot": slot, "eta_s": eta_s, "route": None}


def route(
    router: Router, start: tuple[float, float], end: tuple[float, float], *, found: Route | None = None
) -> Message | None:
    """The route as a device draws it; `found` when the caller has it already (the matcher's search tree)."""
    if found is None:
        try:
            found = router.route(start, end)
        except RoutingError:
            return None
    coords = found.coords
    if len(coords) > ROUTE_POINTS:  # keep the shape, drop points evenly, always keep the ends
        step = len(coords) / (ROUTE_POINTS - 1)
        coords = [coords[int(i * step)] for i in range(ROUTE_POINTS - 1)] + [coords[-1]]
    return {
        "seconds": round(found.seconds, 1),
        "meters": round(found.meters, 1),
        "coords": [[round(a, 6), round(b, 6)] for a, b in coords],
        "steps": [step.as_dict() for step in found.steps()],
    }


def cancel(incident_id: int, reason: str, assignment_id: int | None = None) -> Message:
    """`assignment_id`, when known: the assignment that ended (the outbox then refuses a late push of it)."""
    message: Message = {"type": "cancel", "incident_id": incident_id, "reason": reason}
    if assignment_id is not None:
        message["assignment_id"] = assignment_id
    return message


def move(post_id: int, post: str, lat: float, lon: float, reason: str) -> Message:
    return {"type": "move", "post_id": post_id, "post": post, "location": {"lat": lat, "lon": lon}, "reason": reason}


# The unit's active assignment with its brief, for `current` (one query).
CURRENT = f"""SELECT a.id, a.incident_id, a.slot, a.status::text, a.eta_s, {BRIEF_COLUMNS}
FROM assignments a JOIN incidents i ON i.id = a.incident_id
WHERE a.unit_id = :unit AND a.status IN {sql_in(ACTIVE_ASSIGNMENT)}"""


async def current_assignment(session: AsyncSession, unit_id: int) -> Message | None:
    """The unit's active assignment as PostgreSQL has it, in the shape of an `assignment` message, with where
    it stands (`status`: assigned, acknowledged, en_route, on_scene) and the units on the incident (`team`); None
    if it has none."""
    row = (await session.execute(text(CURRENT), {"unit": unit_id})).one_or_none()
    if row is None:
        return None
    assignment_id, incident_id, slot, status, eta_s, *brief_row = row
    return {
        **assignment(brief_of(incident_id, brief_row), assignment_id=assignment_id, slot=slot, eta_s=eta_s),
        "status": status,
        "team": await team.team(session, incident_id),
    }


def current(active: Message | None) -> Message:
    """What the unit has to do now, from PostgreSQL: it replaces whatever the device holds (sent when the
    outbox cannot prove that a resuming device has every message since its last one)."""
    if active is None:
        return {"type": "current", "incident_id": None, "assignment": None}
    return {
        "type": "current",
        "incident_id": active["incident_id"],
        "assignment": {k: v for k, v in active.items() if k != "type"},
    }


def awaited_assignment(message: Message) -> Message | None:
    """The assignment a message asks the crew to acknowledge: an `assignment`, or a `current` whose assignment
    was never acknowledged. Its acknowledgement deadline escalates; any other message's is only resent."""
    if message.get("type") == "assignment":
        return message
    held: Message | None = message.get("assignment") if message.get("type") == "current" else None
    if held and held.get("status") == "assigned":
        return held
    return None
