"""The README's promise when PostgreSQL restarts: every route answers 503 with Retry-After (problem JSON, never
500, never a dropped connection) while it is away, and works again, by itself, once it accepts connections.

The service runs under uvicorn on a PostgreSQL cluster of its own (stopped `immediate`, as in a crash: every
connection cut at once), with a map of one street in one municipality: the geocoder needs a map, and the
bundled one takes seconds to import.
"""

import asyncio
import contextlib

import httpx
import pytest
import uvicorn
import websockets
from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from benchmarks.bench.servers import PrivatePostgres, free_port
from dispatch.app import create_app
from dispatch.auth.deps import SessionDep
from dispatch.auth.models import Role
from dispatch.db import make_async_engine
from dispatch.errors import PROBLEM_JSON
from dispatch.geocoding.service import GeocoderHolder
from dispatch.server import uvicorn_options
from dispatch.setup import load_map_with_fleet, migrate
from tests.builders import make_user_with_token

ONE_STREET = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="dispatch tests">
 <node id="1" lat="47.1390" lon="9.5210" version="1"/>
 <node id="2" lat="47.1410" lon="9.5220" version="1"/>
 <node id="3" lat="47.1430" lon="9.5230" version="1"/>
 <node id="4" lat="47.1411" lon="9.5223" version="1">
  <tag k="addr:street" v="Städtle"/><tag k="addr:housenumber" v="23"/><tag k="addr:city" v="Vaduz"/>
 </node>
 <node id="5" lat="47.1300" lon="9.5100" version="1"/>
 <node id="6" lat="47.1300" lon="9.5400" version="1"/>
 <node id="7" lat="47.1500" lon="9.5400" version="1"/>
 <node id="8" lat="47.1500" lon="9.5100" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="residential"/><tag k="name" v="Städtle"/></way>
 <way id="11" version="1"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
 <relation id="20" version="1"><member type="way" ref="11" role="outer"/>
  <tag k="type" v="boundary"/><tag k="boundary" v="administrative"/><tag k="admin_level" v="8"/>
  <tag k="name" v="Vaduz"/></relation>
</osm>
"""
CALL = {
    "channel": "phone",
    "caller_number": "+423 791 11 11",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "FIRE-STRUCT",
    "narrative": "Rauch aus dem Dach",
}


@pytest.fixture
def cluster(settings, tmp_path):
    postgres = PrivatePostgres()
    try:
        postgres.setup()
        own = settings.model_copy(update={"database_url": postgres.url, "db_pool_size": 4})
        migrate(own)
        (tmp_path / "one-street.osm").write_text(ONE_STREET)
        load_map_with_fleet(tmp_path / "one-street.osm", own.libpq_url)
        yield postgres, own
    finally:
        postgres.close()


async def tokens(settings) -> dict[Role, dict[str, str]]:
    engine = create_async_engine(settings.async_database_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            made = {
                role: (await make_user_with_token(session, settings, role=role))[1]
                for role in (Role.call_taker, Role.dispatcher)
            }
            await session.commit()
    finally:
        await engine.dispose()
    return {role: {"Authorization": f"Bearer {token}"} for role, token in made.items()}


@contextlib.asynccontextmanager
async def served(settings):
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            lifespan="on",
            **uvicorn_options(),
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the service did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await task


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["status"] == 503


async def test_every_route_answers_503_while_postgres_is_away_and_works_once_it_is_back(cluster):
    postgres, settings = cluster
    headers = await tokens(settings)
    taker, dispatcher = headers[Role.call_taker], headers[Role.dispatcher]
    async with served(settings) as address, httpx.AsyncClient(base_url=f"http://{address}") as client:

        async def take_call() -> httpx.Response:
            return await client.post("/api/calls", json=CALL, headers=taker)

        async def read(incident_id: int) -> httpx.Response:
            return await client.get(f"/api/incidents/{incident_id}", headers=dispatcher)

        async def close(incident_id: int) -> httpx.Response:
            return await client.post(
                f"/api/incidents/{incident_id}/close", json={"disposition": "resolved"}, headers=dispatcher
            )

        async def note(incident_id: int) -> httpx.Response:  # written by the request's commit, at its end
            return await client.post(
                f"/api/incidents/{incident_id}/notes", json={"text": "crew on scene"}, headers=dispatcher
            )

        # Several calls at once: the pool holds several connections, all of which PostgreSQL's stop kills.
        taken = await asyncio.gather(*(take_call() for _ in range(settings.db_pool_size)))
        assert [r.status_code for r in taken] == [201] * len(taken), [r.text for r in taken]
        ids = [r.json()["id"] for r in taken]

        # A watch for a new map with a pooled connection, as the service's watches have.
        watch_engine = make_async_engine(settings)
        watch = GeocoderHolder(settings.libpq_url, watch_engine)
        await watch.refresh()

        postgres.stop("immediate")  # on the event loop's thread: no socket's end is read before the next look
        # The look on the connection PostgreSQL just cut fails; the watch logs it and looks again later.
        await watch.poll()
        await watch_engine.dispose()
        for _ in range(2):  # the first on a pooled connection PostgreSQL cut, the next on a refused connect
            assert_unavailable(await take_call())
            assert_unavailable(await read(ids[0]))
            assert_unavailable(await close(ids[0]))
            assert_unavailable(await note(ids[0]))
        # A websocket handshake that cannot check its token is refused the same way, not with a crash.
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"ws://{address}/ws/console", additional_headers=dispatcher):
                pass
        assert refused.value.response.status_code == 503
        assert refused.value.response.headers["Retry-After"]

        await asyncio.to_thread(postgres.start)  # returns once PostgreSQL accepts connections
        # From then on every request works: no dead pooled connection is handed out again.
        for incident_id in ids:
            assert (await take_call()).status_code == 201
            assert (await read(incident_id)).status_code == 200
            assert (await note(incident_id)).status_code == 201
            assert (await close(incident_id)).status_code == 200


async def test_a_commit_that_fails_at_the_end_of_the_request_is_answered_503_not_200(settings, redis):
    """The request's session commits after the route returned: if PostgreSQL is lost then, the client must
    hear 503, never the route's 200 for a write that was not stored."""
    app = create_app(settings)

    @app.post("/test/lost-before-commit")
    async def lost_before_commit(request: Request, session: SessionDep) -> dict:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))  # the request's transaction is open now
        async with request.app.state.services.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # Each look in a transaction of its own: within one, pg_stat_activity is the snapshot of the first look
            # (a backend not yet gone then was waited for for ever, on a loaded machine).
            for _ in range(1000):
                await other.rollback()
                if not await other.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"backend {pid} still there 10 s after it was terminated")
        return {"written": True}

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        assert_unavailable(await client.post("/test/lost-before-commit"))
