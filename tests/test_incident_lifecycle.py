"""After intake: corrections, priority, notes, merge, cancel, close; the log rebuilds the row; the queue follows."""

from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents import repository as repo
from dispatch.incidents.events import replay
from dispatch.queue.service import IncidentQueue
from tests.test_intake import FIRE, post_call

STATE_COLUMNS = (
    "type_code",
    "priority",
    "status",
    "narrative",
    "address_label",
    "municipality",
    "geocode_match",
    "needs_location",
    "duplicate_of_id",
    "disposition",
    "received_at",
    "queued_at",
    "closed_at",
)


async def assert_log_rebuilds_row(session, incident_id):
    row = await repo.incident_row(session, incident_id)
    events = [(e["kind"], e["at"], e["payload"]) for e in await repo.events(session, incident_id)]
    state = replay(events)
    for column in STATE_COLUMNS:
        assert getattr(state, column) == row[column], column
    for column in ("lat", "lon", "geocode_confidence"):
        if row[column] is None:
            assert getattr(state, column) is None, column
        else:
            assert abs(getattr(state, column) - row[column]) < 1e-6, column


async def test_every_change_is_logged_and_the_log_rebuilds_the_incident(
    client, auth, session, redis, settings, imported_map
):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    incident = (await post_call(client, taker, {**FIRE, "type_code": "NOISE"})).json()
    i = incident["id"]
    await assert_log_rebuilds_row(session, i)
    steps = [
        client.patch(f"/api/incidents/{i}", headers=taker, json={"location_text": "Landstrasse / Sankt Markusgasse"}),
        client.patch(f"/api/incidents/{i}", headers=dispatcher, json={"type_code": "ASSAULT", "narrative": "fight"}),
        client.post(f"/api/incidents/{i}/priority", headers=dispatcher, json={"priority": 1, "reason": "weapon"}),
        client.post(f"/api/incidents/{i}/notes", headers=taker, json={"text": "caller hid in the kitchen"}),
        client.post(f"/api/incidents/{i}/close", headers=dispatcher, json={"disposition": "resolved"}),
    ]
    for step in steps:
        response = await step
        assert response.status_code in (200, 201), response.text
        await assert_log_rebuilds_row(session, i)
    kinds = [e["kind"] for e in await repo.events(session, i)]
    assert kinds == ["received", "queued", "located", "typed", "updated", "reprioritised", "note", "closed"]
    assert (await IncidentQueue(redis, prefix=settings.key_prefix).size()) == (0, 0)
    again = await client.post(f"/api/incidents/{i}/cancel", headers=dispatcher, json={"reason": "late"})
    assert again.status_code == 409


async def test_reprioritise_moves_the_incident_in_the_queue(client, auth, redis, settings, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    noise = (await post_call(client, taker, {**FIRE, "type_code": "NOISE"})).json()["id"]
    theft = (await post_call(client, taker, {**FIRE, "type_code": "SUSPICIOUS"})).json()["id"]  # P3 before P4
    queue = IncidentQueue(redis, prefix=settings.key_prefix)
    order = [e.incident_id for e in await queue.snapshot()]
    assert order.index(theft) < order.index(noise)
    await client.post(f"/api/incidents/{noise}/priority", headers=dispatcher, json={"priority": 1, "reason": "x"})
    assert next(e.incident_id for e in await queue.snapshot()) == noise
    listed = (await client.get("/api/queue", headers=dispatcher)).json()
    assert [item["id"] for item in listed["items"]][:2] == [noise, theft] and listed["source"] == "redis"


async def test_cancel_and_merge_take_incidents_out_of_the_queue(client, auth, session, redis, settings, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    a = (await post_call(client, taker, FIRE)).json()["id"]
    b = (await post_call(client, taker, {**FIRE, "caller_number": "+423 555 55 55"})).json()["id"]
    c = (await post_call(client, taker, {**FIRE, "type_code": "NOISE"})).json()["id"]
    merged = await client.post(f"/api/incidents/{b}/merge", headers=taker, json={"into": a})
    assert merged.status_code == 200
    assert await session.scalar(text("SELECT count(*) FROM calls WHERE incident_id = :a"), {"a": a}) == 2
    assert (
        await client.post(f"/api/incidents/{c}/cancel", headers=dispatcher, json={"reason": "caller withdrew"})
    ).status_code == 200
    assert [e.incident_id for e in await IncidentQueue(redis, prefix=settings.key_prefix).snapshot()] == [a]
    for i in (a, b, c):
        await assert_log_rebuilds_row(session, i)
    assert (await client.post(f"/api/incidents/{a}/merge", headers=taker, json={"into": a})).status_code == 409


async def test_lifecycle_rules(client, auth, imported_map):
    taker = await auth(Role.call_taker)
    i = (await post_call(client, taker, FIRE)).json()["id"]
    assert (await client.post(f"/api/incidents/{i}/cancel", headers=taker, json={"reason": "x"})).status_code == 403
    assert (await client.patch(f"/api/incidents/{i}", headers=taker, json={})).status_code == 422
    assert (await client.get("/api/incidents/999999999", headers=taker)).status_code == 404
    for bad in ("99999999999999999999", "-1", "abc"):
        assert (await client.get(f"/api/incidents/{bad}", headers=taker)).status_code == 422, bad
    huge = await client.post("/api/calls", headers=taker, json={**FIRE, "duplicate_of": 2**64 - 1})
    assert huge.status_code == 422
    detail = (await client.get(f"/api/incidents/{i}", headers=taker)).json()
    assert detail["caller"]["caller_number"] == "+4237911111"
    assert [e["kind"] for e in detail["events"]] == ["received", "queued"]
