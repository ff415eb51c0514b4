"""The `dispatch` command: serve, matcher, migrate, load-map, users, geocode, report, and the commands other
packages register (simulate, demo, bench)."""

import asyncio
import contextlib
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Annotated

import orjson
import typer
from typer.core import TyperGroup

from dispatch import server
from dispatch.app import create_app
from dispatch.audit.cli import audit_app
from dispatch.auth.cli import users_app
from dispatch.cli_support import console, fail, with_errors
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.eido.cli import eido_app
from dispatch.geocoding.cli import geocode
from dispatch.reports.cli import report
from dispatch.setup import import_map, import_map_proposing
from dispatch.setup import migrate as migrate_schema
from dispatch.units.cli import units_app, write_file
from geo.osm.importer import service_area_geojson

try:  # with uvicorn's standard extras, as `serve` uses it
    import uvloop
except ImportError:
    uvloop = None

__all__ = ["app", "console", "fail", "with_errors"]  # the helpers' home is dispatch.cli_support
COMMANDS_GROUP = "dispatch.commands"


def _registered() -> dict[str, EntryPoint]:
    """Commands of other packages, by name: each an entry point in the group `dispatch.commands` naming a Typer
    command function (pyproject.toml), so that dependencies point one way (dispatch ← simulator, benchmarks)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=COMMANDS_GROUP):
        found.setdefault(entry.name, entry)
    return found


class Commands(TyperGroup):
    """The built-in commands, then the registered ones, each loaded only when it runs or help lists it."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        built_in = super().list_commands(ctx)
        return built_in + sorted(name for name in _registered() if name not in built_in)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> typer.core.TyperCommand | None:
        if cmd_name not in self.commands and (entry := _registered().get(cmd_name)):
            plugin = typer.Typer(pretty_exceptions_enable=False)
            plugin.command(name=cmd_name)(entry.load())
            self.commands[cmd_name] = typer.main.get_command(plugin)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=Commands, help="Emergency incident dispatch.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(units_app, name="units")
app.add_typer(eido_app, name="eido")
app.command()(geocode)
app.command()(report)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run the API, websocket gateway and console with uvicorn."""
    with_errors(lambda: server.run(host=host, port=port, workers=workers, log_level=log_level))  # settings read first


@app.command()
def matcher() -> None:
    """Run a matcher on its own (no HTTP): it races safely with the matchers inside `serve` processes, which
    stand by for it: if it dies, they take the incident it held within its lease (1.5 s) and one poll."""
    settings = with_errors(lambda: get_settings().model_copy(update={"matcher": True}))
    service = create_app(settings, sockets=False)  # no HTTP: no socket to forward unit messages to

    async def run() -> None:
        async with service.router.lifespan_context(service):
            console.print(f"matcher {service.state.services.matcher.owner} running (Ctrl-C to stop)")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        _event_loop_run(run())


def _event_loop_run(main) -> None:
    """uvloop where it is installed (with uvicorn's standard extras, as `serve` uses it): its sockets cost less
    per round trip, and a matcher is round trips."""
    if uvloop is None:
        asyncio.run(main)
        return
    uvloop.run(main)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Alembic revision")] = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    with_errors(lambda: migrate_schema(get_settings(), revision))
    console.print(f"schema at {revision}")


@app.command("load-map")
def load_map(
    path: Annotated[Path, typer.Argument(help="An OpenStreetMap file (.osm.pbf, .osm, .osm.bz2)")] = BUNDLED_MAP,
    write_service_area: Annotated[
        Path | None,
        typer.Option(help="Write the service area (GeoJSON) to this file, to adjust and set as DISPATCH_SERVICE_AREA"),
    ] = None,
    fleet_proposal: Annotated[
        Path | None,
        typer.Option(
            help="Write the fleet the map proposes (its stations, seed.toml's units) to this fleet file; "
            "the units are left as they are"
        ),
    ] = None,
) -> None:
    """Import a map: addresses, streets, places, road graph, stations, then the fleet (one transaction): the
    centre's fleet file if DISPATCH_FLEET_FILE is set, else the demo fleet at the map's stations."""
    settings = with_errors(get_settings)
    for out in (fleet_proposal, write_service_area):  # a file that cannot be written is said before the import
        if out is not None and not out.resolve().parent.is_dir():
            raise fail(f"cannot write {out}: no such directory {out.resolve().parent}", 2)
    if fleet_proposal is not None:
        result, text = with_errors(lambda: import_map_proposing(settings, path))
        write_file(fleet_proposal, text)
        console.print(f"wrote the fleet proposal to {fleet_proposal} (units unchanged)")
    else:
        result = with_errors(lambda: import_map(settings, path))
    console.print(f"imported {path.name} in {result.duration_s:.1f} s")
    for key, value in result.counts.items():
        console.print(f"  {key:<32} {value:>7,}")
    area = result.service_area
    console.print(f"municipalities: from {area['municipalities_from']}", highlight=False)
    if result.counts.get("boundaries_incomplete"):
        console.print(
            f"{result.counts['boundaries_incomplete']:,} boundary relations are cut by the extract's edge: "
            "not used"
            + (
                " (the municipalities were read from the data where they were missing)"
                if area["municipalities_from"] != "boundaries"
                else ""
            ),
            highlight=False,
        )
    if area.get("name") is None:
        console.print("service area: none (the map has no municipalities)")
    else:
        inside = len(area["inside"])
        outside = ", ".join(area["outside"]) or "none"
        console.print(
            f"service area: {area['name']} ({inside} municipalit{'y' if inside == 1 else 'ies'} in it); "
            f"outside it: {outside}"
        )
    if write_service_area is not None:
        feature = with_errors(lambda: service_area_geojson(settings.libpq_url))
        try:
            write_service_area.write_bytes(orjson.dumps(feature, option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            raise fail(f"cannot write {write_service_area}: {exc.strerror or exc}", 2) from None
        console.print(f"service area written to {write_service_area} (set DISPATCH_SERVICE_AREA to use your own)")


if __name__ == "__main__":
    app()
