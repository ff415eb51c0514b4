"""`dispatch demo`: the service with simulated traffic. It sets up what dispatch.demo prepares (schema, map, fleet,
demo accounts), adds a simulated day of history for the reports, then serves with live simulated calls and
units. Registered with the `dispatch` command line through the entry-point group `dispatch.commands`."""

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
from simulator.commands import SimulationError
from simulator.history import HistoryError, record_day


def ensure_history(settings: Settings, day: date) -> None:
    """A simulated day before today for the reports, written once: on a database with no earlier incidents (in dev
    only: a test database keeps the history its tests make)."""
    if settings.env != Environment.dev:
        return
    with psycopg.connect(settings.libpq_url) as conn:
        earlier = conn.execute(
            "SELECT 1 FROM incidents WHERE received_at < %s LIMIT 1",
            (datetime.combine(day + timedelta(days=1), time(), ZoneInfo(settings.report_time_zone)),),
        ).fetchone()
    if earlier is None:
        console.print(f"simulating {day} for the reports (first run only)")
        try:
            record_day(
                settings.libpq_url,
                settings.route_cache_dir,
                day=day,
                tz=settings.report_time_zone,
                seed=7,
                load="busy",
                per_hour=None,
            )
        except (HistoryError, SimulationError) as exc:  # the demo runs without it; say why
            console.print(f"[yellow]no simulated day for the reports:[/] {exc}")


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
            ]
        )
    )
    try:
        run(host=host, port=port, workers=1, log_level="info")
    finally:
        if traffic is not None:
            traffic.terminate()
            traffic.wait(timeout=10)
