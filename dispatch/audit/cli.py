"""`dispatch audit`: the trail as CSV or JSON, filtered as the API filters it; `dispatch audit purge`: the records
past their retention go (itself recorded), and the crews' conversations with them."""

import asyncio
import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from dispatch.audit import queries
from dispatch.audit.queries import MAX_PAGE, parse_filters, search
from dispatch.audit.service import Actor, record_read
from dispatch.cli_support import console, fail, in_session, with_errors
from dispatch.config import get_settings
from dispatch.errors import InvalidInput

audit_app = typer.Typer(help="The audit trail: who wrote or read what, when, from where.")
FIELDS = ("id", "at", "actor_id", "actor", "role", "address", "action", "object_type", "object_id")
JSON_FIELDS = ("before", "after", "detail")


class Format(StrEnum):
    csv = "csv"
    json = "json"


def _run(work):
    return with_errors(lambda: asyncio.run(in_session(work)))


def render(records: list[dict], format: Format) -> bytes:
    if format == Format.json:
        return orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n"
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FIELDS + JSON_FIELDS)
    for r in records:
        at = r["at"].isoformat()
        writer.writerow(
            [at if f == "at" else r[f] for f in FIELDS]
            + [orjson.dumps(r[f]).decode() if r[f] is not None else "" for f in JSON_FIELDS]
        )
    return text.getvalue().encode()


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option(help="Username (or a system writer's name)")] = None,
    object: Annotated[str | None, typer.Option("--object", help="A type, or type:id (incident:42)")] = None,
    action: Annotated[str | None, typer.Option(help="An action (incident.close) or a prefix (incident.*)")] = None,
    start: Annotated[str | None, typer.Option("--from", help="First local day, or ISO date and time")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last local day (included), or ISO date and time")] = None,
    format: Annotated[Format, typer.Option("--format", help="csv or json")] = Format.csv,
    out: Annotated[Path | None, typer.Option("--out", help="The file to write (else standard output)")] = None,
) -> None:
    """The records matching the filters, newest first. Reading them is recorded too."""
    if ctx.invoked_subcommand is not None:
        return
    settings = with_errors(get_settings)
    try:
        filters = parse_filters(
            actor=actor, object=object, action=action, start=start, end=end, time_zone=settings.report_time_zone
        )
    except InvalidInput as exc:
        raise fail(str(exc).replace("'from'", "--from").replace("'to'", "--to"), 2) from None
    if out is not None and not out.parent.is_dir():
        raise fail(f"{out.parent} does not exist: make the directory first", 2)

    async def work(session, settings):
        records, cursor = [], None
        while True:
            page, cursor = await search(session, filters=filters, cursor=cursor, limit=MAX_PAGE)
            records += page
            if cursor is None:
                break
        await record_read(
            session,
            actor=Actor.cli(),
            action="audit.read",
            object_type="audit",
            detail={**filters.as_detail(), "rows": len(records), "via": "cli"},
        )
        return records

    data = render(_run(work), format)
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or out}: {exc.strerror}", 1) from None


@audit_app.command("purge")
def purge(
    days: Annotated[
        int | None, typer.Option(help="Keep this many days (default: DISPATCH_AUDIT_RETENTION_DAYS)", min=1)
    ] = None,
) -> None:
    """Delete the records older than the retention (at least 30 days are always kept), and the crew messages
    older than the same cut-off; the purge is recorded."""

    async def work(session, settings):
        return await queries.purge(
            session, actor=Actor.cli(), retention_days=days if days is not None else settings.audit_retention_days
        )

    if days is not None and days < queries.MIN_RETENTION_DAYS:
        raise fail(f"--days: records are kept at least {queries.MIN_RETENTION_DAYS} days, not {days}", 2)
    purged = _run(work)
    console.print(
        f"purged {purged.records} audit record(s) and {purged.crew_messages} crew message(s)", highlight=False
    )
