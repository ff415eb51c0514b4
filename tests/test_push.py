"""Websockets against a running uvicorn: delivery and ack, resend and escalation, replay, two processes, bad input.

The servers here are real uvicorn servers on 127.0.0.1 (in this event loop, or as separate `dispatch serve`
processes), the clients real websocket clients with the units' own tokens. These tests commit for real and
put units and incidents back afterwards.
"""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import uvicorn
import websockets
from httpx import AsyncClient
from sqlalchemy import text
from websockets.asyncio.client import connect

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.push.protocol import MAX_FRAME
from dispatch.server import uvicorn_options
from tests.builders import free_everything, make_user_with_token
from tests.test_matching_flow import FIRE

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def crews(settings, engine, imported_map, redis):
    """Committed tokens: every unit's device, a call-taker, a dispatcher. Units and incidents reset after."""
    await free_everything(engine)
    tokens: dict = {"units": {}}
    async with make_sessionmaker(engine)() as session:
        units = (await session.execute(text("SELECT id, call_sign FROM units ORDER BY id"))).all()
        for unit_id, call_sign in units:
            _, token = await make_user_with_token(session, settings, role=Role.unit, unit_call_sign=call_sign)
            tokens["units"][unit_id] = token
        for role in (Role.call_taker, Role.dispatcher):
            _, tokens[role.value] = await make_user_with_token(session, settings, role=role)
        await session.commit()
    yield tokens
    await free_everything(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE unit_id IS NOT NULL)")
        )
        await conn.execute(text("DELETE FROM users WHERE unit_id IS NOT NULL"))


@pytest.fixture
async def serve(settings):
    """`await serve(**settings)` starts a uvicorn server in this loop; returns (app, "host:port")."""
    running = []

    async def start(**changes):
        app = create_app(settings.model_copy(update={"matcher": True, **changes}))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **uvicorn_options())
        )
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        await app.state.services.hub.ready.wait()
        return app, f"127.0.0.1:{port}"

    yield start
    for server, task in running:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def device(addr: str, token: str, last_seq: int | None = None):
    ws = await connect(f"ws://{addr}/ws/unit", additional_headers=bearer(token))
    welcome = orjson.loads(await ws.recv())
    assert welcome["type"] == "welcome" and welcome["protocol"] == 1
    if last_seq is not None:
        await ws.send(orjson.dumps({"type": "hello", "last_seq": last_seq}).decode())
    return ws


async def next_of(ws, kind: str, timeout: float = 10.0) -> dict:
    """The next message of a type, skipping heartbeats and others."""
    deadline = time.monotonic() + timeout
    while True:
        message = orjson.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


async def first_assignment(sockets: dict, timeout: float = 15.0) -> tuple[int, dict]:
    """(unit id, message) of the first assignment any of these devices receives."""

    async def one(unit_id, ws):
        return unit_id, await next_of(ws, "assignment", timeout)

    tasks = [asyncio.create_task(one(u, ws)) for u, ws in sockets.items()]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    assert done, "no device received an assignment"
    return next(iter(done)).result()


async def take_call(addr: str, token: str, body: dict) -> int:
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.post("/api/calls", json=body, headers=bearer(token))
        assert response.status_code == 201, response.text
        return response.json()["id"]


async def test_sockets_refuse_missing_and_wrong_tokens(serve, crews):
    _, addr = await serve()
    unit_token = next(iter(crews["units"].values()))
    for path, headers in [
        ("/ws/unit", {}),
        ("/ws/unit", bearer("dsp_nope")),
        ("/ws/unit", bearer(crews["dispatcher"])),
        ("/ws/console", bearer(unit_token)),
        ("/ws/console", {}),
    ]:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await connect(f"ws://{addr}{path}", additional_headers=headers)
        assert refused.value.response.status_code == 403
    # A browser offers the token as a subprotocol next to the protocol's own name.
    ws = await connect(f"ws://{addr}/ws/console", subprotocols=["dispatch.v1", f"bearer.{crews['dispatcher']}"])
    assert ws.subprotocol == "dispatch.v1" and orjson.loads(await ws.recv())["type"] == "snapshot"
    await ws.close()


