"""`dispatch bench`: the command, registered with the `dispatch` command line through the entry-point group
`dispatch.commands` (pyproject.toml); dispatch itself never imports the benchmarks."""

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from benchmarks.bench.run import QUIET_S, BenchArgs, BenchError, run
from dispatch.cli_support import console, fail, with_errors
from dispatch.config import get_settings


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
    tail: Annotated[
        float, typer.Option(help="Seconds the devices listen on after the last call, at most (1..120)")
    ] = 5.0,
    quiet: Annotated[
        float, typer.Option(help="Seconds of devices alone before the calls, the CPU table's background (1..60)")
    ] = QUIET_S,
    out: Annotated[Path, typer.Option(help="Where the Locust report and logs go")] = Path("var/bench"),
    as_json: Annotated[bool, typer.Option("--json", help="The figures as one JSON line, last")] = False,
) -> None:
    """Load test end to end: a fresh bench database, the service on 127.0.0.1, Locust at a constant rate."""
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
        tail_s=tail,
        quiet_s=quiet,
    )
    try:
        result = with_errors(lambda: run(get_settings(), args, progress=lambda m: console.print(m, highlight=False)))
    except BenchError as exc:
        raise fail(str(exc), exc.code) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    _bench_table(result)
    if as_json:
        print(orjson.dumps(result).decode())


def _bench_table(r: dict) -> None:
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
    if cpu := r.get("cpu"):
        _cpu_table(cpu)
    undelivered = f"[red]{r['undelivered']}[/]" if r["undelivered"] else "0"
    console.print(
        f"assigned {r['assigned']}, delivered {r['delivered']}, undelivered {undelivered} (each counted in "
        f"call → device as arriving at the run's end); lost {r['lost']}, still queued {r['still_queued']}, "
        f"duplicates delivered {r['duplicates_delivered']}, HTTP {r['statuses']}; report: {r['report']}",
        highlight=False,
    )


def _cpu_table(cpu: dict) -> None:
    table = Table(
        title=f"CPU by process over the calls' {cpu['window_s']:g} s ({cpu['calls']:,} calls)", title_justify="left"
    )
    for column in ("process", "ms per call", "of which the calls added", "cores with the devices alone"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for role, ms in sorted(cpu["ms_per_call"].items(), key=lambda kv: -(kv[1] or 0)):
        table.add_row(role, str(ms), str(cpu["added_ms_per_call"].get(role)), str(cpu["quiet_cores"].get(role)))
    table.add_row("all", str(cpu["total_ms_per_call"]), "", "")
    console.print(table)
    if pg := cpu.get("postgres_per_call"):
        scans = ", ".join(f"{t} {v['scans']:g} ({v['rows']:g} rows)" for t, v in pg["seq_scans"].items()) or "none"
        console.print(
            f"PostgreSQL per call: {pg['commits']:g} commits, {pg['rollbacks']:g} rollbacks, "
            f"{pg['index_scans']:g} index scans; sequential scans: {scans}",
            highlight=False,
        )
    if commands := cpu.get("redis_commands_per_call"):
        top = ", ".join(f"{name} {n:g}" for name, n in commands.items() if name != "all")
        console.print(f"Redis per call: {commands['all']:g} commands ({top})", highlight=False)
