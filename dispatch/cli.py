"""The `dispatch` command: serve, demo, migrate, load-map, users."""

import contextlib
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dispatch.audit.cli import audit_app
from dispatch.auth.cli import users_app
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.errors import DispatchError
from dispatch.geocoding.cli import geocode
from dispatch.reports.cli import report

app = typer.Typer(help="Emergency incident dispatch.", no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.command()(geocode)
app.command()(report)
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
    """Run a matcher on its own (no HTTP): it races safely with the matchers inside `serve` processes, which
    stand by for it: if it dies, they take the incident it held within its lease (1.5 s) and one poll."""
    import asyncio

    from dispatch.app import create_app

    settings = with_errors(lambda: get_settings().model_copy(update={"matcher": True}))
    service = create_app(settings)

    async def run() -> None:
        async with service.router.lifespan_context(service):
            console.print(f"matcher {service.state.matcher.owner} running (Ctrl-C to stop)")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        _event_loop_run(run())


def _event_loop_run(main) -> None:
    """uvloop where it is installed (with uvicorn's standard extras, as `serve` uses it): its sockets cost less
    per round trip, and a matcher is round trips."""
    import asyncio

    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


@app.command()
def simulate(
    live: Annotated[bool, typer.Option("--live", help="Calls through the API, units as websocket devices")] = False,
    headless: Annotated[bool, typer.Option("--headless", help="Compare policies on the same calls, fast")] = False,
    hindsight: Annotated[bool, typer.Option("--hindsight", help="Policies against a hindsight lower bound")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Write a simulated day's incidents into the database (for reports)")
    ] = False,
    day: Annotated[str | None, typer.Option(help="History: the local day to write (default: yesterday)")] = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 366, help="Headless: simulated hours")] = 24.0,
    load: Annotated[
        str | None,
        typer.Option(
            help="Headless: quiet | normal | busy | surge (by the busiest kind "
            "of unit's utilisation: 15 / 35 / 60 / 85 %)"
        ),
    ] = None,
    calls_per_hour: Annotated[
        float | None, typer.Option(min=0.01, max=100_000, help="In simulated time (instead of --load)")
    ] = None,
    policies: Annotated[str, typer.Option(help="Headless: comma-separated")] = "default,drive-time,straight-line",
    as_json: Annotated[bool, typer.Option("--json", help="Headless: one JSON line per policy on stdout")] = False,
    p1_target_s: Annotated[float, typer.Option(min=1, max=7200, help="Priority-1 target, received → on scene")] = 480.0,
    processing_s: Annotated[
        float,
        typer.Option(
            min=0,
            max=3600,
            help="Median call processing of a priority-1 call; lower priorities in the same proportion as the defaults",
        ),
    ] = 50.0,
    turnout_s: Annotated[str, typer.Option(help="Turnout from quarters, low,high seconds")] = "30,80",
    no_move_up: Annotated[bool, typer.Option("--no-move-up", help="The default policy without move-up")] = False,
    instances: Annotated[int, typer.Option(min=1, max=100, help="Hindsight: how many small instances")] = 5,
    calls: Annotated[int, typer.Option(min=2, max=30, help="Hindsight: calls per instance")] = 12,
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Live: simulated seconds per real second")] = 10.0,
    seed: Annotated[int, typer.Option()] = 7,
    duration: Annotated[float | None, typer.Option(min=1, help="Live: stop after this many real seconds")] = None,
    base_url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
) -> None:
    """Simulate calls and units driving real roads: live against a running service, or headless to compare
    dispatch policies on the same day of calls."""
    if sum((live, headless, hindsight, history)) != 1:
        raise fail("choose one of --live, --headless, --hindsight or --history", 2)
    if live:
        if load is not None and calls_per_hour is not None:
            raise fail("give --load or --calls-per-hour, not both", 2)
        from simulator.loads import LOADS

        if load is not None and load not in LOADS:
            raise fail(f"unknown load {load!r} (known: {', '.join(LOADS)})", 2)
        _simulate_live(
            speed=speed, per_hour=calls_per_hour, load=load or "normal", seed=seed, duration=duration, base_url=base_url
        )
        return
    from simulator.calls import Timing
    from simulator.commands import SimulationError, parse_policies, parse_range
    from simulator.commands import headless as run_headless
    from simulator.commands import hindsight as run_hindsight
    from simulator.headless import Params
    from simulator.history import HistoryError
    from simulator.loads import LOADS

    settings = get_settings()
    try:
        if load is not None and load not in LOADS:
            raise SimulationError(f"unknown load {load!r} (known: {', '.join(LOADS)})", 2)
        if load is not None and calls_per_hour is not None:
            raise SimulationError("give --load or --calls-per-hour, not both", 2)
        chosen = parse_policies(policies)
        if calls_per_hour is not None and calls_per_hour * hours > 2_000_000:
            raise SimulationError("at most 2,000,000 simulated calls a run: fewer calls per hour or hours", 2)
        default = Timing()
        scale = processing_s / default.processing_median_s[1]
        timing = Timing(
            processing_median_s={p: s * scale for p, s in default.processing_median_s.items()},
            turnout_s=parse_range(turnout_s, "--turnout-s"),
        )
        params = Params(p1_target_s=p1_target_s, coverage_target_s=p1_target_s, move_up=not no_move_up)
        if history:
            from simulator.history import parse_day, record_day

            tz = settings.report_time_zone
            console.print(
                record_day(
                    settings.libpq_url,
                    settings.route_cache_dir,
                    day=parse_day(day, tz),
                    tz=tz,
                    seed=seed,
                    load=load,
                    per_hour=calls_per_hour,
                    timing=timing,
                )
            )
        elif headless:
            run_headless(
                settings.libpq_url,
                settings.route_cache_dir,
                hours=hours,
                seed=seed,
                load=load if calls_per_hour is None else None,
                per_hour=calls_per_hour,
                policies=chosen,
                params=params,
                timing=timing,
                as_json=as_json,
            )
        else:
            run_hindsight(
                settings.libpq_url,
                settings.route_cache_dir,
                instances=instances,
                calls=calls,
                seed=seed,
                policies=chosen,
                params=params,
                timing=timing,
                as_json=as_json,
            )
    except (SimulationError, HistoryError) as exc:
        raise fail(str(exc), exc.code) from None
    except (ValueError, RuntimeError, LookupError) as exc:  # a world the simulation cannot run on, said plainly
        raise fail(f"cannot simulate: {exc}") from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _simulate_live(
    *, speed: float, per_hour: float | None, load: str, seed: int, duration: float | None, base_url: str
) -> None:
    import asyncio

    import httpx
    import psycopg

    from dispatch.config import Environment
    from simulator.live import run

    settings = get_settings()
    if settings.env == Environment.production:  # the simulated crews and callers sign in with demo tokens
        raise fail(
            "the live simulation uses the demo's tokens, which production refuses: run it with DISPATCH_ENV=dev", 2
        )
    tokens = Path("var/demo-tokens.json")
    if not tokens.exists():
        raise fail("no demo accounts: run `dispatch demo --no-serve` first", 2)
    try:
        result = asyncio.run(
            run(
                base_url,
                tokens,
                settings.libpq_url,
                speed=speed,
                per_hour=per_hour,
                load=load,
                seed=seed,
                cache_dir=settings.route_cache_dir,
                duration_s=duration,
            )
        )
    except KeyboardInterrupt:
        return
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    except httpx.HTTPError as exc:
        raise fail(f"lost the service at {base_url}: {exc}") from None
    except psycopg.Error as exc:
        raise fail(f"cannot read the map from the database: {str(exc).strip().splitlines()[0]}") from None
    except (LookupError, ValueError) as exc:  # no map imported, no fleet to load the simulation on
        raise fail(f"cannot simulate: {exc}") from None
    console.print(result)


