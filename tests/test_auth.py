"""Every route declares who may call it; tokens are bearer secrets kept only as hashes."""

import asyncio
import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
import websockets
from fastapi.routing import APIRoute
from sqlalchemy import select, text
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import connect

from dispatch.auth import service
from dispatch.auth.cache import announce_revoked
from dispatch.auth.models import ApiToken, Role
from dispatch.db import make_sessionmaker
from dispatch.errors import Conflict, InvalidInput, NotFound
from tests.builders import make_user_with_token
from tests.test_push import bearer, crews, serve  # noqa: F401 (fixtures)

# The routes anyone may call, each with its reason. Everything else refuses a request without a token.
PUBLIC = {
    ("GET", "/healthz"): "liveness probe of the orchestrator",
    ("GET", "/readyz"): "readiness probe of the orchestrator",
    ("GET", "/public/response-times"): "the published monthly response times (no personal data)",
    ("GET", "/public/feedback/{token}"): "a caller's feedback form: the link's own token is the access",
    ("POST", "/public/feedback/{token}"): "a caller's feedback answer: the link's own token is the access",
    ("POST", "/api/public/reports"): "public intake: anyone may report an emergency (rate-limited)",
    ("POST", "/api/inbound/sms"): "the SMS gateway's webhook, proved by its HMAC signature instead",
    ("GET", "/"): "the console's page: it asks for a token before it calls the API",
    ("GET", "/favicon.ico"): "the browser asks for it on every page",
    ("GET", "/unit/sw.js"): "the crew app's service worker, public like the rest of /unit/: file names and a hash",
    ("GET", "/docs"): "the API's documentation page",
    ("GET", "/openapi.json"): "the API's description, which the documentation page reads",
}
# Who may open the console's live feed (each role is sent what dispatch.push.consoles says it may see).
CONSOLE_FLOOR = (Role.call_taker, Role.dispatcher, Role.commander, Role.admin)
# Static files (the console's, the crew app's and the reports' scripts and styles, the documentation's assets, the
# pinned map and chart libraries): nothing in them is private; the figures come from the API, behind a token.
PUBLIC_MOUNTS = {
    "/assets",
    "/docs/assets",
    "/console",
    "/console/vendor/leaflet",
    "/unit",
    "/reports",
    "/reports/vendor/chart.js",
}


def all_routes(routes, prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every route the app serves, through included routers, whether in the OpenAPI
    description or not."""
    for route in routes:
        if isinstance(route, Route | APIRoute | WebSocketRoute | Mount):
            yield prefix + route.path, route
        else:  # an included router: its routes under its prefix
            included = route.include_context
            yield from all_routes(included.included_router.routes, prefix + included.prefix)


def http_endpoints(app) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route but HEAD, and every method of every OpenAPI path."""
    found = {(m, path) for path, r in all_routes(app.routes) if isinstance(r, Route) for m in r.methods if m != "HEAD"}
    found |= {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    return sorted(found, key=lambda e: (e[1], e[0]))


async def test_every_route_refuses_a_request_without_a_token(app, client):
    endpoints = http_endpoints(app)
    assert {("GET", "/api/units"), ("POST", "/api/incidents/{incident_id}/close")} <= set(endpoints)
    assert {("PATCH", "/api/incidents/{incident_id}"), ("DELETE", "/api/premise-flags/{flag_id}")} <= set(endpoints)
    assert set(PUBLIC) <= set(endpoints), "a public route listed here is gone: take it off the list"
    mounts = {path for path, r in all_routes(app.routes) if isinstance(r, Mount)}
    assert mounts == PUBLIC_MOUNTS, "a new mount: list it as public, with its reason, or protect it"
    for method, path in endpoints:
        if (method, path) in PUBLIC:
            continue
        response = await client.request(method, re.sub(r"\{[^}]+\}", "1", path), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["type"] == "/problems/not_authenticated"


async def _handshake_without_token(app, path: str) -> list[dict]:
    """What the app answers a websocket handshake that carries no token (raw ASGI: no server needed)."""
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"test")],
        "subprotocols": [],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "app": app,
        "extensions": {"websocket.http.response": {}},
    }
    sent: list[dict] = []
    connected = False

    async def receive() -> dict:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        return {"type": "websocket.disconnect", "code": 1000}  # only a socket that was let in asks again

    async def send(message: dict) -> None:
        sent.append(message)

    with contextlib.suppress(WebSocketDisconnect):  # a handler that let the device in, seeing it go
        await asyncio.wait_for(app(scope, receive, send), 10)
    return sent


