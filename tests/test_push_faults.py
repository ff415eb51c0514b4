"""What reaches a crew's device, and what a device's status is applied to, when things go wrong: Redis losing
its data, cancels and stand-downs racing the acknowledgement deadline, statuses for an assignment the crew
lost, revoked tokens on open sockets, the database failing under a socket (issue 17: points 1, 2, 3, 5, 10).

Real uvicorn servers in this loop and real websocket clients with the units' own tokens, as in test_push.
A Redis that loses its data is the test's Redis database flushed (FLUSHDB): what a restart of a Redis that
keeps nothing on disk leaves.
"""

import asyncio
import time

import orjson
import pytest
import websockets
from httpx import AsyncClient
from sqlalchemy import text
from websockets.asyncio.client import connect

from benchmarks.bench.servers import PrivateRedis
from dispatch.auth.models import Role
from dispatch.auth.tokens import hash_token
from dispatch.db import make_sessionmaker
from dispatch.push.outbox import EPOCH_BITS
from tests import test_push
from tests.builders import make_user_with_token
from tests.test_matching_flow import FIRE
from tests.test_push import bearer, device, next_of, take_call

crews, serve = test_push.crews, test_push.serve  # the fixtures: committed accounts, a server in this loop

pytestmark = pytest.mark.slow


async def ack(ws, message: dict) -> None:
    await ws.send(orjson.dumps({"type": "ack", "of": message["id"]}).decode())


async def send(ws, message: dict) -> None:
    await ws.send(orjson.dumps(message).decode())


async def received(ws, seconds: float) -> list[dict]:
    """Everything the socket receives for this long."""
    out, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(orjson.loads(await asyncio.wait_for(ws.recv(), left)))
        except TimeoutError:
            break
    return out


async def closed_within(ws, seconds: float) -> int:
    """The close code the server closes the socket with, within `seconds` (reading whatever comes first)."""
    deadline = time.monotonic() + seconds
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                break
    return closed.value.rcvd.code


async def dispatcher_post(addr: str, token: str, path: str, body: dict) -> dict:
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.post(path, json=body, headers=bearer(token))
        assert response.status_code in (200, 201), response.text
        return response.json()


async def assign(addr: str, accounts: dict, unit_id: int) -> int:
    """An incident waiting for a dispatcher, and this unit assigned to it by hand: the incident's id."""
    incident_id = await take_call(addr, accounts["call_taker"], {**FIRE, "type_code": "FIRE-OTHER"})
    await dispatcher_post(addr, accounts["dispatcher"], f"/api/incidents/{incident_id}/assign", {"unit_ids": [unit_id]})
    return incident_id


async def db_one(engine, sql: str, **params):
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


# --- 1. Numbers never reused; every instruction awaited, resent and recoverable -------------------------------


async def test_a_connected_device_keeps_receiving_after_redis_lost_its_data(serve, crews, redis):
    """Before: the count restarted at 1 and the socket dropped every message at or below what it had sent."""
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    first = await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "incident_id": 1, "note": "one"})
    assert (await next_of(ws, "update"))["seq"] == first.seq
    await redis.flushdb()  # Redis restarted, empty
    again = await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "incident_id": 1, "note": "two"})
    got = await next_of(ws, "update", timeout=3)
    assert got["note"] == "two" and got["seq"] == again.seq
    assert again.seq > first.seq and again.seq >> EPOCH_BITS > first.seq >> EPOCH_BITS  # a new epoch, above
    assert again.seq < 2**53  # exact in JSON and JavaScript
    await ws.close()


async def test_a_cancel_is_sent_again_until_the_device_acknowledges_it(serve, crews):
    """Before: a cancel had no deadline; one lost was lost for good."""
    app, addr = await serve(matcher=False, ack_deadline_s=0.5)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    await app.state.services.pusher.cancel(unit_id, 12345, "incident cancelled: test")
    cancel = await next_of(ws, "cancel")
    again = await next_of(ws, "cancel", timeout=3)  # not acknowledged: sent again, the same message
    assert (again["id"], again["seq"]) == (cancel["id"], cancel["seq"])
    await send(ws, {"type": "ack", "of": cancel["id"], "id": "a1"})
    assert (await next_of(ws, "ok"))["re"] == "a1"
    assert not [m for m in await received(ws, 1.5) if m["type"] == "cancel"]  # acknowledged: no more
    await ws.close()