@app.command()
def bench(
    rate: Annotated[float, typer.Option(help="Calls a second, constant")] = 50.0,
    duration: Annotated[float, typer.Option(help="Seconds of calls (after the devices connect)")] = 30.0,
    units: Annotated[int, typer.Option(help="Units with a connected device")] = 1000,
    consoles: Annotated[int, typer.Option(help="Dispatcher consoles connected")] = 2,
    trackers: Annotated[int, typer.Option(help="More units that only send positions (every 5 s)")] = 0,
    workers: Annotated[int, typer.Option(help="Service worker processes")] = 1,
    matchers: Annotated[int, typer.Option(help="Matcher processes of their own (0: the service matches)")] = 1,
    port: Annotated[int, typer.Option(min=1024, max=65535)] = 8040,
    seed: Annotated[int, typer.Option()] = 7,
    out: Annotated[Path, typer.Option(help="Where the Locust report and logs go")] = Path("var/bench"),
    as_json: Annotated[bool, typer.Option("--json", help="The figures as one JSON line, last")] = False,
) -> None:
    """Load test end to end: a fresh bench database, the service on 127.0.0.1, Locust at a constant rate."""
    from dispatch.bench.run import BenchArgs, BenchError, run

    args = BenchArgs(
        rate=rate,
        duration=duration,
        units=units,
        consoles=consoles,
        trackers=trackers,
        workers=workers,
        matchers=matchers,
        port=port,
        seed=seed,
        out_dir=out,
    )
    try:
        result = with_errors(lambda: run(get_settings(), args, progress=lambda m: console.print(m, highlight=False)))
    except BenchError as exc:
        raise fail(str(exc), exc.code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    _bench_table(result)
    if as_json:
        import orjson

        print(orjson.dumps(result).decode())


def _bench_table(r: dict) -> None:
    from rich.table import Table

    table = Table(
        title=f"{r['accepted']:,} calls at {r['achieved_rate']:g}/s (asked {r['rate']:g}/s), {r['units']:,} "
        f"units, {r['trackers']:,} trackers, {r['consoles']} consoles, {r['workers']} worker(s), "
        f"{r['matcher_processes']} matcher process(es)",
        title_justify="left",
    )
    for column in ("ms", "p50", "p90", "p99", "max"):
        table.add_column(column, justify="left" if column == "ms" else "right")
    for name, key in (
        ("call → device (undelivered: at the run's end)", "e2e_ms"),
        ("intake (POST → 201)", "intake_ms"),
        ("call → console", "console_ms"),
    ):
        table.add_row(name, *(str(r[key][p]) for p in ("p50", "p90", "p99", "max")))
    console.print(table)
    if fleet := r.get("tracker_fleet"):
        console.print(
            f"trackers: {fleet['connected']:,} of {fleet['trackers']:,} connected ({fleet['failed']} failed, "
            f"{fleet['dropped']} dropped), {fleet['fixes_per_s']:,} fixes a second",
            highlight=False,
        )
    undelivered = f"[red]{r['undelivered']}[/]" if r["undelivered"] else "0"
    console.print(
        f"assigned {r['assigned']}, delivered {r['delivered']}, undelivered {undelivered} (each counted in "
        f"call → device as arriving at the run's end); lost {r['lost']}, still queued {r['still_queued']}, "
        f"duplicates delivered {r['duplicates_delivered']}, HTTP {r['statuses']}; report: {r['report']}",
        highlight=False,
    )


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

    traffic = (
        None
        if no_traffic
        else subprocess.Popen(  # it waits for the service to be ready
            [
                sys.executable,
                "-m",
                "dispatch.cli",
                "simulate",
                "--live",
                "--load",
                "busy",
                "--speed",
                str(speed),
                "--base-url",
                f"http://{host}:{port}",
            ]
        )
    )
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
