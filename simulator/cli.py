"""`dispatch simulate`: the simulator's command, registered with the `dispatch` command line through the entry-point
group `dispatch.commands` (pyproject.toml); dispatch itself never imports the simulator."""

import asyncio
from typing import Annotated

import httpx
import psycopg
import typer

from dispatch.cli_support import console, fail
from dispatch.config import Environment, get_settings
from dispatch.demo import TOKENS_FILE
from simulator.backfill import parse_days, record_days
from simulator.calls import Timing
from simulator.commands import SimulationError, parse_policies, parse_range
from simulator.commands import headless as run_headless
from simulator.commands import hindsight as run_hindsight
from simulator.history import HistoryError
from simulator.live import run as run_live
from simulator.loads import LOAD_NAMES
from simulator.model import Params


def simulate(
    live: Annotated[bool, typer.Option("--live", help="Calls through the API, units as websocket devices")] = False,
    headless: Annotated[bool, typer.Option("--headless", help="Compare policies on the same calls, fast")] = False,
    hindsight: Annotated[bool, typer.Option("--hindsight", help="Policies against a hindsight lower bound")] = False,
    history: Annotated[
        bool, typer.Option("--history", help="Write simulated past days' incidents into the database (for reports)")
    ] = False,
    day: Annotated[str | None, typer.Option(help="History: the local day to write (default: yesterday)")] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="History: the first local day to write (with --to)")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="History: the last local day to write (default: yesterday)")
    ] = None,
    days: Annotated[int | None, typer.Option(help="History: the last N days up to yesterday")] = None,
    hours: Annotated[float, typer.Option(min=0.1, max=24 * 366, help="Headless: simulated hours")] = 24.0,
    load: Annotated[
        str | None,
        typer.Option(
            help="quiet | real | normal | busy | surge: real is the LRK's 2,186 ambulance missions a year "
            "(the history's default); the others by the busiest kind of unit's utilisation: 15 / 35 / 60 / 85 % "
            "(headless default: normal)"
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
        if load is not None and load not in LOAD_NAMES:
            raise fail(f"unknown load {load!r} (known: {', '.join(LOAD_NAMES)})", 2)
        _simulate_live(
            speed=speed, per_hour=calls_per_hour, load=load or "normal", seed=seed, duration=duration, base_url=base_url
        )
        return
    settings = get_settings()
    try:
        if load is not None and load not in LOAD_NAMES:
            raise SimulationError(f"unknown load {load!r} (known: {', '.join(LOAD_NAMES)})", 2)
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
            tz = settings.report_time_zone
            first_day, last_day = parse_days(day=day, first=first, last=last, days=days, tz=tz)
            console.print(
                record_days(
                    settings.libpq_url,
                    settings.route_cache_dir,
                    first=first_day,
                    last=last_day,
                    tz=tz,
                    seed=seed,
                    load=load,
                    per_hour=calls_per_hour,
                    timing=timing,
                    console=console,
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
    settings = get_settings()
    if settings.env == Environment.production:  # the simulated crews and callers sign in with demo tokens
        raise fail(
            "the live simulation uses the demo's tokens, which production refuses: run it with DISPATCH_ENV=dev", 2
        )
    tokens = TOKENS_FILE
    if not tokens.exists():
        raise fail("no demo accounts: run `dispatch demo --no-serve` first", 2)
    try:
        result = asyncio.run(
            run_live(
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