async def test_a_device_resuming_after_redis_lost_its_outbox_gets_what_it_has_now_from_postgresql(
    serve, crews, redis, engine
):
    """Before: hello replayed an empty outbox; the device kept a cancelled assignment, or missed a new one."""
    app, addr = await serve(auto_dispatch_priorities=[])
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token, last_seq=0)
    await ack(ws, await next_of(ws, "current"))  # a device that knows nothing is told what it has: nothing
    incident_id = await assign(addr, crews, unit_id)
    assignment = await next_of(ws, "assignment")
    assert assignment["incident_id"] == incident_id
    await send(ws, {"type": "ack", "of": assignment["id"], "id": "a1"})
    assert (await next_of(ws, "ok"))["re"] == "a1"
    await ws.close()

    # Redis loses everything while the device is away: it must still learn that the assignment stands...
    await redis.flushdb()
    ws = await device(addr, token, last_seq=assignment["seq"])
    current = await next_of(ws, "current")
    assert current["assignment"]["assignment_id"] == assignment["assignment_id"]
    assert current["assignment"]["status"] == "acknowledged" and current["incident_id"] == incident_id
    assert current["seq"] > assignment["seq"]
    await ack(ws, current)
    await ws.close()

    # ...and that it was cancelled, when the cancel was in the outbox Redis lost.
    await dispatcher_post(addr, crews["dispatcher"], f"/api/incidents/{incident_id}/cancel", {"reason": "test"})
    await redis.flushdb()
    ws = await device(addr, token, last_seq=current["seq"])
    now = await next_of(ws, "current")
    assert now["assignment"] is None and now["incident_id"] is None
    await ack(ws, now)

    # With its outbox whole, a device that resumes is sent what it missed, and no `current`.
    await ws.close()
    await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "incident_id": 1, "note": "missed"})
    ws = await device(addr, token, last_seq=now["seq"])
    seen = await received(ws, 1.0)
    assert [m.get("note") for m in seen if m["type"] == "update"] == ["missed"]
    assert not [m for m in seen if m["type"] == "current"]
    await ws.close()


async def test_after_a_redis_restart_every_connected_device_is_told_what_it_has(serve, crews):
    """The listener that lost Redis resumes its sockets itself: pub/sub kept nothing of what was published while
    it was away, and the outbox that could have replayed it is gone."""
    private = PrivateRedis().start()
    try:
        _, addr = await serve(redis_url=private.url, auto_dispatch_priorities=[])
        unit_id, token = next(iter(crews["units"].items()))
        ws = await device(addr, token, last_seq=0)
        await ack(ws, await next_of(ws, "current"))
        incident_id = await assign(addr, crews, unit_id)
        assignment = await next_of(ws, "assignment")
        await send(ws, {"type": "ack", "of": assignment["id"], "id": "a1"})
        assert (await next_of(ws, "ok"))["re"] == "a1"
        await asyncio.to_thread(private.restart)  # kill -9 and start: empty
        current = await next_of(ws, "current", timeout=10)
        assert current["assignment"]["assignment_id"] == assignment["assignment_id"]
        assert current["assignment"]["status"] == "acknowledged" and current["seq"] > assignment["seq"]
        await ack(ws, current)
        await dispatcher_post(addr, crews["dispatcher"], f"/api/incidents/{incident_id}/cancel", {"reason": "test"})
        cancel = await next_of(ws, "cancel", timeout=5)
        assert cancel["incident_id"] == incident_id and cancel["seq"] > current["seq"]
        await ws.close()
    finally:
        private.close()


# --- 2. A status names its assignment ---------------------------------------------------------------------------


