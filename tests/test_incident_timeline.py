"""The incident's log in words: every kind of event has a text, units are named by call sign (joined in, one
query), a reprioritisation shows old and new priority, a close its disposition."""

import orjson
import pytest
from sqlalchemy import event, text

from dispatch.auth.models import Role
from dispatch.incidents.events import EventKind
from dispatch.incidents.timeline import event_text
from dispatch.incidents.types import incident_types
from tests.builders import make_unit
from tests.test_intake import FIRE, post_call

# A payload of each kind as the service writes it.
PAYLOADS = {
    EventKind.received: {"type_code": "FIRE-STRUCT", "priority": 1, "channel": "phone", "address_label": "Städtle 23"},
    EventKind.queued: {},
    EventKind.located: {"address_label": "Landstrasse 5", "lat": 47.1, "lon": 9.5},
    EventKind.typed: {"type_code": "ASSAULT", "priority": 2},
    EventKind.reprioritised: {"priority": 1, "reason": "weapon seen"},
    EventKind.updated: {"narrative": "two people fighting"},
    EventKind.call_added: {"call_id": 7, "channel": "sms"},
    EventKind.confirmed: {},
    EventKind.recommended: {"units": [{"unit_id": 3, "call_sign": "Engine 3"}]},
    EventKind.dispatched: {"unit_id": 1, "assignment_id": 9, "slot": "engine", "eta_s": 240.0},
    EventKind.diverted: {"unit_id": 1, "to": 42},
    EventKind.unassigned: {"unit_id": 1},
    EventKind.acknowledged: {"unit_id": 1},
    EventKind.en_route: {"unit_id": 1},
    EventKind.on_scene: {"unit_id": 1},
    EventKind.transporting: {"unit_id": 1},
    EventKind.at_hospital: {"unit_id": 1},
    EventKind.cleared: {"unit_id": 1},
    EventKind.stood_down: {"unit_id": 1, "assignment_id": 7, "reason": "not needed", "requeued": True},
    EventKind.cancelled: {"reason": "caller withdrew"},
    EventKind.merged: {"into": 42, "units_stood_down": [1]},
    EventKind.closed: {"disposition": "treated", "note": None},
    EventKind.note: {"text": "Gate code 1234"},
}


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_of_event_has_a_text(kind):
    said = event_text(kind.value, PAYLOADS[kind], "dispatcher:anna", "Engine 1", incident_types())
    assert said and "None" not in said and "{" not in said
    # Even without its payload (an older or a hand-written event) a kind has words, not a traceback.
    assert event_text(kind.value, {}, "matcher", None, incident_types())


def test_texts_name_what_happened():
    types = incident_types()
    assert event_text("on_scene", {"unit_id": 2}, "unit:m2", "Medic 2", types) == "Medic 2 on scene"
    assert event_text("on_scene", {"unit_id": 2}, "unit:m2", None, types) == "unit #2 on scene"  # unit deleted
    assert event_text("note", {"text": "Gate code 1234"}, "dispatcher:anna", None, types) == (
        "note by dispatcher anna: Gate code 1234"
    )
    assert event_text("closed", {"disposition": "false_alarm"}, "dispatcher:anna", None, types) == (
        "closed: false alarm"
    )
    assert event_text("some_future_kind", {}, "x", None, types) == "some future kind"


async def test_the_log_names_units_priorities_places_and_dispositions(client, session, auth, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher, username="anna")
    i = (await post_call(client, taker, {**FIRE, "type_code": "NOISE"})).json()["id"]
    assert (await client.post(f"/api/incidents/{i}/notes", headers=taker, json={"text": "Gate code 1234"})).is_success
    moved = await client.patch(f"/api/incidents/{i}", headers=taker, json={"location_text": "Landstrasse 5, Vaduz"})
    assert moved.status_code == 200, moved.text
    raised = await client.post(
        f"/api/incidents/{i}/priority", headers=dispatcher, json={"priority": 2, "reason": "kids"}
    )
    assert raised.status_code == 200, raised.text
    engine = await make_unit(session, call_sign="Engine Timeline")
    for kind, payload in (
        ("dispatched", {"unit_id": engine, "assignment_id": 1, "slot": "engine", "eta_s": 300}),
        ("acknowledged", {"unit_id": engine}),
        ("on_scene", {"unit_id": engine}),
        ("cleared", {"unit_id": engine}),
    ):
        await session.execute(
            text("INSERT INTO incident_events (incident_id, kind, actor, payload) VALUES (:i, :k, 'matcher', :p)"),
            {"i": i, "k": kind, "p": orjson.dumps(payload).decode()},
        )
    closed = await client.post(f"/api/incidents/{i}/close", headers=dispatcher, json={"disposition": "resolved"})
    assert closed.status_code == 200, closed.text

    log = (await client.get(f"/api/incidents/{i}/events", headers=taker)).json()
    texts = [e["text"] for e in log]
    assert texts[0].startswith("received by phone: Noise complaint (NOISE), priority 4, at Städtle 23")
    assert texts[1:] == [
        "queued for dispatch",
        f"note by {taker_role(log[2])}: Gate code 1234",
        f"location corrected to {log[3]['payload']['address_label']}",
        "priority 4 → 2: kids",
        "Engine Timeline assigned as engine, due in 5 min",
        "Engine Timeline acknowledged",
        "Engine Timeline on scene",
        "Engine Timeline cleared",
        "closed: resolved",
    ]
    assert {"id", "at", "kind", "actor", "payload"} <= log[0].keys()  # the fields it had stay
    detail = (await client.get(f"/api/incidents/{i}", headers=dispatcher)).json()
    assert [e["text"] for e in detail["events"]] == texts
    assert (await client.get("/api/incidents/999999999/events", headers=taker)).status_code == 404


def taker_role(event) -> str:
    role, _, name = event["actor"].partition(":")
    return f"{role} {name}"


async def test_the_log_is_one_query_however_many_units_it_names(client, connection, session, auth, imported_map):
    taker = await auth(Role.call_taker)
    i = (await post_call(client, taker, FIRE)).json()["id"]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    async def statements_for_log() -> int:
        statements.clear()
        event.listen(connection.sync_connection, "before_cursor_execute", count)
        try:
            assert (await client.get(f"/api/incidents/{i}/events", headers=taker)).status_code == 200
        finally:
            event.remove(connection.sync_connection, "before_cursor_execute", count)
        return sum("FROM incident_events" in s for s in statements)

    assert await statements_for_log() == 1
    for n in range(6):
        unit = await make_unit(session, call_sign=f"Engine Count {n}")
        await session.execute(
            text("INSERT INTO incident_events (incident_id, kind, actor, payload) VALUES (:i, 'on_scene', 'x', :p)"),
            {"i": i, "p": orjson.dumps({"unit_id": unit}).decode()},
        )
    assert await statements_for_log() == 1
    log = (await client.get(f"/api/incidents/{i}/events", headers=taker)).json()
    assert [e["text"] for e in log[-6:]] == [f"Engine Count {n} on scene" for n in range(6)]