async def test_an_assignment_reaches_the_device_and_its_ack_is_recorded(serve, crews, engine):
    app, addr = await serve()
    sockets = {u: await device(addr, t, last_seq=0) for u, t in crews["units"].items()}
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    async with engine.begin() as conn:  # a hazard at the address: the crew must be told on the way
        flag = await conn.scalar(
            text("""
            INSERT INTO premise_flags (location, radius_m, category, description)
            SELECT location, 30, 'hazard', 'push test: gas cylinders in the cellar' FROM addresses
            WHERE street = 'Städtle' AND housenumber = '23' LIMIT 1 RETURNING id""")
        )
    try:
        incident_id = await take_call(addr, crews["call_taker"], {**FIRE, "type_code": "FIRE-OTHER"})
        unit_id, message = await first_assignment(sockets)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM premise_flags WHERE id = :f"), {"f": flag})
    assert message["incident_id"] == incident_id and message["slot"] == "engine"
    assert message["address"] and message["location"]["lat"] and message["priority"] == 3
    assert message["callback"] == FIRE["caller_number"].replace(" ", "") and message["incident_type"] == "FIRE-OTHER"
    assert {"category": "hazard", "description": "push test: gas cylinders in the cellar"} in message["premise_flags"]
    route = await next_of(sockets[unit_id], "update")  # the route follows the assignment
    assert route["incident_id"] == incident_id and route["assignment_id"] == message["assignment_id"]
    assert route["route"]["coords"] and route["route"]["seconds"] > 0 and route["seq"] == message["seq"] + 1
    assert route["route"]["seconds"] == pytest.approx(message["eta_s"], abs=0.1)  # the drive time it was chosen by
    others = [ws for u, ws in sockets.items() if u != unit_id]
    await sockets[unit_id].send(orjson.dumps({"type": "ack", "of": message["id"], "id": "a1"}).decode())
    assert (await next_of(sockets[unit_id], "ok"))["re"] == "a1"
    for _ in range(50):
        if (await app.state.services.board.get(unit_id)).status == "acknowledged":
            break
        await asyncio.sleep(0.05)
    async with engine.connect() as conn:
        acked = await conn.scalar(
            text("SELECT acknowledged_at FROM assignments WHERE incident_id = :i"), {"i": incident_id}
        )
    assert acked is not None
    assert (await next_of(console, "incident.dispatched"))["incident_id"] == incident_id
    # No other device saw it: a unit never sees another unit's assignments.
    for ws in others:
        with pytest.raises(TimeoutError):
            await next_of(ws, "assignment", timeout=0.2)
    for ws in [*sockets.values(), console]:
        await ws.close()


async def test_an_unacknowledged_assignment_is_resent_then_escalated_and_the_next_unit_sent(serve, crews, engine):
    app, addr = await serve(ack_deadline_s=0.6)
    sockets = {u: await device(addr, t, last_seq=0) for u, t in crews["units"].items()}
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    incident_id = await take_call(addr, crews["call_taker"], {**FIRE, "type_code": "FIRE-OTHER"})
    silent, message = await first_assignment(sockets)
    again = await next_of(sockets[silent], "assignment")
    assert again["id"] == message["id"] and again["seq"] == message["seq"]  # the same message, sent once more
    assert (await next_of(console, "alert"))["kind"] == "ack_late"
    cancel = await next_of(sockets[silent], "cancel")
    assert cancel["incident_id"] == incident_id
    escalation = await next_of(console, "alert")
    assert escalation["kind"] == "escalation" and escalation["unit_id"] == silent
    del sockets[silent]
    second, reassigned = await first_assignment(sockets)
    assert second != silent and reassigned["incident_id"] == incident_id
    assert (await app.state.services.board.get(silent)).status == "out_of_service"
    for ws in [*sockets.values(), console]:
        await ws.close()


async def test_a_device_that_reconnects_gets_what_it_missed_once(serve, crews):
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token, last_seq=0)
    first = await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "note": "one"})
    got = await next_of(ws, "update")
    assert got["seq"] == first.seq
    await ws.close()
    await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "note": "two"})
    await app.state.services.pusher.outbox.send(unit_id, {"type": "update", "note": "three"})
    ws = await device(addr, token, last_seq=got["seq"])
    missed = [await next_of(ws, "update"), await next_of(ws, "update")]
    assert [m["note"] for m in missed] == ["two", "three"]
    with pytest.raises(TimeoutError):
        await next_of(ws, "update", timeout=0.3)  # nothing twice
    await ws.close()


