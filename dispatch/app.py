"""The FastAPI application factory."""

import asyncio
import contextlib
import gc
import logging
import os
import socket
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from redis.exceptions import RedisError

from dispatch import __version__
from dispatch.auth.routes import router as auth_router
from dispatch.config import Settings, get_settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.edge import install_edge
from dispatch.errors import install_error_handlers
from dispatch.geocoding.routes import router as geocoding_router
from dispatch.geocoding.service import GeocoderHolder
from dispatch.health.routes import router as health_router
from dispatch.incidents.channels import router as channels_router
from dispatch.incidents.routes import router as incidents_router
from dispatch.incidents.types import incident_types
from dispatch.keys import Keys
from dispatch.mapdata.routes import router as map_router
from dispatch.matching.eta import RouterHolder
from dispatch.matching.routes import router as matching_router
from dispatch.matching.service import board_units
from dispatch.matching.worker import Matcher
from dispatch.premises.routes import router as premises_router
from dispatch.push.access import AccessWatcher
from dispatch.push.hub import Hub
from dispatch.push.outbox import Outbox, next_epoch
from dispatch.push.resume import resume_all
from dispatch.push.routes import router as push_router
from dispatch.push.service import AckWatcher, Pusher
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.routes import router as queue_router
from dispatch.queue.service import IncidentQueue
from dispatch.reports.routes import public_router as public_reports_router
from dispatch.reports.routes import router as reports_router
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import UnitBoard
from dispatch.units.reports import FLUSH_S, PositionSampler
from dispatch.units.routes import router as units_router

