"""What every command of `dispatch` shares: its console on stderr, `fail` and `with_errors`. A module of its own
so that the commands of the domains (users, geocode, report) and of other packages (simulator, benchmarks) use
them without importing the command line they are part of."""

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from dispatch.config import get_settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.errors import DispatchError
from dispatch.setup import SetupError
from dispatch.units.fleet import FleetError
from geo.osm.reader import MapReadError

console = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def with_errors(action):
    """Runs a command's work, turning expected failures into a message and an exit code."""
    try:
        return action()
    except MapReadError as exc:
        raise fail(str(exc), 2) from None
    except FleetError as exc:  # names and call signs from the file, printed as written (no markup)
        raise fail(escape(str(exc)), 2) from None
    except (DispatchError, SetupError) as exc:
        raise fail(str(exc), 1) from None
    except ValidationError as exc:
        raise fail(f"bad settings: {exc}", 2) from None


async def in_session(work):
    """`work(session, settings)` in one transaction of a session of its own, for a command; its engine is
    disposed of after."""
    settings = get_settings()
    engine = make_async_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session, settings)
    finally:
        await engine.dispose()
