"""A dispatcher stands one unit down from an incident: its assignment ends by the stand-down's one rule, the unit is
free, its crew is told as for a cancelled incident, the consoles hear of it, the log and the audit keep the
reason; an incident left short before any unit arrived is matched again."""

import asyncio
from datetime import UTC, datetime

import orjson
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents import repository as repo
from dispatch.matching.core import Pick, Slot
from dispatch.matching.service import write_dispatch
from dispatch.statuses import UnitStatus as S
from dispatch.units.service import change_status
from tests.builders import make_assignment, make_incident, make_unit
from tests.test_incident_lifecycle import assert_log_rebuilds_row
from tests.test_intake import FIRE, post_call

REASON = {"reason": "crew needed at the station"}


async def sent_unit(session, incident: int, *, slot: str = "engine", status: str = "assigned") -> tuple[int, int]:
    """A unit on the incident: (unit, assignment)."""
    unit = await make_unit(session)
    busy = {"assigned": "dispatched"}.get(status, status)
    await session.execute(
        text("UPDATE units SET status = CAST(:s AS unit_status) WHERE id = :u"), {"s": busy, "u": unit}
    )
    assignment = await make_assignment(
        session, incident_id=incident, unit_id=unit, slot=slot, assigned_at=datetime.now(UTC), status=status
    )
    return unit, assignment


async def dispatched_call(client, taker, session) -> tuple[int, int, int]:
    """A call taken (one engine in its plan) and a unit sent to it: (incident, unit, assignment)."""
    taken = await post_call(client, taker, {**FIRE, "type_code": "FIRE-OTHER"})
    assert taken.status_code == 201, taken.text
    incident, unit = taken.json()["id"], await make_unit(session)
    done = await write_dispatch(
        session,
        incident_id=incident,
        picks=[Pick("engine", unit, "E", 60.0, 500.0, "nearest")],
        plan=(Slot("engine", 1),),
        actor="dispatcher:t",
        mode="manual",
    )
    return incident, unit, done.assignments[0]["assignment_id"]


async def console_messages(pubsub, count: int) -> list[dict]:
    got: list[dict] = []
    while len(got) < count:
        message = await asyncio.wait_for(pubsub.get_message(ignore_subscribe_messages=True, timeout=5), 6)
        if message is not None:
            got.append(orjson.loads(message["data"]))
    return got


async def test_standing_the_only_unit_down_before_it_arrived_queues_the_incident_again(
    app, client, auth, session, redis, imported_map
):
    dispatcher, taker = await auth(Role.dispatcher), await auth(Role.call_taker)
    incident, unit, assignment = await dispatched_call(client, taker, session)
    services = app.state.services
    pubsub = redis.pubsub()
    await pubsub.subscribe(services.keys.events)

    answer = await client.post(f"/api/incidents/{incident}/units/{unit}/stand-down", headers=dispatcher, json=REASON)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"incident_id": incident, "unit_id": unit, "stood_down": True, "requeued": True}
    # The assignment ended, the unit is free, and the incident waits again: pending, one short, in the queue.
    ended = await session.scalar(text("SELECT status::text FROM assignments WHERE id = :a"), {"a": assignment})
    assert ended == "cancelled"
    assert await session.scalar(text("SELECT status::text FROM units WHERE id = :u"), {"u": unit}) == "available"
    listed = next(i for i in await repo.open_incidents(session) if i["id"] == incident)
    assert (listed["status"], listed["units"], listed["units_missing"]) == ("pending", [], 1)
    assert await services.queue.position(incident) is not None
    queue = (await client.get("/api/queue", headers=dispatcher)).json()
    item = next(i for i in queue["items"] if i["id"] == incident)
    assert item["status"] == "pending" and item["waiting_for"] == "matcher"
    # The log says why, and still rebuilds the row; the audit names the dispatcher and the reason.
    events = await repo.events(session, incident)
    assert [e["kind"] for e in events][-3:] == ["unassigned", "queued", "stood_down"]
    assert events[-1]["payload"] == {
        "unit_id": unit,
        "assignment_id": assignment,
        "reason": REASON["reason"],
        "requeued": True,
    }
    await assert_log_rebuilds_row(session, incident)
    audited = (
        await session.execute(
            text("SELECT role, after FROM audit_records WHERE action = 'incident.stand_down_unit' AND object_id = :i"),
            {"i": str(incident)},
        )
    ).one()
    assert audited[0] == "dispatcher" and audited[1]["reason"] == REASON["reason"] and audited[1]["unit_id"] == unit
    # The crew's device is told at once, as for a cancelled incident, naming the assignment that ended.
    told = [orjson.loads(m) for m in await services.outbox.after(unit, 0)]
    cancel = next(m for m in told if m["type"] == "cancel")
    assert cancel["incident_id"] == incident and cancel["assignment_id"] == assignment
    assert REASON["reason"] in cancel["reason"]
    # The consoles hear of the stand-down and of the unit's change.
    heard = {m["type"]: m for m in await console_messages(pubsub, 3)}
    assert heard["incident.unit_stood_down"]["unit_id"] == unit and heard["incident.unit_stood_down"]["requeued"]
    assert heard["unit.status"]["status"] == "available" and heard["unit.status"]["previous"] == "dispatched"
    await pubsub.aclose()


