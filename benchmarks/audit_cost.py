"""What the audit trail costs the hot paths: durable intake and a dispatcher's status change, with and without
storing the audit records, in alternating rounds against one running service.

    .venv/bin/python -m benchmarks.audit_cost --rounds 3 --duration 10 --rate 100 --statuses 300

"Without" is a BEFORE INSERT trigger on `audit_records` that returns NULL: every statement, round trip and
parameter stays as it is, only the row, its four index entries and their WAL are not written (and a trigger
call per record is added, so the difference slightly understates what storing a record costs). The trigger
is created and dropped between rounds; the service runs throughout. A crew's own status reports write no
audit record (the incident's event log is their record), so only a dispatcher's change by hand is measured.

It prepares its own database (DISPATCH_DATABASE_URL, default dispatch_audit_bench) with `dispatch demo
--no-serve`, on DISPATCH_REDIS_URL. Prints a table and one JSON line.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

from benchmarks import intake
from benchmarks.bench.run import wait_ready
from dispatch.config import Settings
from dispatch.setup import recreate_database

ROOT = Path(__file__).resolve().parent.parent
SKIP = """
CREATE OR REPLACE FUNCTION audit_bench_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER audit_bench_skip BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION audit_bench_skip();
"""
UNSKIP = "DROP TRIGGER IF EXISTS audit_bench_skip ON audit_records; DROP FUNCTION IF EXISTS audit_bench_skip();"


def database_exists(settings: Settings) -> bool:
    try:
        psycopg.connect(settings.libpq_url).close()
    except psycopg.OperationalError:
        return False
    return True


def auditing(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(UNSKIP)
        if not on:
            conn.execute(SKIP)


async def status_changes(port: int, token: str, unit_id: int, n: int) -> list[float]:
    """A dispatcher sets a free unit out of service and back, one request at a time: seconds each."""
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as client:
        for i in range(n + 20):
            started = time.perf_counter()
            status = "out_of_service" if i % 2 == 0 else "available"
            response = await client.post(f"/api/units/{unit_id}/status", json={"status": status})
            response.raise_for_status()
            if i >= 20:  # the first ones warm the pool and the prepared statements
                out.append(time.perf_counter() - started)
    return out


def free_unit(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM units WHERE status = 'available' ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        sys.exit("no available unit in the benchmark database")
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of intake per run")
    parser.add_argument("--rate", type=float, default=100.0, help="intake calls per second")
    parser.add_argument("--statuses", type=int, default=300, help="status changes per run")
    parser.add_argument("--port", type=int, default=8033)
    args = parser.parse_args()
    if not (1 <= args.rounds <= 10 and 0 < args.duration <= 60 and 0 < args.rate <= 1000 and 0 < args.statuses <= 5000):
        sys.exit("bounded runs only: rounds 1-10, duration <= 60 s, rate <= 1000/s, statuses <= 5000")
    url = os.environ.setdefault("DISPATCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/dispatch_audit_bench")
    intake.DATABASE_URL = url
    intake.REDIS_URL = os.environ.get("DISPATCH_REDIS_URL", intake.REDIS_URL)
    dispatch = str(ROOT / ".venv" / "bin" / "dispatch")
    settings = Settings(database_url=url, redis_url=intake.REDIS_URL)
    if not database_exists(settings):
        recreate_database(settings)  # the demo's set-up migrates it and imports the map
    subprocess.run([dispatch, "demo", "--no-serve"], check=True, stdout=subprocess.DEVNULL)
    tokens = json.loads((ROOT / "var" / "demo-tokens.json").read_text())["people"]
    unit_id = free_unit(url)
    intake.retire()
    server = subprocess.Popen([dispatch, "serve", "--port", str(args.port), "--log-level", "warning"])
    load = argparse.Namespace(mode="rate", rate=args.rate, duration=args.duration, concurrency=32, port=args.port)
    runs: dict[str, dict[str, list[float]]] = {
        m: {"intake_p50": [], "intake_p99": [], "status_p50": [], "status_p99": []} for m in ("on", "off")
    }
    try:
        wait_ready(args.port, server)
        n = int(args.rate * args.duration)
        for r in range(args.rounds):
            for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
                auditing(url, mode == "on")
                reqs = intake.requests(tokens["calltaker"], args.port, n + 200)
                latencies, statuses, _ = asyncio.run(intake.run_load(load, reqs[:200], reqs[200:]))
                if set(statuses) != {201}:
                    sys.exit(f"intake answered {statuses}")
                changes = asyncio.run(status_changes(args.port, tokens["dispatcher"], unit_id, args.statuses))
                intake.retire()
                for name, values in (("intake", latencies), ("status", changes)):
                    runs[mode][f"{name}_p50"].append(intake.pct(values, 50))
                    runs[mode][f"{name}_p99"].append(intake.pct(values, 99))
                print(
                    f"round {r + 1} audit {mode}: intake p50 {runs[mode]['intake_p50'][-1]} ms, "
                    f"status p50 {runs[mode]['status_p50'][-1]} ms",
                    file=sys.stderr,
                )
    finally:
        auditing(url, True)
        server.terminate()
        server.wait(timeout=20)
    table = Table(title=f"Audit cost: {args.rounds} alternating rounds, intake at {args.rate:g}/s, ms")
    table.add_column("measure")
    table.add_column("audit on (median of rounds)", justify="right")
    table.add_column("audit off", justify="right")
    table.add_column("on / off", justify="right")
    result = {}
    for key in ("intake_p50", "intake_p99", "status_p50", "status_p99"):
        on, off = statistics.median(runs["on"][key]), statistics.median(runs["off"][key])
        result[key] = {"on": on, "off": off, "ratio": round(on / off, 3) if off else None}
        table.add_row(key.replace("_", " "), f"{on:.2f}", f"{off:.2f}", f"{result[key]['ratio']}")
    Console().print(table)
    print(json.dumps({"rounds": runs, "median": result, "loadavg_1m": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
