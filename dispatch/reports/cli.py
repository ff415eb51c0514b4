"""`dispatch report`: the commander's report as HTML (with charts), CSV or JSON, to a file."""

import asyncio
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import sqlalchemy.exc
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dispatch.cli_support import fail, with_errors
from dispatch.config import get_settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.errors import InvalidInput
from dispatch.reports.charts import compliance_chart, distribution_chart, hourly_chart
from dispatch.reports.html import report_html
from dispatch.reports.render import report_csv, report_json
from dispatch.reports.service import GroupBy, full_report, parse_period
from dispatch.reports.targets import targets_at

err = Console(stderr=True)


class Format(StrEnum):
    html = "html"
    csv = "csv"
    json = "json"


def report(
    start: Annotated[str, typer.Option("--from", help="First local day (2026-11-01) or ISO date and time")],
    end: Annotated[str, typer.Option("--to", help="Last local day (included) or ISO date and time (excluded)")],
    out: Annotated[Path, typer.Option("--out", help="The file to write", dir_okay=False)],
    format: Annotated[Format, typer.Option("--format", help="html (with charts), csv or json")] = Format.html,
    group_by: Annotated[
        str,
        typer.Option(
            help="Groupings, comma-separated: priority, type, municipality, unit, station, hour, weekday, day, "
            "month, none"
        ),
    ] = "priority,type,municipality,unit,hour,day",
    charts: Annotated[
        Path | None, typer.Option(help="Also write the charts as PNG files into this directory", file_okay=False)
    ] = None,
) -> None:
    """Response-time intervals (exact p50/p90/p95), compliance with the targets and citizens' feedback."""
    settings = with_errors(get_settings)
    names = [g.strip() for g in group_by.split(",") if g.strip()]
    known = [g.value for g in GroupBy]
    if not names or any(n not in known for n in names):
        raise fail(f"--group-by takes {', '.join(known)}; got {group_by!r}", 2)
    for directory in (out.parent, charts):
        if directory is not None and not directory.is_dir():
            raise fail(f"{directory} does not exist: make the directory first", 2)
    try:
        period = parse_period(start, end, settings.report_time_zone)
    except InvalidInput as exc:
        raise fail(str(exc).replace("'from'", "--from").replace("'to'", "--to"), 2) from None
    groupings = tuple(dict.fromkeys(GroupBy(n) for n in names))
    started = time.perf_counter()
    try:
        full = with_errors(lambda: asyncio.run(_build(settings, period, groupings)))
    except (OSError, sqlalchemy.exc.DBAPIError) as exc:  # no database there, or not this one
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        where = sqlalchemy.engine.make_url(settings.database_url).render_as_string(hide_password=True)
        raise fail(f"cannot read the database at {where}: {reason}", 1) from None
    data = _render(full, format, period)
    try:
        out.write_bytes(data)
        if charts is not None:
            _write_charts(full, charts)
    except OSError as exc:
        raise fail(f"cannot write {exc.filename or out}: {exc.strerror}", 1) from None
    first = next(iter(full["by"].values()))
    n = first["overall"]["intervals"]["response"]["count"]
    err.print(
        f"{out}: {format.value}, {len(data):,} bytes; {n:,} responses; {time.perf_counter() - started:.2f} s",
        highlight=False,
    )


async def _build(settings, period, groupings) -> dict:
    targets = targets_at(settings.report_targets)
    engine = make_async_engine(settings)
    sessions = make_sessionmaker(engine)
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
        ) as progress:
            progress.add_task(f"computing the report by {', '.join(g.value for g in groupings)}")
            async with sessions() as session, session.begin():
                return await full_report(
                    session, period=period, targets=targets, groupings=groupings, sessions=sessions
                )
    finally:
        await engine.dispose()


def _render(full: dict, format: Format, period) -> bytes:
    if format == Format.json:
        return report_json(full)
    if format == Format.csv:
        return report_csv(*full["by"].values()).encode()
    return report_html(full).encode()


def _write_charts(full: dict, directory: Path) -> None:
    first = next(iter(full["by"].values()))
    (directory / "response-distribution.png").write_bytes(
        distribution_chart({int(p): bars for p, bars in full["distribution"].items()}, first)
    )
    if "hour" in full["by"]:
        (directory / "response-by-hour.png").write_bytes(hourly_chart(full["by"]["hour"]))
    if "municipality" in full["by"]:
        (directory / "compliance-by-municipality.png").write_bytes(compliance_chart(full["by"]["municipality"]))