async def test_once_a_unit_is_on_scene_another_stood_down_leaves_no_gap(app, client, auth, session):
    dispatcher = await auth(Role.dispatcher)
    now = datetime.now(UTC)
    incident = await make_incident(
        session,
        received_at=now,
        priority=1,
        type_code="FIRE-STRUCT",
        status="on_scene",
        dispatched_at=now,
        on_scene_at=now,
    )
    await sent_unit(session, incident, status="on_scene")
    second, _ = await sent_unit(session, incident, status="en_route")

    answer = await client.post(f"/api/incidents/{incident}/units/{second}/stand-down", headers=dispatcher, json=REASON)

    assert answer.status_code == 200, answer.text
    assert answer.json()["requeued"] is False
    listed = next(i for i in await repo.open_incidents(session) if i["id"] == incident)
    assert (listed["status"], len(listed["units"]), listed["units_missing"]) == ("on_scene", 1, 0)
    assert await app.state.services.queue.position(incident) is None


async def test_a_stand_down_is_refused_for_a_unit_not_on_the_incident_and_for_unknown_ids(client, auth, session):
    dispatcher, taker = await auth(Role.dispatcher), await auth(Role.call_taker)
    now = datetime.now(UTC)
    incident = await make_incident(session, received_at=now, priority=3, status="dispatched", dispatched_at=now)
    unit, _ = await sent_unit(session, incident)
    elsewhere = await make_unit(session)
    closed = await make_incident(session, received_at=now, status="closed")
    url = "/api/incidents/{}/units/{}/stand-down"

    async def stand_down(i: int, u: int, headers=dispatcher, body=REASON):
        return await client.post(url.format(i, u), headers=headers, json=body)

    not_on = await stand_down(incident, elsewhere)
    assert not_on.status_code == 409 and f"unit {elsewhere} is not on incident {incident}" in not_on.json()["detail"]
    assert (await stand_down(closed, unit)).status_code == 409
    assert (await stand_down(2**62, unit)).status_code == 404
    assert (await stand_down(incident, 2**62)).status_code == 404
    assert (await stand_down(incident, unit, headers=taker)).status_code == 403
    for body in ({}, {"reason": "  "}, {"reason": "x" * 501}, {"reason": "ok", "extra": 1}):
        assert (await stand_down(incident, unit, body=body)).status_code == 422, body
    # Nothing of that changed the unit's assignment.
    still = await session.scalar(
        text("SELECT status::text FROM assignments WHERE incident_id = :i AND unit_id = :u"), {"i": incident, "u": unit}
    )
    assert still == "assigned"


async def test_the_incident_status_follows_the_units_left_on_it_when_the_one_on_scene_is_stood_down(
    app, client, auth, session, imported_map
):
    """On scene is where the units on it are: with the only unit there stood down and another still on its way,
    the incident is en route again (its on-scene time stays, the first arrival's), and its log says the same."""
    dispatcher, taker = await auth(Role.dispatcher), await auth(Role.call_taker)
    taken = await post_call(client, taker, {**FIRE, "type_code": "FIRE-OTHER"})
    incident, first, second = taken.json()["id"], await make_unit(session), await make_unit(session)
    await write_dispatch(
        session,
        incident_id=incident,
        picks=[Pick("engine", first, "E1", 60.0, 500.0, "nearest"), Pick("engine", second, "E2", 90.0, 900.0, "next")],
        plan=(Slot("engine", 2),),
        actor="dispatcher:t",
        mode="manual",
    )
    for unit, status in [(first, S.on_scene), (second, S.en_route)]:
        await change_status(session, unit_id=unit, status=status, actor="unit:t", by_dispatcher=False)
    answer = await client.post(f"/api/incidents/{incident}/units/{first}/stand-down", headers=dispatcher, json=REASON)
    assert answer.status_code == 200, answer.text
    listed = next(i for i in await repo.open_incidents(session) if i["id"] == incident)
    assert (listed["status"], len(listed["units"])) == ("en_route", 1)
    row = await repo.incident_row(session, incident)
    assert row["on_scene_at"] is not None and row["cleared_at"] is None
    await assert_log_rebuilds_row(session, incident)
    # The one left arrives: on scene again.
    await change_status(session, unit_id=second, status=S.on_scene, actor="unit:t", by_dispatcher=False)
    assert (await repo.incident_row(session, incident))["status"] == "on_scene"
    await assert_log_rebuilds_row(session, incident)
