"""The incident's log as people read it: each event with a line of text that names what happened ("Engine 1 on
scene", "note by dispatcher: gate code 1234"), the units by call sign. One query for the whole log: the call
signs come joined in, never looked up per event."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.incidents.events import EventKind
from dispatch.incidents.types import IncidentTypes

Payload = dict[str, Any]

# A unit's event names the unit: its call sign when the unit still exists, else its number. A further call
# names its caller, from the call (personal data, kept out of the append-only log).
_EVENTS = text("""
SELECT e.id, e.at, e.kind, e.actor, e.payload, u.call_sign, c.caller_name, c.caller_number
FROM incident_events e
LEFT JOIN units u ON u.id = CASE WHEN jsonb_typeof(e.payload->'unit_id') = 'number'
                               THEN (e.payload->>'unit_id')::numeric::bigint END
LEFT JOIN calls c ON e.kind = 'call_added'
                 AND c.id = CASE WHEN jsonb_typeof(e.payload->'call_id') = 'number'
                                 THEN (e.payload->>'call_id')::numeric::bigint END
WHERE e.incident_id = :id ORDER BY e.id""")

_DISPOSITIONS = {
    "no_action": "no action",
    "false_alarm": "false alarm",
    "gone_on_arrival": "gone on arrival",
}


def _who(actor: str) -> str:
    """'dispatcher:anna' reads as 'dispatcher anna'; the service's own writers ('matcher') as they are."""
    role, _, name = actor.partition(":")
    return f"{role} {name}" if name else role


def _type(types: IncidentTypes, code: Any) -> str:
    kind = types.get(str(code)) if code else None
    return f"{kind.name} ({kind.code})" if kind else str(code or "unknown type")


def _received(p: Payload, types: IncidentTypes) -> str:
    words = [f"received by {p.get('channel') or 'phone'}: {_type(types, p.get('type_code'))}"]
    if p.get("priority") is not None:
        words.append(f"priority {p['priority']}")
    if p.get("address_label"):
        words.append(f"at {p['address_label']}")
    elif p.get("needs_location"):
        words.append("location unknown")
    return ", ".join(words)


def _located(p: Payload) -> str:
    if p.get("address_label"):
        return f"location corrected to {p['address_label']}"
    if p.get("lat") is not None and p.get("lon") is not None:
        return f"location corrected to {p['lat']:.5f}, {p['lon']:.5f}"
    return f"location corrected to {p.get('location_text') or 'an unknown place'} (not found on the map)"


def _updated(p: Payload) -> str:
    if p.get("narrative"):
        return f"narrative now: {p['narrative']}"
    return "updated: " + (", ".join(sorted(p)) or "nothing")


def _call_added(p: Payload) -> str:
    """'further call by phone from Anna Beck, +423 791 22 22': the caller as the call has them."""
    said = f"further call by {p.get('channel') or 'phone'}"
    caller = ", ".join(str(p[k]) for k in ("caller_name", "caller_number") if p.get(k))
    if caller:
        said += f" from {caller}"
    return f"{said} (from merged incident #{p['merged_from']})" if p.get("merged_from") else said


def _recommended(p: Payload) -> str:
    units = p.get("units")
    if isinstance(units, list) and units:
        signs = [str(u.get("call_sign") or u.get("unit_id")) if isinstance(u, dict) else str(u) for u in units]
        return "recommended: " + ", ".join(signs)
    return "units recommended"


def _dispatched(unit: str, p: Payload) -> str:
    said = f"{unit} assigned"
    if p.get("slot"):
        said += f" as {p['slot']}"
    if isinstance(p.get("eta_s"), int | float):
        said += f", due in {max(1, round(p['eta_s'] / 60))} min"
    return said


def _closed(p: Payload) -> str:
    disposition = str(p.get("disposition") or "no disposition")
    said = f"closed: {_DISPOSITIONS.get(disposition, disposition)}"
    return f"{said} ({p['note']})" if p.get("note") else said


def _merged(p: Payload) -> str:
    said = f"merged into incident #{p.get('into')}"
    stood_down = p.get("units_stood_down") or []
    return f"{said}, {len(stood_down)} unit(s) stood down" if stood_down else said


