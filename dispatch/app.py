"""The FastAPI application factory."""

import logging
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from dispatch import __version__
from dispatch.auth.routes import router as auth_router
from dispatch.config import Settings, get_settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.errors import install_error_handlers
from dispatch.geocoding.routes import router as geocoding_router
from dispatch.geocoding.service import GeocoderHolder
from dispatch.health.routes import router as health_router
from dispatch.incidents.channels import router as channels_router
from dispatch.incidents.routes import router as incidents_router
from dispatch.premises.routes import router as premises_router
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.routes import router as queue_router
from dispatch.queue.service import IncidentQueue
from dispatch.units.routes import router as units_router

log = logging.getLogger("dispatch")

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dispatch</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}</style></head>
<body><h1>Dispatch</h1><p>Emergency incident dispatch for the bundled map.</p><ul>
<li><a href="/docs">API (OpenAPI)</a></li><li><a href="/readyz">Readiness</a></li></ul>
<p><small>Map data &copy; OpenStreetMap contributors (ODbL)</small></p></body></html>"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = make_async_engine(settings)
        app.state.sessionmaker = make_sessionmaker(app.state.engine)
        app.state.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=2,
                                                   socket_connect_timeout=2)
        app.state.geocoder = GeocoderHolder(settings.libpq_url, app.state.engine)
        await app.state.geocoder.start()
        app.state.queue = IncidentQueue(app.state.redis, lease_s=settings.queue_lease_s)
        app.state.queue_keeper = QueueKeeper(app.state.queue, app.state.redis, app.state.sessionmaker)
        await app.state.queue_keeper.start()
        try:
            yield
        finally:
            await app.state.queue_keeper.stop()
            await app.state.geocoder.stop()
            await app.state.redis.aclose()
            await app.state.engine.dispose()

    app = FastAPI(title="Dispatch", version=__version__, lifespan=lifespan,
                  description="Emergency incident dispatch. Map data © OpenStreetMap contributors (ODbL).")
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(units_router)
    app.include_router(geocoding_router)
    app.include_router(incidents_router)
    app.include_router(channels_router)
    app.include_router(queue_router)
    app.include_router(premises_router)

    @app.get("/", include_in_schema=False)
    async def landing() -> HTMLResponse:
        return HTMLResponse(LANDING)

    return app