async def test_a_status_must_name_its_assignment_and_one_for_an_assignment_the_unit_lost_is_refused(
    serve, crews, engine
):
    """Before: a status named nothing and was applied to whatever the unit had (after a lost cancel, another
    incident); refusals carried no `re`."""
    _, addr = await serve(auto_dispatch_priorities=[])
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    first = await assign(addr, crews, unit_id)
    lost = await next_of(ws, "assignment")
    await ack(ws, lost)

    await send(ws, {"type": "status", "status": "en_route", "id": "s0"})
    error = await next_of(ws, "error")
    assert (error["code"], error["re"]) == ("bad_message", "s0") and "assignment_id" in error["message"]

    # The incident is cancelled, and the unit sent to another one, while the crew still works the first.
    await dispatcher_post(addr, crews["dispatcher"], f"/api/incidents/{first}/cancel", {"reason": "test"})
    second = await assign(addr, crews, unit_id)
    new = await next_of(ws, "assignment")
    assert new["incident_id"] == second

    await send(ws, {"type": "status", "status": "en_route", "assignment_id": lost["assignment_id"], "id": "s1"})
    error = await next_of(ws, "error")
    assert (error["code"], error["re"]) == ("conflict", "s1")
    status, en_route_at = await db_one(
        engine, "SELECT status::text, en_route_at FROM assignments WHERE id = :a", a=new["assignment_id"]
    )
    assert (status, en_route_at) == ("assigned", None)  # nothing applied to the assignment the crew did not mean

    await send(ws, {"type": "status", "status": "en_route", "assignment_id": new["assignment_id"], "id": "s2"})
    ok = await next_of(ws, "ok")
    assert ok["re"] == "s2" and ok["unit"]["status"] == "en_route" and ok["unit"]["incident_id"] == second
    await ws.close()


# --- 3. A stand-down ends the deadline; an escalation acts only on its own assignment ---------------------------


async def test_a_cancelled_assignment_is_neither_sent_again_nor_escalated_onto_the_next_one(serve, crews, engine):
    """Before: the cancelled assignment was sent again at +1 deadline, and at +2 the unit was set out of
    service and its current, acknowledged assignment cancelled."""
    _, addr = await serve(auto_dispatch_priorities=[], ack_deadline_s=1.5)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    first = await assign(addr, crews, unit_id)
    stale = await next_of(ws, "assignment")  # never acknowledged
    sent_at = time.monotonic()
    await dispatcher_post(addr, crews["dispatcher"], f"/api/incidents/{first}/cancel", {"reason": "test"})
    assert time.monotonic() - sent_at < 1.0, "cancelled too late to tell"
    assert (await next_of(ws, "cancel"))["incident_id"] == first
    second = await assign(addr, crews, unit_id)
    current = await next_of(ws, "assignment")
    assert current["incident_id"] == second
    await ack(ws, current)

    seen = await received(ws, 3.5 - (time.monotonic() - sent_at))  # past both deadlines of the cancelled one
    assert not [m for m in seen if m["type"] == "assignment" and m["id"] == stale["id"]]
    alerts = [m for m in await received(console, 0.2) if m["type"] == "alert"]
    assert not [a for a in alerts if a["incident_id"] == first], alerts
    unit_status = (await db_one(engine, "SELECT status::text FROM units WHERE id = :u", u=unit_id))[0]
    assignment_status = (
        await db_one(engine, "SELECT status::text FROM assignments WHERE id = :a", a=current["assignment_id"])
    )[0]
    assert (unit_status, assignment_status) == ("acknowledged", "acknowledged")
    await ws.close()
    await console.close()


async def test_closing_an_incident_ends_its_deadline(serve, crews, engine):
    _, addr = await serve(auto_dispatch_priorities=[], ack_deadline_s=1.5)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    incident_id = await assign(addr, crews, unit_id)
    sent = await next_of(ws, "assignment")  # never acknowledged
    sent_at = time.monotonic()
    await dispatcher_post(
        addr, crews["dispatcher"], f"/api/incidents/{incident_id}/close", {"disposition": "false_alarm"}
    )
    assert time.monotonic() - sent_at < 1.0, "closed too late to tell"
    cancel = await next_of(ws, "cancel")
    await ack(ws, cancel)
    seen = await received(ws, 3.5 - (time.monotonic() - sent_at))
    assert not [m for m in seen if m["type"] in ("assignment", "cancel")], seen  # nothing again, no escalation
    assert sent["incident_id"] == cancel["incident_id"] == incident_id
    assert (await db_one(engine, "SELECT status::text FROM units WHERE id = :u", u=unit_id))[0] == "available"
    await ws.close()


# --- 10. A revoked token loses its open sockets -------------------------------------------------------------------