# Unit events: the text after the unit's call sign.
_UNIT_TEXT: dict[EventKind, Callable[[str, Payload], str]] = {
    EventKind.dispatched: _dispatched,
    EventKind.diverted: lambda unit, p: f"{unit} diverted to incident #{p.get('to')}",
    EventKind.unassigned: lambda unit, p: f"{unit} unassigned before reaching the scene",
    EventKind.acknowledged: lambda unit, p: f"{unit} acknowledged",
    EventKind.en_route: lambda unit, p: f"{unit} en route",
    EventKind.on_scene: lambda unit, p: f"{unit} on scene",
    EventKind.transporting: lambda unit, p: f"{unit} transporting a patient",
    EventKind.at_hospital: lambda unit, p: f"{unit} at hospital",
    EventKind.cleared: lambda unit, p: f"{unit} cleared",
    EventKind.stood_down: lambda unit, p: (
        f"{unit} stood down: {p.get('reason') or 'no reason given'}"
        + ("; the incident is matched again" if p.get("requeued") else "")
    ),
}

# Every other kind: the text from the payload, the event's actor and the types.
_TEXT: dict[EventKind, Callable[[Payload, str, IncidentTypes], str]] = {
    EventKind.received: lambda p, actor, types: _received(p, types),
    EventKind.queued: lambda p, actor, types: "queued for dispatch",
    EventKind.located: lambda p, actor, types: _located(p),
    EventKind.typed: lambda p, actor, types: (
        f"type changed to {_type(types, p.get('type_code'))}, priority {p.get('priority')}"
    ),
    EventKind.reprioritised: lambda p, actor, types: (
        f"priority {p.get('from') or '?'} → {p.get('priority')}: {p.get('reason') or 'no reason given'}"
    ),
    EventKind.updated: lambda p, actor, types: _updated(p),
    EventKind.call_added: lambda p, actor, types: _call_added(p),
    EventKind.confirmed: lambda p, actor, types: f"confirmed for dispatch by {_who(actor)}",
    EventKind.recommended: lambda p, actor, types: _recommended(p),
    EventKind.cancelled: lambda p, actor, types: f"cancelled: {p.get('reason') or 'no reason given'}",
    EventKind.merged: lambda p, actor, types: _merged(p),
    EventKind.closed: lambda p, actor, types: _closed(p),
    EventKind.note: lambda p, actor, types: f"note by {_who(actor)}: {p.get('text', '')}",
}


def event_text(kind: str, payload: Payload, actor: str, call_sign: str | None, types: IncidentTypes) -> str:
    """One event in words. A kind this code does not know (written by a newer version) is shown by its name."""
    try:
        known = EventKind(kind)
    except ValueError:
        return kind.replace("_", " ")
    if known in _UNIT_TEXT:
        unit_id = payload.get("unit_id")
        unit = call_sign or (f"unit #{unit_id}" if unit_id is not None else "a unit")
        return _UNIT_TEXT[known](unit, payload)
    return _TEXT[known](payload, actor, types)


async def events(session: AsyncSession, incident_id: int, types: IncidentTypes) -> list[dict[str, Any]]:
    """The log, oldest first, each event with its `text`. A reprioritisation's event holds only the new priority:
    the old one is the priority the log had reached before it. A further call's text names its caller: a
    reader of the log reads personal data (`names_callers`)."""
    out: list[dict[str, Any]] = []
    priority = None
    for r in (await session.execute(_EVENTS, {"id": incident_id})).mappings():
        kind, payload = r["kind"], r["payload"]
        said = {**payload, "from": priority} if kind == EventKind.reprioritised else payload
        if kind == EventKind.call_added:
            said = {**payload, "caller_name": r["caller_name"], "caller_number": r["caller_number"]}
        out.append(
            {
                "id": r["id"],
                "at": r["at"],
                "kind": kind,
                "actor": r["actor"],
                "payload": payload,
                "text": event_text(kind, said, r["actor"], r["call_sign"], types),
            }
        )
        if kind in (EventKind.received, EventKind.typed, EventKind.reprioritised) and "priority" in payload:
            priority = payload["priority"]
    return out


def names_callers(log: list[dict[str, Any]]) -> list[int]:
    """The calls whose callers the log's texts name (for the audit record of who read them)."""
    return [
        e["payload"]["call_id"]
        for e in log
        if e["kind"] == EventKind.call_added and isinstance(e["payload"].get("call_id"), int)
    ]
