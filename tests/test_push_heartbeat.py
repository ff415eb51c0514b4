"""The protocol's heartbeat (docs/protocol.md): every socket is pinged, a device that keeps talking (its position
every few seconds) too, since a device may take the server's silence for a dead link (Locust's devices, reading
with a 30 s timeout, stopped reading when only silent sockets were pinged, and their next assignments were never
delivered); and a socket silent past the idle limit is closed (4010)."""

import asyncio
import time

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from dispatch.push import protocol as p
from dispatch.push import routes
from tests import test_push
from tests.test_push import device

crews, serve = test_push.crews, test_push.serve  # the fixtures: committed accounts, a server in this loop

pytestmark = pytest.mark.slow


async def _pings_within(ws, seconds: float, *, talk: bool) -> int:
    pings, deadline = 0, time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if talk:
            await ws.send(orjson.dumps({"type": "position", "lat": 47.14, "lon": 9.52}).decode())
        try:
            message = orjson.loads(await asyncio.wait_for(ws.recv(), min(left, 0.2)))
        except TimeoutError:
            continue
        pings += message["type"] == "ping"
    return pings


async def test_every_socket_is_pinged_talking_or_not_and_a_silent_one_is_closed(serve, crews, monkeypatch):
    monkeypatch.setattr(routes, "HEARTBEAT_S", 0.5)
    monkeypatch.setattr(routes, "IDLE_S", 60.0)
    _, addr = await serve()
    quiet_token, busy_token = list(crews["units"].values())[:2]
    quiet, busy = await device(addr, quiet_token, 0), await device(addr, busy_token, 0)
    talking, silent = await asyncio.gather(_pings_within(busy, 3.0, talk=True), _pings_within(quiet, 3.0, talk=False))
    assert silent >= 2, "a socket that says nothing is asked whether it is there"
    assert talking >= 2, "a device sending its position hears from the server too"
    await busy.close()

    monkeypatch.setattr(routes, "IDLE_S", 1.0)  # no pong from now on: the socket is closed as idle
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(quiet.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == p.CLOSE_IDLE
