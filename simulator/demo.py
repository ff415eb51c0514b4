"""`dispatch demo`: the service with simulated traffic. It sets up what dispatch.demo prepares (schema, map, fleet,
demo accounts), adds simulated past days at the real load for the reports (from the first day of the month three
months back to yesterday, so the public monthly page has this month and the three before), then serves with live
simulated calls and units. Registered with the `dispatch` command line through the entry-point group
`dispatch.commands`."""

import contextlib
import ctypes
import signal
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import psycopg
import typer

from dispatch.cli_support import with_errors
from dispatch.config import Environment, Settings, get_settings
from dispatch.demo import console, prepare
from dispatch.server import run
from simulator.backfill import record_days
from simulator.commands import SimulationError
from simulator.history import HistoryError

# Whole months before this one: about 95 days, some 1,200 incidents, written in 20-25 s on two cores (about 0.2 s of
# CPU a day, half of it the move-up planner's demand model); the public monthly page then has four months.
HISTORY_MONTHS = 3
HISTORY_SEED = 7


def history_start(day: date, months: int = HISTORY_MONTHS) -> date:
    """The first day of the month `months` before `day`'s month."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def ensure_history(settings: Settings, day: date) -> date | None:
    """Simulated days up to `day` (yesterday) for the reports, at the real load, written once: on a database with no
    earlier incidents (in dev only: a test database keeps the history its tests make). Answers the history's first
    day."""
    if settings.env != Environment.dev:
        return None
    first = history_start(day)
    with psycopg.connect(settings.libpq_url) as conn:
        earlier = conn.execute(
            "SELECT 1 FROM incidents WHERE received_at < %s LIMIT 1",
            (datetime.combine(day + timedelta(days=1), time(), ZoneInfo(settings.report_time_zone)),),
        ).fetchone()
    if earlier is None:
        console.print(f"simulating {first} to {day} at the real load for the reports (first run only)")
        try:
            written = record_days(
                settings.libpq_url,
                settings.route_cache_dir,
                first=first,
                last=day,
                tz=settings.report_time_zone,
                seed=HISTORY_SEED,
                load="real",
                console=console,
            )
            console.print(f"wrote {written['incidents']} incidents on {written['days']} days")
        except (HistoryError, SimulationError) as exc:  # the demo runs without it; say why
            console.print(f"[yellow]no simulated days for the reports:[/] {exc}")
            return None
    return first


def _die_with_parent() -> None:
    """The simulated traffic ends with the demo however the demo ends (a SIGTERM or SIGKILL to it too): Linux sends
    it SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG). Elsewhere the demo's own `finally` stops it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up only; do not start the server")] = False,
    no_traffic: Annotated[bool, typer.Option("--no-traffic", help="Serve without simulated calls and units")] = False,
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Simulated traffic: time speed-up")] = 10.0,
) -> None:
    """Migrate, import the bundled map if needed, create demo accounts, then serve with simulated traffic."""
    with_errors(lambda: prepare(get_settings(), base_url=f"http://{host}:{port}", history=ensure_history))
    if no_serve:
        return
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
            ],
            preexec_fn=_die_with_parent,
        )
    )
    try:
        run(host=host, port=port, workers=1, log_level="info")
    finally:
        if traffic is not None:
            traffic.terminate()
            traffic.wait(timeout=10)
