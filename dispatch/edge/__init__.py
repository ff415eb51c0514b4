"""The HTTP edge: what every request meets before a route does (size and time limits on bodies, security
headers on every answer) and the pieces of uvicorn that bound slow clients (`protocol.py`)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from dispatch.config import Settings
from dispatch.edge.bodies import BodyLimit
from dispatch.edge.docs import install_docs
from dispatch.edge.headers import SecurityHeaders

ASSETS = Path(__file__).resolve().parent / "assets"


def install_edge(app: FastAPI, settings: Settings) -> None:
    # Added last = outermost: the headers go on every answer, the body limit's refusals included.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(SecurityHeaders)
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")
    install_docs(app)
