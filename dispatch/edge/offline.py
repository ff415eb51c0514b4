"""The crew app's service worker (/unit/sw.js): the file in console/static/unit/ with, written before it, the
list of what it keeps (the app shell: every file of /unit/ and Leaflet's two) and a version, a hash of those
files' contents and of the worker itself.

Why a hash the service computes: the browser fetches sw.js again on every start of the app (`no-cache`, and
the page registers it with updateViaCache 'none') and installs a new worker only when its bytes differ. Any
change to any kept file changes the version, so the new worker fills a cache of a new name at once, takes
over, and deletes the old one; a device is never left on old code once it has reached the service.
"""

import hashlib
import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response

WORKER = "sw.js"
LEAFLET = ("leaflet.js", "leaflet.css")


def shell(console: Path) -> list[tuple[str, Path]]:
    """(URL, file) of everything the crew app loads from the service, index.html as /unit/ (its address)."""
    unit = console / "static" / "unit"
    files = [("/unit/", unit / "index.html")]
    for path in sorted(p for p in unit.rglob("*") if p.is_file()):
        relative = path.relative_to(unit).as_posix()
        if relative not in ("index.html", WORKER):
            files.append((f"/unit/{relative}", path))
    leaflet = console / "node_modules" / "leaflet" / "dist"
    files += [(f"/console/vendor/leaflet/{name}", leaflet / name) for name in LEAFLET]
    return files


_built: dict[tuple, str] = {}  # the files' (name, mtime, size) -> the worker: read again only when one changed


def worker_source(console: Path) -> str:
    files = shell(console)
    source = console / "static" / "unit" / WORKER
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in (source, *(p for _, p in files)))
    if stamp not in _built:
        _built.clear()
        _built[stamp] = _build(files, source.read_bytes())
    return _built[stamp]


def _build(files: list[tuple[str, Path]], worker: bytes) -> str:
    digest = hashlib.sha256(worker)
    for url, path in files:
        digest.update(url.encode() + b"\0" + path.read_bytes() + b"\0")
    precache = {"version": digest.hexdigest()[:16], "shell": [url for url, _ in files]}
    return f"self.PRECACHE = {json.dumps(precache)};\n{worker.decode()}"


def install_crew_worker(app: FastAPI, console: Path) -> None:
    """GET /unit/sw.js; registered before the /unit mount, which would otherwise serve the bare file."""

    @app.get(f"/unit/{WORKER}", include_in_schema=False)
    async def crew_worker() -> Response:
        # Public like the rest of /unit/: it holds file names and a hash, nothing of any unit's.
        return Response(worker_source(console), media_type="text/javascript", headers={"Cache-Control": "no-cache"})
