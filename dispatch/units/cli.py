"""`dispatch units`: the fleet (stations, standby posts, units) from and to a fleet file (docs/fleet.md)."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dispatch.cli_support import console, fail, with_errors
from dispatch.config import get_settings
from dispatch.setup import export_fleet, import_fleet
from dispatch.units.fleet_db import Changes

units_app = typer.Typer(
    help="The fleet: stations, standby posts and units, from and to a fleet file.", no_args_is_help=True
)
out = Console()


def _summary(changes: Changes, *, check: bool, retire: bool) -> None:
    title = "What the import would change (nothing written: --check)" if check else "Fleet imported"
    table = Table("", "created", "updated", "unchanged", title=title)
    for what, counts in (("stations", changes.stations), ("units", changes.units)):
        table.add_row(what, *(str(counts[k]) for k in ("created", "updated", "unchanged")))
    out.print(table)
    if changes.not_in_file:
        kept = [c for c in changes.not_in_file if c not in changes.retired]
        if kept:
            hint = "" if retire else " (--retire sets them out of service)"
            out.print(f"{len(kept)} unit(s) not in the file, kept as they are{hint}: {', '.join(kept)}", soft_wrap=True)
    if changes.retired:
        verb = "would be" if check else "were"
        out.print(f"{len(changes.retired)} unit(s) {verb} set out of service: {', '.join(changes.retired)}")


def write_file(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}", 2) from None


@units_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(help="A fleet file (TOML, docs/fleet.md)")],
    retire: Annotated[
        bool, typer.Option(help="Set the units the file leaves out out of service (never one on an incident)")
    ] = False,
    check: Annotated[bool, typer.Option(help="Check the file and say what would change; write nothing")] = False,
) -> None:
    """Check a fleet file against the map and the units at work, then write it in one transaction: stations by
    name, units by call sign. Units the file leaves out are kept and listed. Bad input: exit status 2."""
    changes = with_errors(lambda: import_fleet(get_settings(), path, retire=retire, check=check))
    _summary(changes, check=check, retire=retire)


@units_app.command("export")
def export(
    path: Annotated[str, typer.Argument(help="Where to write the fleet file; - for standard output")] = "-",
) -> None:
    """Write the database's stations and units as a fleet file (importing it changes nothing)."""
    text = with_errors(lambda: export_fleet(get_settings()))
    if path == "-":
        sys.stdout.write(text)
        return
    write_file(Path(path), text)
    console.print(f"wrote {text.count('[[stations]]')} stations and {text.count('[[units]]')} units to {path}")
