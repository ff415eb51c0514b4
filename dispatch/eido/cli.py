"""`dispatch eido export ID` and `dispatch eido import FILE`: incidents handed to and received from other centres
as NENA EIDO files, through the same services as the API (docs/eido.md)."""

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape

from dispatch.audit.service import Actor
from dispatch.cli_support import console, fail, in_session, with_errors
from dispatch.config import get_settings
from dispatch.edge import EIDO_MAX_BYTES
from dispatch.eido import export, importer, validate
from dispatch.eido.validate import InvalidEido
from dispatch.incidents.types import incident_types
from dispatch.setup import SetupError
from geo.geocoder import Geocoder, build_index

eido_app = typer.Typer(help="Incidents to and from other centres as NENA EIDO (JSON).")
# A file is read whole: far above any EIDO (the API's bodies stop at DISPATCH_MAX_BODY_BYTES), far below harm.
MAX_FILE_BYTES = EIDO_MAX_BYTES  # as POST /api/eido takes


def _run(work):
    try:
        return with_errors(lambda: asyncio.run(in_session(work)))
    except InvalidEido as exc:  # (with_errors would say it as a failure of the service: it is the file's)
        raise fail(escape(str(exc)), 2) from None


@eido_app.command("export")
def export_command(
    incident_id: Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="Incident id")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: standard output)")] = None,
    personal: Annotated[
        bool, typer.Option("--personal/--no-personal", help="With the callers' names and numbers (recorded)")
    ] = True,
) -> None:
    """The incident as an EIDO; reading the callers' data is recorded in the audit trail (as the command line)."""
    if out is not None and not out.parent.is_dir():
        raise fail(f"{out.parent}: no such directory", 2)

    async def work(session, settings):
        return await export.export(
            session, incident_id, types=incident_types(), settings=settings, personal=personal, by=Actor.cli()
        )

    data = orjson.dumps(_run(work), option=orjson.OPT_INDENT_2) + b"\n"
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        console.print(f"incident {incident_id} written to {escape(str(out))}")


def _geocoder(url: str) -> Geocoder:
    try:
        return Geocoder(build_index(url))
    except LookupError as exc:
        raise SetupError(str(exc)) from exc


@eido_app.command("import")
def import_command(file: Annotated[Path, typer.Argument(help="An EIDO JSON file")]) -> None:
    """An EIDO from another centre becomes an incident here (once per EIDO $id).

    A running service queues it within seconds: its queue keeper puts back whatever PostgreSQL says waits."""
    if file.is_dir():
        raise fail(f"{escape(str(file))}: a directory; give one EIDO file", 2)
    if not file.is_file():
        raise fail(f"{escape(str(file))}: no such file", 2)
    if file.stat().st_size > MAX_FILE_BYTES:
        raise fail(f"{escape(str(file))}: larger than {MAX_FILE_BYTES} bytes, no EIDO is", 2)
    body = file.read_bytes()
    try:
        eido = validate.parse(body)
    except InvalidEido as exc:
        raise fail(f"{escape(str(file))}: {escape(str(exc))}", 2) from None
    settings = get_settings()
    geocoder = with_errors(lambda: _geocoder(settings.libpq_url))

    async def work(session, settings):
        return await importer.import_eido(
            session,
            eido,
            document=orjson.loads(body),
            by=Actor.cli(),
            user_id=None,
            geocoder=geocoder,
            types=incident_types(),
            settings=settings,
        )

    done = _run(work)
    said = "was imported before as" if done.replayed else "is now"
    console.print(f"EIDO {escape(done.eido_id)} from {escape(done.agency)} {said} incident {done.incident_id}")
    sys.stdout.buffer.write(orjson.dumps(done.view(), default=str) + b"\n")
