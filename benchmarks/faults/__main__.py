"""`python -m benchmarks.faults`: the fault benchmark (docs/reliability.md says what each figure means).

    .venv/bin/python -m benchmarks.faults [--scenario NAME ...] [--units N] [--rate R] [--duration S]

A measurement, not a test: it prints a table and a JSON line per scenario, and a summary, and exits 0 whatever
the figures are (1 when the run itself could not be made, 2 for bad arguments). It starts its own Redis and
PostgreSQL, the service and matchers on free ports of 127.0.0.1, and stops and removes all of it at the end,
after an error or Ctrl-C. Logs of each scenario's processes stay in --out.
"""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.bench.servers import ServerError
from benchmarks.faults.scenarios import SCENARIOS, Options, run
from benchmarks.faults.stack import Stack
from dispatch.setup import progress_bar

out = Console(width=None if sys.stdout.isatty() else 140)  # a log file gets the tables whole
err = Console(stderr=True)
app = typer.Typer(add_completion=False)

GOALS = [  # (JSON key, label, short label, goal): the figure must be at most the goal
    ("lost", "lost calls", "lost", 0),
    ("double", "units on two assignments at once", "double", 0),
    ("misapplied", "statuses applied to another assignment", "misapplied", 0),
    ("duplicates", "duplicate deliveries", "dupl.", 0),
    ("late", "messages to crews >2 s late (undelivered included)", "late", 0),
    ("http_5xx", "5xx answers", "5xx", 0),
    ("s_to_201", "s from back to the next 201", "→201 s", 2.0),
    ("s_to_assignment", "s from back to the next assignment", "→assigned s", 2.0),
]


def _missed(result: dict, key: str, goal: float) -> bool:
    value = result.get(key)
    if key.startswith("s_to"):  # a recovery that never came within the run misses too
        return result["recovery_goal"] and (value is None or value > goal)
    return value is not None and value > goal


def table(result: dict) -> Table:
    back = "" if result["back_at_s"] is None else f", back at +{result['back_at_s']} s"
    fault = "" if result["fault_at_s"] is None else f": at +{result['fault_at_s']} s{back}"
    t = Table("figure", "value", "goal", title=f"{result['scenario']}: {result['fault']}{fault}", title_justify="left")
    t.add_row("calls accepted", f"{result['accepted']} of {result['calls']} ({result['gave_up']} given up)", "")
    for key, label, _, goal in GOALS:
        value = result[key]
        shown = "n/a" if value is None else str(value)
        aim = "" if key.startswith("s_to") and not result["recovery_goal"] else f"≤ {goal:g}"
        t.add_row(label, f"[red]{shown}[/]" if _missed(result, key, goal) else shown, aim)
    t.add_row("  of them undelivered (of messages owed)", f"{result['undelivered']} of {result['owed_messages']}", "")
    t.add_row("  of them due at a device's reconnect", str(result["late_after_reconnect"]), "")
    t.add_row(
        "503 with Retry-After / no answer / refused",
        f"{result['http_503_retry_after']} / {result['no_answer']} / {result['refused']}",
        "",
    )
    t.add_row("alerts (of them on units that acknowledge)", f"{result['alerts']} ({result['false_alerts']})", "")
    return t


def deployed(result: dict) -> str:
    return f"{'with' if result['service_matcher'] else 'without'} a matcher of its own, and a matcher process"


def summary(results: list[dict]) -> Table:
    t = Table(
        "scenario",
        "accepted",
        *(short for _, _, short, _ in GOALS),
        "503+RA",
        "undelivered",
        title=f"Faults: every count's goal is 0, the times ≤ 2 s (the service {deployed(results[0])})",
        title_justify="left",
    )
    for r in results:
        t.add_row(
            r["scenario"],
            str(r["accepted"]),
            *(
                f"[red]{r[k]}[/]" if _missed(r, k, g) else ("n/a" if r[k] is None else str(r[k]))
                for k, _, _, g in GOALS
            ),
            str(r["http_503_retry_after"]),
            str(r["undelivered"]),
        )
    return t


def _terminate(*_args) -> None:
    raise KeyboardInterrupt  # a SIGTERM cleans up as Ctrl-C does


@app.command()
def main(
    scenario: Annotated[
        list[str] | None, typer.Option(help=f"One of {', '.join(SCENARIOS)} (repeat; default all)")
    ] = None,
    units: Annotated[int, typer.Option(min=5, max=1000, help="Units with a connected device")] = 150,
    rate: Annotated[float, typer.Option(min=0.5, max=50, help="Calls a second")] = 5.0,
    duration: Annotated[float, typer.Option(min=10, max=45, help="Seconds of calls per scenario")] = 25.0,
    fault_at: Annotated[float, typer.Option(min=2, max=30, help="The fault this many seconds into the calls")] = 8.0,
    service_matcher: Annotated[
        bool,
        typer.Option(help="The service runs its own matcher (the standby, as deployed) beside the matcher process"),
    ] = True,
    seed: Annotated[int, typer.Option()] = 7,
    out_dir: Annotated[Path, typer.Option("--out", help="Where the processes' logs go")] = Path("var") / "faults",
) -> None:
    """Each fault in a run of its own, against a deployment of the benchmark's own on 127.0.0.1."""
    chosen = scenario or list(SCENARIOS)
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise typer.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}", param_hint="--scenario"
        )
    if fault_at >= duration:
        raise typer.BadParameter("the fault must come before the calls end", param_hint="--fault-at")
    options = Options(
        units=units, rate=rate, duration=duration, fault_at=fault_at, seed=seed, service_matcher=service_matcher
    )
    signal.signal(signal.SIGTERM, _terminate)
    stack = Stack(units=units, seed=seed, logs=out_dir, say=lambda m: err.print(m, highlight=False))
    results = []
    try:
        stack.start()  # the map import shows its own progress
        # Progress on stderr; stdout (tables, JSON lines) is not redirected through it.
        with progress_bar(err) as progress:
            done = progress.add_task("scenarios", total=len(chosen))
            for name in chosen:
                result = asyncio.run(
                    run(stack, SCENARIOS[name], options, say=lambda m: progress.update(done, description=m))
                )
                result |= {"cpu_count": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)}
                results.append(result)
                out.print(table(result))
                print(json.dumps(result), flush=True)
                progress.advance(done)
    except KeyboardInterrupt:
        err.print("interrupted: stopping everything the benchmark started")
        raise typer.Exit(130) from None
    except (ServerError, RuntimeError, OSError) as exc:
        err.print(f"[red]the run could not be made:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        stack.close()
    if len(results) > 1:
        out.print(summary(results))


if __name__ == "__main__":
    app()
