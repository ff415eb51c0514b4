"""Failed token checks are throttled per client address, over HTTP and on websocket handshakes."""

import asyncio
import contextlib
import socket

import orjson
import pytest
import uvicorn
import websockets
from httpx import ASGITransport, AsyncClient
from websockets.asyncio.client import connect

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.auth.throttle import WINDOW_S
from dispatch.server import uvicorn_options
from tests.conftest import app_on

LIMIT = 5


@pytest.fixture
def throttled(settings):
    return settings.model_copy(update={"failed_auth_per_minute": LIMIT})


@pytest.fixture
async def app(throttled, session, redis):
    """The service with a low limit, on the test's transaction (as the conftest's `app`)."""
    async with app_on(throttled, session) as app:
        yield app


def from_address(app, host: str) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app, client=(host, 40000)), base_url="http://test")


def bad(n: int) -> dict[str, str]:
    return {"Authorization": f"Bearer dsp_guess_{n}"}


def assert_throttled(status: int, headers, body: bytes) -> None:
    assert status == 429
    assert 1 <= int(headers["retry-after"]) <= WINDOW_S
    assert headers["content-type"] == "application/problem+json"
    problem = orjson.loads(body)
    assert problem["type"] == "/problems/too_many_failed_tokens" and problem["status"] == 429


async def test_failed_tokens_from_one_address_get_429_with_retry_after(app, auth, redis):
    good = await auth(Role.dispatcher)
    async with from_address(app, "192.0.2.7") as guesser, from_address(app, "192.0.2.8") as other:
        for n in range(LIMIT):
            assert (await guesser.get("/api/me", headers=bad(n))).status_code == 401
        # Requests without a token are no token check: they do not count, and are refused as before.
        for _ in range(LIMIT * 2):
            assert (await guesser.get("/api/units")).status_code == 401
        refused = await guesser.get("/api/me", headers=bad(LIMIT))
        assert_throttled(refused.status_code, refused.headers, refused.content)
        # Once over the limit every wrong token from that address gets 429; a good one still works (a crew
        # behind the same address, a whole floor behind one NAT, is never locked out by someone else's guesses).
        refused = await guesser.get("/api/me", headers=bad(LIMIT + 1))
        assert_throttled(refused.status_code, refused.headers, refused.content)
        assert (await guesser.get("/api/me", headers=good)).status_code == 200
        # Another address is not affected.
        assert (await other.get("/api/me", headers=good)).status_code == 200
        assert (await other.get("/api/me", headers=bad(0))).status_code == 401
    # Counted in Redis, where every process of the deployment sees it: the checks made, not the ones refused.
    assert int(await redis.get(app.state.services.keys.rate("auth", "192.0.2.7", WINDOW_S))) == LIMIT + 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def served(throttled, redis):
    """The service on a real uvicorn server in this loop (websocket handshakes need one)."""
    app = create_app(throttled)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **uvicorn_options())
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(task, 10)


async def test_failed_tokens_on_websocket_handshakes_are_throttled(served):
    for n in range(LIMIT):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await connect(f"ws://{served}/ws/console", additional_headers=bad(n))
        assert refused.value.response.status_code == 403
    for path in ("/ws/console", "/ws/unit"):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await connect(f"ws://{served}{path}", additional_headers=bad(99))
        response = refused.value.response
        assert_throttled(response.status_code, response.headers, response.body)
