"""The HTTP edge: bodies bounded in size and time, slow clients cut, the client's address behind a proxy, and
the security headers on every page, answers compressed for a client that accepts it."""

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from ipaddress import ip_network

import pytest
import uvicorn
from httpx import ASGITransport, AsyncClient

from dispatch.app import create_app
from dispatch.auth.deps import get_session
from dispatch.auth.models import Role
from dispatch.server import uvicorn_options
from tests.test_push import free_port
from tests.test_reports_public import closed_with_link

REPORT = {
    "phone": "+423 600 10 00",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "NOISE",
    "description": "Music very loud since midnight",
}


class Counted:
    """A request body that counts what the server read of it."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.read = total, chunk, 0

    async def __aiter__(self):
        while self.read < self.total:
            self.read += self.chunk
            yield b" " * self.chunk


@pytest.fixture
async def edge_app(settings, session, redis):
    """`await edge_app(**settings)`: an app on the test database with settings of its own, and its client."""
    opened = []

    async def start(**changes):
        app = create_app(settings.model_copy(update=changes))

        async def test_session():
            yield session
            await session.flush()

        app.dependency_overrides[get_session] = test_session
        context = app.router.lifespan_context(app)
        await context.__aenter__()
        client = AsyncClient(transport=ASGITransport(app=app, client=("127.0.0.1", 4711)), base_url="http://test")
        opened.append((context, client))
        return app, client

    yield start
    for context, client in opened:
        await client.aclose()
        await context.__aexit__(None, None, None)


# --- 13. Request bodies -------------------------------------------------------------------------------------


async def test_a_body_declared_too_large_is_refused_before_it_is_read(client):
    body = Counted(200 * 1024 * 1024)
    response = await client.post(
        "/api/public/reports",
        content=body.__aiter__(),
        headers={"Content-Length": str(body.total), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/payload_too_large"
    assert body.read == 0


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(client, settings):
    body = Counted(200 * 1024 * 1024)
    response = await client.post(
        "/api/public/reports", content=body.__aiter__(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert body.read <= settings.max_body_bytes + body.chunk  # the limit and the chunk that crossed it


async def test_the_largest_legitimate_call_fits_the_limit(client, auth, settings, imported_map):
    astral = "🚒"  # a character JSON may escape as a surrogate pair: 12 bytes each
    call = {
        "caller_name": astral * 200,
        "caller_number": "+423 600 00 00",
        "callback_number": "+423 600 00 00",
        "location_text": "Städtle 23, Vaduz" + astral * 283,
        "type_code": "FIRE-OTHER",
        "narrative": astral * 4000,
        "priority": 1,
    }
    raw = json.dumps(call, ensure_ascii=True).encode()  # each as "\\ud83d\\ude92"
    assert len(raw) > 4000 * 12
    response = await client.post(
        "/api/calls", content=raw, headers={**await auth(Role.call_taker), "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.fixture
async def live(settings):
    """`await live(**settings)`: the service under uvicorn with the options `dispatch serve` uses."""
    running = []

    async def start(*, header_timeout_s: float = 1.0, **changes):
        app = create_app(settings.model_copy(update={"matcher": False, **changes}))
        port = free_port()
        options = uvicorn_options(header_timeout_s=header_timeout_s)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
        task = asyncio.create_task(server.serve())
        running.append((server, task))
        while not server.started:
            await asyncio.sleep(0.05)
        return app, port

    yield start
    for server, task in running:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


async def _until_closed(port: int, first: bytes, then: bytes = b"", every_s: float = 0.2) -> bytes:
    """Opens a socket, sends `first`, then trickles `then` a byte at a time; returns what the server said
    before it closed the connection. The socket gives up after 30 s (the server's limits are 1 s here)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first)
    await writer.drain()
    answer = b""

    async def trickle():
        for byte in then:
            await asyncio.sleep(every_s)
            writer.write(bytes([byte]))
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    sender = asyncio.create_task(trickle())
    try:
        async with asyncio.timeout(30):
            while chunk := await reader.read(65536):
                answer += chunk
    except ConnectionError:
        pass
    finally:
        sender.cancel()
        writer.close()
    return answer


async def test_an_idle_connection_outlives_a_clients_reuse_of_it(live, imported_map):
    """httpx reuses an idle connection for 5 s: were the server to close it at the same moment, a request sent on
    it then would get no answer (seen in CI as a ReadError)."""
    _, port = await live()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        for idle_s in (5.5, 0):  # longer than httpx's keepalive_expiry, then none
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            await asyncio.sleep(idle_s)
    finally:
        writer.close()


async def test_slow_headers_are_cut(live, imported_map):
    _, port = await live(header_timeout_s=1.0)
    # Headers that never end, a byte every 0.2 s: the connection is closed, not held.
    await _until_closed(port, b"POST /api/public/reports HTTP/1.1\r\nHost: x\r\n", b"X-Slow: " + b"a" * 1000)
    # A connection that says nothing at all.
    await _until_closed(port, b"")


async def test_a_slow_body_is_answered_408_and_cut(live, imported_map):
    _, port = await live(body_timeout_s=1.0)
    head = (
        b"POST /api/public/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    answer = await _until_closed(port, head, b" " * 998)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer


async def test_an_aborted_body_is_no_error(live, imported_map, caplog):
    _, port = await live()
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"POST /api/public/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 5000\r\n\r\n{"phone": '
            )
    caplog.set_level(logging.INFO)
    # The server has seen the aborts when it answers the next request on a new connection.
    async with AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(20):
            await asyncio.sleep(0.1)
            assert (await client.get("/healthz")).status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_a_device_that_leaves_before_its_handshake_is_answered_is_no_error(live, imported_map, caplog):
    """A connection storm (ten thousand trackers on a busy machine): devices whose connect timed out leave before
    the service answers. Each was taken for a backend down, whose answer failed again on the closed socket and
    left a traceback, a fifth of the service's CPU in the storm."""
    caplog.set_level(logging.INFO)
    _, port = await live()
    for n in range(20):
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(
                b"GET /ws/unit HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                b"Authorization: Bearer %d-not-a-token\r\n\r\n" % n
            )
    async with AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(10):
            await asyncio.sleep(0.1)
            assert (await client.get("/healthz")).status_code == 200
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage()[:200] for r in noisy]