async def test_every_websocket_refuses_a_handshake_without_a_token(app):
    sockets = sorted(path for path, r in all_routes(app.routes) if isinstance(r, WebSocketRoute))
    assert sockets, "the websocket routes were not found"
    for path in sockets:
        sent = await _handshake_without_token(app, path)
        assert sent, path
        assert sent[0]["type"] in ("websocket.close", "websocket.http.response.start"), (path, sent)
        assert all(m["type"] != "websocket.accept" for m in sent), path


async def test_an_unknown_token_is_401(client):
    response = await client.get("/api/me", headers={"Authorization": "Bearer dsp_made_up"})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown token"


async def test_the_wrong_role_is_403_and_the_right_one_200(client, auth):
    call_taker = await auth(Role.call_taker)
    response = await client.get("/api/users", headers=call_taker)
    assert response.status_code == 403
    assert "call_taker" in response.json()["detail"]
    assert (await client.get("/api/units", headers=call_taker)).status_code == 200
    admin = await auth(Role.admin)
    assert (await client.get("/api/users", headers=admin)).status_code == 200


async def test_a_unit_device_may_not_read_the_fleet(client, auth, session, imported_map):
    unit = await auth(Role.unit, unit_call_sign="Engine 1")
    me = await client.get("/api/me", headers=unit)
    assert me.status_code == 200
    assert me.json()["role"] == "unit" and me.json()["unit_id"] is not None
    assert (await client.get("/api/units", headers=unit)).status_code == 403


async def test_revoked_and_expired_tokens_are_401(app, client, session, settings):
    user, token = await make_user_with_token(session, settings, role=Role.dispatcher)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    await service.revoke_tokens(session, username=user.username)
    services = app.state.services  # as `dispatch users revoke` does once it has committed
    await announce_revoked(services.redis, services.keys, user.id)
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]

    _, old = await make_user_with_token(session, settings, role=Role.dispatcher, valid_for=timedelta(seconds=-1))
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


async def test_tokens_are_stored_only_as_hashes(session, settings):
    _, token = await make_user_with_token(session, settings, role=Role.commander)
    stored = (await session.scalars(select(ApiToken.token_hash))).all()
    assert token not in stored
    dump = await session.scalar(text("SELECT string_agg(api_tokens::text, ' ') FROM api_tokens"))
    assert token not in dump


async def test_unit_accounts_are_bound_to_exactly_one_unit(session, settings, imported_map):
    with pytest.raises(InvalidInput, match="must name its unit"):
        await service.create_user(session, username="u1", role=Role.unit)
    with pytest.raises(NotFound, match="no unit"):
        await service.create_user(session, username="u2", role=Role.unit, unit_call_sign="Engine 999")
    with pytest.raises(InvalidInput, match="only accounts with the role 'unit'"):
        await service.create_user(session, username="u3", role=Role.dispatcher, unit_call_sign="Engine 1")
    await service.create_user(session, username="u4", role=Role.unit, unit_call_sign="Medic 1")
    with pytest.raises(Conflict, match="already has an account"):
        await service.create_user(session, username="u5", role=Role.unit, unit_call_sign="Medic 1")


async def test_usernames_are_checked(session):
    with pytest.raises(InvalidInput):
        await service.create_user(session, username="no spaces allowed", role=Role.dispatcher)
    await service.create_user(session, username="taken", role=Role.dispatcher)
    with pytest.raises(Conflict):
        await service.create_user(session, username="taken", role=Role.dispatcher)


async def test_the_console_socket_admits_the_floor_and_refuses_a_unit(serve, crews, engine, settings):  # noqa: F811
    """`WS /ws/console`: call-takers (whose panel must not go stale while a caller is on the line), dispatchers,
    commanders and admins; never a unit's device (docs/protocol.md)."""
    _, addr = await serve()
    async with make_sessionmaker(engine)() as session:
        floor = {role: (await make_user_with_token(session, settings, role=role))[1] for role in CONSOLE_FLOOR}
        await session.commit()
    for role, token in floor.items():
        async with connect(f"ws://{addr}/ws/console", additional_headers=bearer(token)) as ws:
            assert orjson.loads(await ws.recv())["type"] == "snapshot", role
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(f"ws://{addr}/ws/console", additional_headers=bearer(next(iter(crews["units"].values()))))
    assert refused.value.response.status_code == 403
