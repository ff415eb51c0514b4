"""The commander's reports page: time to first chart, per grouping, for a period of a database's incidents.

    .venv/bin/python -m benchmarks.reports_page --url postgresql://…/dispatch_reports_bench \
        --from 2025-01-01 --to 2025-12-31 [--groupings priority,municipality,…] [--runs 3] [--screenshot PNG]

The service is started on that database (migrated, with or without an imported map), a commander account made
for the run, and Debian's Chromium (headless, a new profile each run: nothing cached) opens /reports/ signed in,
at 1366×900. Timed in the page, in ms from the navigation's start, until the interval chart of the period and
grouping is drawn (the page marks body[data-chart] when it has drawn it). Use the database benchmarks/reports.py
fills (a year of 1,000,000 incidents) and a demo database (the region's own volume). A measurement, not a test:
it prints numbers and exits 0 whatever they are.
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from playwright.async_api import async_playwright
from rich.console import Console
from rich.table import Table

from benchmarks.bench.run import BenchError, wait_ready
from benchmarks.bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
GROUPINGS = ("priority", "type", "municipality", "unit", "station", "hour", "weekday", "day", "month")
BENCH_REDIS = "redis://127.0.0.1:6379/14"  # the benchmarks' Redis database, apart from the demo's and the tests'
console = Console(stderr=True)


def commander_token(env: dict) -> str:
    """A commander account of the run's own: its first token, or another if the account exists already."""
    cli = [str(ROOT / ".venv" / "bin" / "dispatch"), "users"]
    made = subprocess.run(
        [*cli, "add", "bench-commander", "--role", "commander"], env=env, capture_output=True, text=True
    )
    if made.returncode != 0:
        made = subprocess.run([*cli, "token", "bench-commander"], env=env, capture_output=True, text=True)
    token = re.search(r"dsp_[A-Za-z0-9_-]+", made.stdout)
    if made.returncode != 0 or token is None:
        raise BenchError(f"no commander token: {(made.stderr or made.stdout).strip()[-300:]}")
    return token.group(0)


async def first_chart(base: str, token: str, start: str, end: str, grouping: str, shot: str | None = None) -> float:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1366, "height": 900})
        await context.add_init_script(f"sessionStorage.setItem('dispatch-token', {json.dumps(token)});")
        page = await context.new_page()
        await page.goto(f"{base}/reports/#from={start}&to={end}&by={grouping}")
        await page.wait_for_function(
            "(by) => (document.body.dataset.chart || '').split('/')[2] === by", arg=grouping, timeout=120_000
        )
        ms = await page.evaluate("performance.now()")
        # The page reads units and stations after the chart: let it finish, or its statement would still run in
        # PostgreSQL beside the next run's report.
        await page.wait_for_selector("#workload-body table, #workload-body .error", timeout=120_000)
        if shot:  # the whole page once every section has drawn (for docs/)
            await page.wait_for_function("!document.body.hasAttribute('aria-busy')")
            await page.wait_for_selector("#satisfaction-body canvas, #satisfaction-body .error")
            await page.wait_for_timeout(500)
            await page.screenshot(path=shot, full_page=True)
        await browser.close()
        return ms


def main() -> None:
    parse = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parse.add_argument("--url", required=True, help="the database (postgresql://…)")
    parse.add_argument("--from", dest="start", required=True)
    parse.add_argument("--to", dest="end", required=True)
    parse.add_argument("--groupings", default=",".join(GROUPINGS))
    parse.add_argument("--runs", type=int, default=3)
    parse.add_argument("--json", action="store_true")
    parse.add_argument("--screenshot", help="save the last run's whole page as this PNG (e.g. docs/reports.png)")
    args = parse.parse_args()
    groupings = [g.strip() for g in args.groupings.split(",") if g.strip()]
    if unknown := [g for g in groupings if g not in GROUPINGS]:
        parse.error(f"--groupings: unknown {unknown[0]!r} (known: {', '.join(GROUPINGS)})")
    if not 1 <= args.runs <= 20:
        parse.error("--runs must be 1..20")
    port = free_port()
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": args.url,
        "DISPATCH_REDIS_URL": os.environ.get("DISPATCH_BENCH_REDIS_URL", BENCH_REDIS),
        "PYTHONPATH": str(ROOT),
        "DISPATCH_LOG_LEVEL": "warning",
    }
    try:
        token = commander_token(env)
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "dispatch"), "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            cwd=ROOT,
        )
        try:
            wait_ready(port, server, path="/healthz")  # a reports database need not hold a map (/readyz asks)
            base = f"http://127.0.0.1:{port}"
            results = {
                g: [asyncio.run(first_chart(base, token, args.start, args.end, g)) for _ in range(args.runs)]
                for g in groupings
            }
            if args.screenshot:
                asyncio.run(first_chart(base, token, args.start, args.end, groupings[-1], args.screenshot))
        finally:
            server.terminate()
            server.wait(timeout=20)
    except BenchError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(1)
    load = os.getloadavg()
    if args.json:
        print(json.dumps({"from": args.start, "to": args.end, "ms": results, "load": load}))
        return
    table = Table(title=f"/reports/: time to first chart, {args.start} to {args.end} (ms from navigation)")
    for column in ("grouping", "median", "runs"):
        table.add_column(column, justify="left" if column == "grouping" else "right")
    for g, runs in results.items():
        table.add_row(g, f"{sorted(runs)[len(runs) // 2]:,.0f}", ", ".join(f"{r:,.0f}" for r in runs))
    Console().print(table)
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
