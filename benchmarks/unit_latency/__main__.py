"""`python -m benchmarks.unit_latency`: assignment sent → shown on the crew's device app, in a real browser.

    .venv/bin/python -m benchmarks.unit_latency [--assignments 100] [--devices 1] [--seed 7] [--plot FILE.png]

A measurement, not a test: it prints the percentiles (p50, p90, p99, max) of the server's `sent_at` → the job
painted on the device app (/unit/, Debian's Chromium, headless), split into server → the socket's message event
in the page → painted, and the server's own part (the dispatcher's assign request → `sent_at`). Each device is a
unit signed in on the app; each round takes a call, assigns the unit, waits until the job is shown, acknowledges
and presses the statuses through to available. It exits 0 whatever the figures (1 when the run could not be
made, 2 for bad arguments). Its own Redis and PostgreSQL on free ports of 127.0.0.1, removed at the end.
"""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from httpx import HTTPError
from playwright.async_api import Error as PlaywrightError
from rich.console import Console
from rich.table import Table

from benchmarks.bench.run import BenchError
from benchmarks.bench.servers import ServerError
from benchmarks.unit_latency.figures import figures, plot
from benchmarks.unit_latency.rounds import RoundError, measure
from benchmarks.unit_latency.stack import Stack
from dispatch.setup import progress_bar

out = Console(width=None if sys.stdout.isatty() else 130)
err = Console(stderr=True)
app = typer.Typer(add_completion=False)
MAX_ASSIGNMENTS = 5000  # runs are bounded: about 3 a second on one device


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def report(rows: list[dict], *, devices: int, skews: list[float], visible: int, load: tuple[float, float]) -> None:
    head = rows[0]
    out.print(f"[bold]Assignment sent → shown on the crew app[/] ({head['n']} assignments, {devices} device(s))")
    for row in (head, next(r for r in rows if r["label"].startswith("server: assign request → sent"))):
        line = " · ".join(f"{p} {_ms(row[p])}" for p in ("p50", "p90", "p99", "max"))
        out.print(f"{row['label'].strip()}: {line}", highlight=False)
    table = Table("measure", "p50", "p90", "p99", "max", "spans", title="ms, nearest rank", title_justify="left")
    for row in rows:
        cells = (_ms(row[p]).removesuffix(" ms") for p in ("p50", "p90", "p99", "max"))
        table.add_row(row["label"], *cells, row["meaning"])
    out.print(table)
    worst = max((abs(s) for s in skews), default=0.0)
    out.print(
        "Clocks: the server and the browser run on this machine, so `sent_at` (the server's clock) and the page's "
        f"performance.timeOrigin + now() are one clock (measured at the start: pages within {worst:.1f} ms of it, "
        "half a round trip included).",
        highlight=False,
    )
    # A hidden page's frames are throttled: painted would wait for that, not for the app.
    out.print(f"Pages visible when painted: {visible} of {head['n']}.", highlight=False)
    machine = f"{os.cpu_count()} cores, load average {load[0]:.2f} before → {load[1]:.2f} after"
    out.print(f"Machine: {machine}.", highlight=False)


def _terminate(*_args) -> None:
    raise KeyboardInterrupt  # a SIGTERM cleans up as Ctrl-C does


@app.command()
def main(
    assignments: Annotated[int, typer.Option(help=f"Assignments to measure, 1..{MAX_ASSIGNMENTS}")] = 100,
    devices: Annotated[int, typer.Option(min=1, max=16, help="Devices at once, each a unit in its own page")] = 1,
    seed: Annotated[int, typer.Option(help="Chooses the calls' addresses, types and callers")] = 7,
    plot_to: Annotated[Path | None, typer.Option("--plot", help="Write a histogram PNG here")] = None,
    log: Annotated[Path, typer.Option(help="The service's log")] = Path("var") / "unit_latency" / "service.log",
) -> None:
    """Assignment sent → shown on the crew app in Chromium: percentiles, and where the time goes."""
    if not 1 <= assignments <= MAX_ASSIGNMENTS:
        raise typer.BadParameter(f"must be 1..{MAX_ASSIGNMENTS}, not {assignments}", param_hint="--assignments")
    if plot_to is not None and plot_to.suffix.lower() != ".png":
        raise typer.BadParameter("a .png file", param_hint="--plot")
    signal.signal(signal.SIGTERM, _terminate)
    stack = Stack(devices=devices, seed=seed, log=log)
    load_before = os.getloadavg()[0]
    try:
        err.print("starting a Redis and a PostgreSQL of the benchmark's own, the map, the service", highlight=False)
        service = stack.start()
        with progress_bar(err) as progress:
            task = progress.add_task("assignments shown", total=assignments)
            shown, skews = asyncio.run(
                measure(service, assignments=assignments, seed=seed, on_shown=lambda _: progress.advance(task))
            )
    except KeyboardInterrupt:
        err.print("interrupted: stopping everything the benchmark started")
        raise typer.Exit(130) from None
    except (ServerError, BenchError, RoundError, PlaywrightError, AssertionError, HTTPError, OSError) as exc:
        err.print(f"[red]the run could not be made:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        stack.close()
    rows = figures(shown)
    visible = sum(s.visible == "visible" for s in shown)
    report(rows, devices=devices, skews=skews, visible=visible, load=(load_before, os.getloadavg()[0]))
    if plot_to is not None:
        plot(shown, plot_to, f"Assignment sent → shown, {len(shown)} assignments, {devices} device(s)")
        out.print(f"Histogram: {plot_to}", highlight=False)


if __name__ == "__main__":
    app()