log = logging.getLogger("dispatch")
CONSOLE = Path(__file__).resolve().parent.parent / "console"

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dispatch</title>
<link rel="stylesheet" href="/assets/landing.css"><link rel="icon" href="data:,"></head>
<body><h1>Dispatch</h1><p>Emergency incident dispatch for the bundled map.</p><ul>
<li><a href="/console/">Dispatcher console</a></li>
<li><a href="/docs">API (OpenAPI)</a></li><li><a href="/readyz">Readiness</a></li></ul>
<p><small>Map data &copy; OpenStreetMap contributors (ODbL)</small></p></body></html>"""


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#b71c1c"/><path d="M6.5 3h3v3.5H13v3H9.5V13h-3V9.5H3v-3h3.5z" fill="#fff"/></svg>'
)


# The cyclic garbage collector's full pass walks every object the process holds: with ten thousand sockets it
# stalled the event loop for up to 1.8 s (measured with `dispatch bench --trackers 10000`), and with the default
# thresholds it ran every few seconds under 2,000 messages a second. Young objects are collected as before,
# in passes of at most some 100,000; the full pass waits for a hundred of those rather than ten (and, by
# CPython's rule, until the long-lived heap has grown by a quarter).
GC_THRESHOLDS = (10_000, 10, 100)


async def relay_positions(state, every_s: float = 1.0) -> None:
    """Positions reach consoles once a second in one message, not one message per fix."""
    while True:
        await asyncio.sleep(every_s)
        batch = state.positions.take_batch()
        if batch:
            await state.queue_keeper.publish({"type": "positions", "units": batch})
        stop_if_cancelled()


async def flush_positions(state) -> None:
    """Held position fixes to the board and PostgreSQL every FLUSH_S; a failed flush is logged and the next
    one carries on (a fix is superseded by the next one within seconds anyway)."""
    while True:
        await asyncio.sleep(FLUSH_S)
        try:
            await state.positions.flush()
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a Redis or PostgreSQL hiccup
            stop_if_cancelled()
            log.warning("position flush failed: %r", exc)
        stop_if_cancelled()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.keys = Keys(settings.key_prefix)
        app.state.engine = make_async_engine(settings)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        # A bounded pool that makes a command wait for a connection (up to 2 s) rather than fail: a thousand
        # devices reporting at once must queue for Redis, not get errors.
        app.state.redis = aioredis.Redis.from_pool(
            aioredis.BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_pool_size,
                timeout=2,
                socket_timeout=2,
                socket_connect_timeout=2,
            )
        )
        app.state.geocoder = GeocoderHolder(settings.libpq_url, app.state.engine)
        await app.state.geocoder.start()
        app.state.queue = IncidentQueue(app.state.redis, prefix=app.state.keys.prefix, lease_s=settings.queue_lease_s)
        app.state.queue_keeper = QueueKeeper(app.state.queue, app.state.redis, app.state.sessionmaker, app.state.keys)
        app.state.board = UnitBoard(app.state.redis, app.state.keys)
        app.state.routers = RouterHolder(settings.libpq_url, app.state.engine, settings.route_cache_dir)
        await app.state.routers.start()
        app.state.outbox = Outbox(
            app.state.redis,
            app.state.keys,
            ack_within_s=settings.ack_deadline_s,
            epochs=lambda: next_epoch(app.state.sessionmaker),
        )
        app.state.pusher = Pusher(app.state, app.state.outbox)
        app.state.positions = PositionSampler(app.state)
        # Pub/sub holds its connection open and idle: a client of its own, without the read timeout.
        app.state.pubsub_redis = aioredis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, health_check_interval=30
        )
        app.state.hub = Hub(app.state.pubsub_redis, app.state.keys, queue_size=settings.ws_send_queue)
        app.state.hub.on_resubscribed.append(lambda: resume_all(app.state))
        app.state.hub.start()
        app.state.ack_watcher = AckWatcher(app.state, app.state.outbox)
        app.state.ack_watcher.start()
        app.state.access_watcher = AccessWatcher(app.state.hub, app.state.sessionmaker)
        app.state.access_watcher.start()
        app.state.position_relay = asyncio.create_task(relay_positions(app.state), name="position-relay")
        app.state.position_flush = asyncio.create_task(flush_positions(app.state), name="position-flush")
        app.state.matcher = Matcher(
            owner=f"{socket.gethostname()}:{os.getpid()}",
            queue=app.state.queue,
            board=app.state.board,
            redis=app.state.redis,
            sessions=app.state.sessionmaker,
            routers=app.state.routers,
            types=incident_types(),
            settings=settings,
            publish=app.state.queue_keeper.publish,
            requeue=app.state.queue_keeper.apply,
            pusher=app.state.pusher,
        )

        app.state.hub.on_event.append(app.state.matcher.heard)

        async def restore_board() -> None:
            async with app.state.sessionmaker() as session:
                await app.state.board.load(await board_units(session))

        async def read_units():
            async with app.state.sessionmaker() as session:
                return await board_units(session)

        async def sync_board() -> None:
            await app.state.board.sync(read_units)

        app.state.queue_keeper.on_redis_lost.append(restore_board)
        app.state.queue_keeper.on_tick.append(sync_board)
        app.state.queue_keeper.on_enqueued.append(app.state.matcher.wake)
        await app.state.queue_keeper.start()
        try:
            await sync_board()  # at every start: units seeded or changed while no process ran are picked up
        except (OSError, RedisError) as exc:
            log.warning("unit board not loaded at start, will retry with the queue: %s", exc)
        if settings.matcher:
            app.state.matcher.start()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            await app.state.matcher.stop()
            app.state.position_relay.cancel()
            app.state.position_flush.cancel()
            await asyncio.gather(app.state.position_relay, app.state.position_flush, return_exceptions=True)
            with contextlib.suppress(Exception):  # the last fixes, if Redis and PostgreSQL are still there
                await app.state.positions.flush()
            await app.state.ack_watcher.stop()
            await app.state.access_watcher.stop()
            await app.state.hub.stop()
            await app.state.pubsub_redis.aclose()
            await app.state.routers.stop()
            await app.state.queue_keeper.stop()
            await app.state.geocoder.stop()
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    app = FastAPI(
        title="Dispatch",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        description="Emergency incident dispatch. Map data © OpenStreetMap contributors (ODbL).",
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_edge(app, settings)  # body limits, security headers, /docs from the pinned Swagger UI package
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(units_router)
    app.include_router(geocoding_router)
    app.include_router(incidents_router)
    app.include_router(channels_router)
    app.include_router(queue_router)
    app.include_router(premises_router)
    app.include_router(matching_router)
    app.include_router(push_router)
    app.include_router(map_router)
    app.include_router(reports_router)
    app.include_router(public_reports_router)
    app.mount(
        "/console/vendor/leaflet",
        StaticFiles(directory=CONSOLE / "node_modules" / "leaflet" / "dist", check_dir=False),
        name="leaflet",
    )
    app.mount("/console", StaticFiles(directory=CONSOLE / "static", html=True, check_dir=False), name="console")

    @app.get("/", include_in_schema=False)
    async def landing() -> HTMLResponse:
        return HTMLResponse(LANDING)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Every browser asks for it on every page: an answer of our own, not a 404 in each page's console.
        return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    return app
