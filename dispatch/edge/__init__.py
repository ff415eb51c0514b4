"""The HTTP edge: what every request meets before a route does (size and time limits on bodies, security
headers on every answer, compression) and the pieces of uvicorn that bound slow clients (`protocol.py`)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from dispatch.config import Settings
from dispatch.edge.bodies import BodyLimit
from dispatch.edge.docs import install_docs
from dispatch.edge.headers import SecurityHeaders

ASSETS = Path(__file__).resolve().parent / "assets"
EIDO_MAX_BYTES = 4 * 1024 * 1024  # as `dispatch eido import` reads


def install_edge(app: FastAPI, settings: Settings) -> None:
    # Added last = outermost: the headers go on every answer, the body limit's refusals included.
    # Compression innermost: the pages' scripts and the JSON answers shrink several times over a slow mobile
    # link (docs/unit-app.md); level 6, not 9, for the CPU; an answer already encoded (the map) is left as is.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout_s=settings.body_timeout_s,
        # An EIDO carries a whole incident, its notes and units: what this service exports must come back in.
        larger={"/api/eido": EIDO_MAX_BYTES},
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")
    install_docs(app)
