"""What reaches people after a gap: an assignment PostgreSQL holds that never reached the unit's outbox (the
matcher died between its commit and its push, or Redis failed the push), and consoles whose process's Redis
listener was away (pub/sub keeps nothing for it).

Real uvicorn servers in this loop and real websocket clients, as in test_push. A matcher that dies between
the commit and the push is the service's matcher without its pusher: the dispatch is written and announced
to the consoles, and nothing goes to the unit's outbox.
"""

import asyncio

import pytest
from websockets.asyncio.client import connect

from benchmarks.bench.servers import PrivateRedis
from dispatch.push.sweep import GRACE_S, SWEEP_EVERY_S
from tests import test_push
from tests.test_matching_flow import FIRE
from tests.test_push import bearer, device, next_of, take_call
from tests.test_push_faults import ack, assign, db_one, received

crews, serve = test_push.crews, test_push.serve  # the fixtures: committed accounts, a server in this loop

pytestmark = pytest.mark.slow
LONG_DEADLINE_S = 60  # no resend of an unacknowledged assignment within a test: every copy seen is a duplicate
SWEPT_WITHIN_S = GRACE_S + 2 * SWEEP_EVERY_S + 5  # generous: a sweep after the grace, and the process's own pace


def assignments_of(messages: list[dict], assignment_id: int) -> list[dict]:
    return [m for m in messages if m["type"] == "assignment" and m["assignment_id"] == assignment_id]


async def unpushed_assignment(app, addr: str, accounts: dict, unit_id: int, engine) -> tuple[int, int]:
    """An assignment written to PostgreSQL the way the matcher writes it, its push never made: (incident id,
    assignment id)."""
    pusher, app.state.services.matcher.pusher = app.state.services.matcher.pusher, None
    try:
        incident_id = await assign(addr, accounts, unit_id)
    finally:
        app.state.services.matcher.pusher = pusher
    assignment_id, status = await db_one(
        engine,
        "SELECT id, status::text FROM assignments WHERE unit_id = :u AND incident_id = :i",
        u=unit_id,
        i=incident_id,
    )
    assert status == "assigned"
    return incident_id, assignment_id


async def test_an_assignment_that_never_reached_the_outbox_is_sent_once_by_the_sweep(serve, crews, engine):
    """Before: it stayed `assigned` in PostgreSQL with nothing in the outbox and no deadline; the crew was
    never told and nobody was alerted."""
    app, addr = await serve(auto_dispatch_priorities=[], ack_deadline_s=LONG_DEADLINE_S)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    incident_id, assignment_id = await unpushed_assignment(app, addr, crews, unit_id, engine)

    swept = await next_of(ws, "assignment", timeout=SWEPT_WITHIN_S)
    assert (swept["assignment_id"], swept["incident_id"]) == (assignment_id, incident_id)
    assert swept["address"] and swept["slot"] and swept["seq"]
    route = await next_of(ws, "update", timeout=5)  # and its route, as a normal push sends it
    assert route["assignment_id"] == assignment_id and route["route"]["coords"]

    # The matcher's push, late (it was only slow): the outbox refuses a second copy of that assignment.
    async with app.state.services.sessionmaker() as session:
        from dispatch.push import messages

        about = await messages.brief(session, incident_id)
    await app.state.services.pusher.assignments(
        incident_id,
        [{"unit_id": unit_id, "assignment_id": assignment_id, "slot": swept["slot"]}],
        {unit_id: None},
        about=about,
    )
    later = await received(ws, GRACE_S + 3 * SWEEP_EVERY_S)  # several sweeps, still unacknowledged
    assert assignments_of(later, assignment_id) == []
    assert [m for m in later if m["type"] == "update" and m.get("assignment_id") == assignment_id] == []

    await ack(ws, swept)  # it is awaited like any assignment: the acknowledgement is recorded
    for _ in range(100):
        status = (await db_one(engine, "SELECT status::text FROM assignments WHERE id = :a", a=assignment_id))[0]
        if status == "acknowledged":
            break
        await asyncio.sleep(0.05)
    assert status == "acknowledged"
    await ws.close()


async def test_a_pushed_assignment_is_never_sent_again_by_the_sweep(serve, crews):
    _app, addr = await serve(auto_dispatch_priorities=[], ack_deadline_s=LONG_DEADLINE_S)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    await assign(addr, crews, unit_id)
    pushed = await next_of(ws, "assignment")
    later = await received(ws, GRACE_S + 3 * SWEEP_EVERY_S)  # unacknowledged past the grace, several sweeps
    assert assignments_of(later, pushed["assignment_id"]) == []
    await ws.close()


async def test_the_outbox_takes_one_copy_of_an_assignment_however_many_senders_race(serve, crews):
    """Sweeps in several processes and a late matcher push may all try at once: one copy goes."""
    app, addr = await serve(matcher=False, ack_deadline_s=LONG_DEADLINE_S)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    message = {"type": "assignment", "incident_id": 777, "assignment_id": 99_999, "slot": "engine"}
    outbox = app.state.services.outbox
    sent = await asyncio.gather(
        *(outbox.send(unit_id, message) for _ in range(5)), outbox.send_many([(unit_id, message), (unit_id, message)])
    )
    copies = [s for s in [*sent[:5], *sent[5]] if s is not None]
    assert len(copies) == 1
    seen = await received(ws, 1.0)
    assert len(assignments_of(seen, 99_999)) == 1
    await ws.close()


async def test_a_console_gets_a_fresh_snapshot_after_its_process_lost_redis(serve, crews):
    """Before: the listener came back and the console kept whatever it had, missing every change made while
    the listener was away."""
    private = PrivateRedis().start()
    try:
        _app, addr = await serve(redis_url=private.url, matcher=False)
        incident_id = await take_call(addr, crews["call_taker"], FIRE)  # waits in the queue: no matcher runs
        console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
        first = await next_of(console, "snapshot")
        assert first["units"] and [q["incident_id"] for q in first["queue"]] == [incident_id]
        await asyncio.to_thread(private.restart)  # kill -9 and start: empty, and the listener's link cut
        again = await next_of(console, "snapshot", timeout=15)
        # The whole picture again, from PostgreSQL where Redis lost it: not an empty board.
        assert sorted(u["id"] for u in again["units"]) == sorted(u["id"] for u in first["units"])
        assert [(q["incident_id"], q["priority"]) for q in again["queue"]] == [
            (q["incident_id"], q["priority"]) for q in first["queue"]
        ]
        await console.close()
    finally:
        private.close()
