"""/docs: Swagger UI from the pinned npm package `swagger-ui-dist` (console/package.json), served by the
service itself, so the page loads nothing from a CDN in any environment and runs under the security policy
(its start-up script is a file, not inline). ReDoc, which would come from a CDN, is off."""

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(str(resources.files("dispatch.console") / "node_modules" / "swagger-ui-dist"))  # see setup.py
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} – API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"><link rel="icon" href="data:,"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/assets/docs.js"></script></body></html>"""


def install_docs(app: FastAPI) -> None:
    """Call on an app made with docs_url=None and redoc_url=None."""
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI, check_dir=False), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(PAGE.format(title=app.title))
