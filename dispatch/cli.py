"""The `dispatch` command: serve, demo, migrate, load-map, users."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dispatch.auth.cli import users_app
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.errors import DispatchError
from dispatch.geocoding.cli import geocode

app = typer.Typer(help="Emergency incident dispatch.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(users_app, name="users")
app.command()(geocode)
console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
) -> None:
    """Run the API, websocket gateway and console with uvicorn."""
    from dispatch.server import run

    run(host=host, port=port, workers=workers, log_level=log_level)


@app.command()
def matcher() -> None:
    """Run a matcher on its own (no HTTP): it races safely with the matchers inside `serve` processes."""
    import asyncio

    from dispatch.app import create_app

    settings = with_errors(lambda: get_settings().model_copy(update={"matcher": True}))
    service = create_app(settings)

    async def run() -> None:
        async with service.router.lifespan_context(service):
            console.print(f"matcher {service.state.matcher.owner} running (Ctrl-C to stop)")
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


@app.command()
def simulate(
    live: Annotated[bool, typer.Option("--live", help="Calls through the API, units as websocket devices")] = False,
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Simulated seconds per real second")] = 10.0,
    calls_per_hour: Annotated[float, typer.Option(min=0.1, max=100_000, help="In simulated time")] = 12.0,
    seed: Annotated[int, typer.Option()] = 7,
    duration: Annotated[float | None, typer.Option(min=1, help="Stop after this many real seconds")] = None,
    base_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
) -> None:
    """Simulate calls and units driving real roads (live mode: against a running service)."""
    import asyncio

    import httpx

    from simulator.live import run

    if not live:
        raise fail("only --live is available so far; the headless policy comparison is not built yet", 2)
    tokens = Path("var/demo-tokens.json")
    if not tokens.exists():
        raise fail("no demo accounts: run `dispatch demo --no-serve` first", 2)
    try:
        result = asyncio.run(run(base_url, tokens, get_settings().libpq_url, speed=speed, per_hour=calls_per_hour,
                                 seed=seed, duration_s=duration))
    except KeyboardInterrupt:
        return
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise fail(f"lost the service at {base_url}: {exc}") from None
    console.print(result)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Alembic revision")] = "head") -> None:
    """Bring the database schema up to date (Alembic)."""
    from dispatch.setup import migrate as do_migrate

    with_errors(lambda: do_migrate(get_settings(), revision))
    console.print(f"schema at {revision}")


@app.command("load-map")
def load_map(
    path: Annotated[Path, typer.Argument(help="An OpenStreetMap file (.osm.pbf, .osm, .osm.bz2)")] = BUNDLED_MAP,
) -> None:
    """Import a map: addresses, streets, places, road graph, stations and the demo fleet (one transaction)."""
    from dispatch.setup import import_map

    result = with_errors(lambda: import_map(get_settings(), path))
    console.print(f"imported {path.name} in {result.duration_s:.1f} s")
    for key, value in result.counts.items():
        console.print(f"  {key:<26} {value:>7,}")


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up only; do not start the server")] = False,
    no_traffic: Annotated[bool, typer.Option("--no-traffic", help="Serve without simulated calls and units")] = False,
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Simulated traffic: time speed-up")] = 10.0,
) -> None:
    """Migrate, import the bundled map if needed, create demo accounts, then serve with simulated traffic."""
    import subprocess
    import sys

    from dispatch.demo import prepare

    with_errors(lambda: prepare(get_settings(), base_url=f"http://{host}:{port}"))
    if no_serve:
        return
    from dispatch.server import run

    traffic = None if no_traffic else subprocess.Popen(  # it waits for the service to be ready
        [sys.executable, "-m", "dispatch.cli", "simulate", "--live", "--speed", str(speed),
         "--base-url", f"http://{host}:{port}"])
    try:
        run(host=host, port=port, workers=1, log_level="info")
    finally:
        if traffic is not None:
            traffic.terminate()
            traffic.wait(timeout=10)


def with_errors(action):
    """Runs a command's work, turning expected failures into a message and an exit code."""
    from pydantic import ValidationError

    from dispatch.setup import SetupError
    from geo.osm.reader import MapReadError

    try:
        return action()
    except MapReadError as exc:
        raise fail(str(exc), 2) from None
    except (DispatchError, SetupError) as exc:
        raise fail(str(exc), 1) from None
    except ValidationError as exc:
        raise fail(f"bad settings: {exc}", 2) from None


if __name__ == "__main__":
    app()