# --- 14. The client's address behind a reverse proxy ------------------------------------------------------


async def test_public_report_limits_are_per_citizen_behind_a_trusted_proxy(edge_app, settings, redis, imported_map):
    app, client = await edge_app(trusted_proxies=[ip_network("127.0.0.1")])
    limit = settings.public_reports_per_hour
    for n in range(limit + 2):  # every citizen has a limit of their own, though all come through the proxy
        response = await client.post(
            "/api/public/reports",
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
            json={**REPORT, "phone": f"+423 600 10 {n:02d}"},
        )
        assert response.status_code == 202, response.text
    hour = int(time.time() // 3600)
    assert await redis.get(app.state.services.keys.rate("public-ip", "198.51.100.1", hour)) == b"1"


async def test_forwarded_addresses_from_anyone_else_are_ignored(edge_app, settings, imported_map):
    _, client = await edge_app(trusted_proxies=[ip_network("10.0.0.0/8")])  # the connecting peer, 127.0.0.1, is not one
    limit = settings.public_reports_per_hour
    answers = [
        (
            await client.post(
                "/api/public/reports",
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
                json={**REPORT, "phone": f"+423 600 20 {n:02d}"},
            )
        ).status_code
        for n in range(limit + 1)
    ]
    assert answers == [202] * limit + [429]


# --- 15. Security headers ---------------------------------------------------------------------------------

PAGES = [
    "/",
    "/console/",
    "/console/app.js",
    "/console/vendor/leaflet/leaflet.js",
    "/docs",
    "/public/response-times?format=html",
    "/public/feedback/{token}",
    "/api/incident-types",
]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_has_the_security_headers(client, session, settings, auth, path):
    if "{token}" in path:
        path = path.format(token=(await closed_with_link(session, settings))[1])
    headers = await auth(Role.call_taker) if path.startswith("/api/") else {}
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert policy["connect-src"] == "'self' ws://test wss://test"
    if response.headers["content-type"].startswith("text/html"):
        assert "<script>" not in response.text  # every script from a file of our own


async def test_docs_load_nothing_from_elsewhere(client):
    page = (await client.get("/docs")).text
    assert "cdn." not in page and "https://" not in page
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/assets/docs.js"):
        assert (await client.get(asset)).status_code == 200, asset


async def test_answers_are_gzipped_for_a_client_that_accepts_it(client, auth, imported_map):
    viewer = await auth(Role.call_taker)
    for path, headers in (("/unit/main.js", {}), ("/console/vendor/leaflet/leaflet.js", {}), ("/api/map", viewer)):
        packed = await client.get(path, headers={**headers, "Accept-Encoding": "gzip"})
        plain = await client.get(path, headers={**headers, "Accept-Encoding": "identity"})
        assert packed.status_code == plain.status_code == 200, path
        assert packed.headers["content-encoding"] == "gzip" and "accept-encoding" in packed.headers["vary"].lower()
        assert "content-encoding" not in plain.headers, path
        # The same content (the map, gzipped by its route already, is not packed twice).
        assert packed.content == plain.content and packed.num_bytes_downloaded < plain.num_bytes_downloaded / 2
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # not worth it under a kilobyte


async def test_the_pages_run_in_a_browser_with_no_policy_violation(live, session, settings, imported_map):
    from playwright.async_api import async_playwright

    _, port = await live()
    base = f"http://127.0.0.1:{port}"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = await browser.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        hosts: set[str] = set()
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]) if r.url.startswith("http") else None)
        await page.goto(f"{base}/")
        await page.goto(f"{base}/console/")
        await page.wait_for_selector("#login-form", state="visible")
        await page.goto(f"{base}/docs")
        await page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI ran and drew the operations
        await page.goto(f"{base}/public/response-times?format=html")
        icon = await page.request.get(f"{base}/favicon.ico")  # asked for by the browser on every page
        assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
        await browser.close()
    assert not problems, problems
    assert hosts == {f"127.0.0.1:{port}"}


def test_serve_with_a_bad_setting_exits_2_with_its_name(monkeypatch):
    from typer.testing import CliRunner

    from dispatch.cli import app as cli
    from dispatch.config import get_settings

    monkeypatch.setenv("DISPATCH_KEEP_ALIVE_S", "abc")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "bad settings" in result.output and "keep_alive_s" in result.output
    assert "Traceback" not in result.output
