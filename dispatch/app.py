"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from dispatch import __version__, services
from dispatch.audit.routes import router as audit_router
from dispatch.auth.routes import router as auth_router
from dispatch.config import Settings, get_settings
from dispatch.edge import install_edge
from dispatch.edge.offline import install_crew_worker
from dispatch.eido.routes import router as eido_router
from dispatch.errors import install_error_handlers
from dispatch.geocoding.routes import router as geocoding_router
from dispatch.health.routes import router as health_router
from dispatch.incidents.channels import router as channels_router
from dispatch.incidents.routes import router as incidents_router
from dispatch.incidents.standing import router as standing_router
from dispatch.mapdata.routes import router as map_router
from dispatch.matching.routes import router as matching_router
from dispatch.premises.routes import router as premises_router
from dispatch.push.routes import router as push_router
from dispatch.queue.routes import router as queue_router
from dispatch.reports.drill_routes import router as report_drill_router
from dispatch.reports.routes import public_router as public_reports_router
from dispatch.reports.routes import router as reports_router
from dispatch.reports.workload_routes import router as workload_router
from dispatch.units.routes import router as units_router

# console/ ships inside the package as dispatch.console (setup.py): found the same way in a checkout and a wheel.
CONSOLE = Path(str(resources.files("dispatch.console")))

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dispatch</title>
<link rel="stylesheet" href="/assets/landing.css"><link rel="icon" href="data:,"></head>
<body><h1>Dispatch</h1><p>Emergency incident dispatch for the bundled map.</p><ul>
<li><a href="/console/">Dispatcher console</a></li>
<li><a href="/unit/">Crew device</a></li>
<li><a href="/reports/">Response-time reports (commanders)</a></li>
<li><a href="/public/response-times">Response times, public page</a></li>
<li><a href="/docs">API (OpenAPI)</a></li><li><a href="/readyz">Readiness</a></li></ul>
<p><small>Map data &copy; OpenStreetMap contributors (ODbL)</small></p></body></html>"""


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#b71c1c"/><path d="M6.5 3h3v3.5H13v3H9.5V13h-3V9.5H3v-3h3.5z" fill="#fff"/></svg>'
)


def create_app(settings: Settings | None = None, *, sockets: bool = True) -> FastAPI:
    """`sockets`: False for a process that serves no HTTP (`dispatch matcher`): it holds no sockets."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = await services.start(settings, sockets=sockets)
        try:
            yield
        finally:
            await services.stop(app.state.services)

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
    app.include_router(standing_router)
    app.include_router(channels_router)
    app.include_router(queue_router)
    app.include_router(premises_router)
    app.include_router(matching_router)
    app.include_router(push_router)
    app.include_router(map_router)
    app.include_router(reports_router)
    app.include_router(report_drill_router)
    app.include_router(public_reports_router)
    app.include_router(workload_router)
    app.include_router(audit_router)
    app.include_router(eido_router)
    app.mount(
        "/console/vendor/leaflet",
        StaticFiles(directory=CONSOLE / "node_modules" / "leaflet" / "dist", check_dir=False),
        name="leaflet",
    )
    # The commanders' reports: their charting library (pinned in console/package.json), then the pages.
    app.mount(
        "/reports/vendor/chart.js",
        StaticFiles(directory=CONSOLE / "node_modules" / "chart.js" / "dist", check_dir=False),
        name="chartjs",
    )
    app.mount(
        "/reports", StaticFiles(directory=CONSOLE / "static" / "reports", html=True, check_dir=False), name="reports"
    )
    # The crew's in-vehicle app: static files like the console's, its own path so a device bookmarks /unit/;
    # its service worker is written by the service (the version of the files it keeps), so comes first.
    install_crew_worker(app, CONSOLE)
    app.mount("/unit", StaticFiles(directory=CONSOLE / "static" / "unit", html=True, check_dir=False), name="unit")
    app.mount("/console", StaticFiles(directory=CONSOLE / "static", html=True, check_dir=False), name="console")

    @app.get("/", include_in_schema=False)
    async def landing() -> HTMLResponse:
        return HTMLResponse(LANDING)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Every browser asks for it on every page: an answer of our own, not a 404 in each page's console.
        return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    return app