async def test_bad_messages_get_an_error_and_change_nothing(serve, crews):
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    before = await app.state.services.board.get(unit_id)
    for raw in [
        "not json",
        "{}",
        '{"type": "teleport"}',
        '{"type": "status", "status": "flying"}',
        '{"type": "position", "lat": 95, "lon": 9.5}',
        '{"type": "status", "status": "on_scene", "id": "s0"}',
        '{"type": "status", "status": "on_scene", "assignment_id": 987654321, "id": "s1"}',
    ]:
        await ws.send(raw)
        error = await next_of(ws, "error")
        assert error["message"]
    # A status about an assignment that is not the unit's (it has none) is refused, and says which message.
    assert error["code"] == "conflict" and "987654321" in error["message"] and error["re"] == "s1"
    assert await app.state.services.board.get(unit_id) == before
    await ws.send("x" * (MAX_FRAME + 1))
    with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
        for _ in range(5):
            await ws.recv()
    assert closed.value.rcvd.code == 1009


async def test_a_flooding_device_is_rate_limited(serve, crews):
    _, addr = await serve(matcher=False)
    _unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    for i in range(120):
        await ws.send(orjson.dumps({"type": "ping", "id": f"p{i}"}).decode())
    assert (await next_of(ws, "error"))["code"] == "rate_limited"
    await ws.close()


async def test_a_slow_console_is_closed_and_can_come_back(serve, crews):
    app, addr = await serve(matcher=False, ws_send_queue=8)
    # A console that never reads: the handshake by hand on a socket with a small receive buffer, then silence.
    host, port = addr.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    writer.write(
        (
            f"GET /ws/console HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {crews['dispatcher']}\r\n\r\n"
        ).encode()
    )
    assert b" 101 " in await reader.readline()
    for _ in range(100):
        if app.state.services.hub.consoles:
            break
        await asyncio.sleep(0.02)
    sock = next(iter(app.state.services.hub.consoles))
    big = {"type": "positions", "units": [[i, 47.1, 9.5] for i in range(4000)]}
    for _ in range(600):  # kernel buffers fill, then the transport's, then the socket's queue of 8
        await app.state.services.queue_keeper.publish(big)
        await asyncio.sleep(0.005)  # at the pace the listener takes them (Redis drops a subscriber far behind)
        if sock.close_code is not None:
            break
    assert sock.close_code == 4008
    writer.close()
    again = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    assert orjson.loads(await again.recv())["type"] == "snapshot"
    await again.close()


async def test_two_processes_share_changes_through_redis(settings, crews):
    """A unit's socket on one process, a console on another, the call taken by the first."""
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": settings.database_url,
        "DISPATCH_REDIS_URL": settings.redis_url,
        "DISPATCH_ENV": "test",
        "DISPATCH_ROUTE_CACHE_DIR": str(settings.route_cache_dir),
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=ROOT,
        )
        for port in ports
    ]
    try:
        for port in ports:
            async with AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(150):
                    with contextlib.suppress(Exception):
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    await asyncio.sleep(0.2)
        a, b = (f"127.0.0.1:{port}" for port in ports)
        sockets = {u: await device(a, t, last_seq=0) for u, t in crews["units"].items()}
        console = await connect(f"ws://{b}/ws/console", additional_headers=bearer(crews["dispatcher"]))
        incident_id = await take_call(b, crews["call_taker"], {**FIRE, "type_code": "FIRE-OTHER"})
        unit_id, message = await first_assignment(sockets, timeout=20)
        assert message["incident_id"] == incident_id
        seen = await next_of(console, "incident.dispatched", timeout=20)
        assert seen["incident_id"] == incident_id and unit_id in seen["units"]
        for ws in [*sockets.values(), console]:
            await ws.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


async def test_position_fixes_reach_the_board_and_the_database_in_batches(serve, crews, engine):  # noqa: F811
    app, addr = await serve()
    unit_id, token = next(iter(crews["units"].items()))
    stored = text("SELECT ST_Y(position::geometry) FROM units WHERE id = :u")
    async with engine.connect() as conn:
        before = await conn.scalar(stored, {"u": unit_id})
    async with connect(f"ws://{addr}/ws/unit", additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.recv()  # welcome
        for i in range(3):
            await ws.send(orjson.dumps({"type": "position", "lat": 47.15 + i * 0.001, "lon": 9.52}).decode())
        await asyncio.sleep(0.6)  # a few flushes
        unit = await app.state.services.board.get(unit_id)
        assert (round(unit.lat, 3), round(unit.lon, 2)) == (47.152, 9.52)  # the last fix
    for _ in range(100):  # the write follows the board's within a flush or two (longer on a loaded machine)
        async with engine.connect() as conn:
            lat = await conn.scalar(stored, {"u": unit_id})
        if lat != before:
            break
        await asyncio.sleep(0.1)
    assert round(lat, 3) == 47.15  # the first fix of a sampling period is stored; the rest wait 30 s