async def test_revoking_a_token_closes_its_open_sockets_within_5_s(serve, crews, settings, engine):
    """Before: a revoked console kept receiving."""
    _, addr = await serve(matcher=False)
    unit_id, unit_token = next(iter(crews["units"].items()))
    async with make_sessionmaker(engine)() as session:
        commander, commander_token = await make_user_with_token(session, settings, role=Role.commander)
        await session.commit()
    unit = await device(addr, unit_token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    watching = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(commander_token))
    started = time.monotonic()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE api_tokens SET revoked_at = now() WHERE user_id = (SELECT id FROM users WHERE unit_id = :u)"),
            {"u": unit_id},
        )
        await conn.execute(text("UPDATE users SET active = false WHERE id = :id"), {"id": commander.id})
    for ws in (unit, watching):  # revoked; deactivated
        assert await closed_within(ws, 5.0 - (time.monotonic() - started)) == 4003
    # A role change reaches an open socket too.
    started = time.monotonic()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE users SET role = 'commander' WHERE id = (SELECT user_id FROM api_tokens WHERE token_hash = :h)"
            ),
            {"h": hash_token(crews["dispatcher"], settings.secret_key)},
        )
    assert await closed_within(console, 5.0) == 4003
    with pytest.raises(websockets.exceptions.InvalidStatus):  # and it cannot come back with that token
        await connect(f"ws://{addr}/ws/unit", additional_headers=bearer(unit_token))


# --- 5. The database failing under a socket -------------------------------------------------------------------


async def test_a_database_error_in_a_socket_is_answered_retry_and_the_socket_stays(serve, crews, engine):
    """Before: asyncpg's own errors (raised unwrapped by statements on the driver connection) ended the
    socket's reader and closed the socket."""
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    async with engine.connect() as blocker:
        await blocker.execute(text("SELECT 1 FROM units WHERE id = :u FOR UPDATE"), {"u": unit_id})
        await send(ws, {"type": "status", "status": "out_of_service", "id": "s1"})
        for _ in range(200):  # the report waits on the unit's lock: its backend is cut, as a restart would
            # Within the blocker's transaction pg_stat_activity is the first look's snapshot, unless cleared.
            await blocker.execute(text("SELECT pg_stat_clear_snapshot()"))
            pid = (
                await blocker.execute(
                    text(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                        "AND application_name = 'dispatch'"
                    )
                )
            ).scalar()
            if pid:
                break
            await asyncio.sleep(0.02)
        assert pid, "the status report never waited on the lock"
        await blocker.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        await blocker.rollback()
    error = await next_of(ws, "error")
    assert (error["code"], error["re"]) == ("retry", "s1")
    await send(ws, {"type": "status", "status": "out_of_service", "id": "s2"})  # the same socket, sent again
    assert (await next_of(ws, "ok"))["re"] == "s2"
    assert (await app.state.services.board.get(unit_id)).status == "out_of_service"
    await ws.close()


async def test_a_handshake_while_the_database_is_away_is_refused_cleanly(serve, crews):
    from sqlalchemy.ext.asyncio import create_async_engine

    app, addr = await serve(matcher=False)
    unit_token = next(iter(crews["units"].values()))
    working = app.state.services.sessionmaker
    gone = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none", connect_args={"timeout": 1})
    app.state.services.sessionmaker = make_sessionmaker(gone)
    try:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await connect(f"ws://{addr}/ws/unit", additional_headers=bearer(unit_token))
        assert refused.value.response.status_code == 503 and refused.value.response.headers["Retry-After"]
    finally:
        app.state.services.sessionmaker = working
        await gone.dispose()
    ws = await device(addr, unit_token)  # back: in again
    await ws.close()


# --- 16. A device's position far outside the service area is refused, as over HTTP ------------------------------


async def test_a_device_position_outside_the_service_area_is_refused_with_an_error(serve, crews, engine):
    _, addr = await serve()
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    await send(ws, {"type": "position", "lat": -85.0, "lon": 9.52, "id": "p1"})
    error = await next_of(ws, "error")
    assert (error["code"], error["re"]) == ("outside_service_area", "p1")
    await send(ws, {"type": "status", "status": "out_of_service", "lat": 10.0, "lon": 9.52, "id": "p2"})
    error = await next_of(ws, "error")
    assert (error["code"], error["re"]) == ("outside_service_area", "p2")
    assert await db_one(engine, "SELECT status::text FROM units WHERE id = :u", u=unit_id) != "out_of_service"
    await ws.close()
