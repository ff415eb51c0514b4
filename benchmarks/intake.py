"""Durable intake throughput and latency: POST /api/calls against a running service on 127.0.0.1.

    .venv/bin/python benchmarks/intake.py --workers 2 --mode max --duration 10 --concurrency 32
    .venv/bin/python benchmarks/intake.py --workers 1 --mode rate --rate 200 --duration 15

It uses a database of its own (`<name>_intake`, made with the bundled map the first time) and Redis database 13,
never the demo's; starts `dispatch serve` (the `dispatch` of this checkout's venv, so PYTHONPATH chooses the code)
with the given workers,
and drives it with a small asyncio HTTP/1.1 client (keep-alive connections, pre-built requests) so the load
generator costs little CPU next to the service. In rate mode, latency counts from each call's scheduled
send time, so a stalled server cannot hide its queueing (no coordinated omission). Prints one JSON line.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.bench.run import spoken_addresses, wait_ready  # noqa: E402
from benchmarks.bench.setup import prepare_intake, serve_env  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.queue.service import IncidentQueue  # noqa: E402

TYPES = ["FIRE-STRUCT", "CARDIAC", "RTC-INJ", "BURGLARY-NOW", "NOISE", "FALL", "THEFT", "WELFARE"]


SETTINGS = Settings()  # the environment's, made the benchmark's own by main()
NARRATIVE = "benchmark call"
TIMINGS: list[bytes] = []  # each response's Server-Timing header: the service's own account of its time


def retire() -> int:
    """Cancels what earlier runs left waiting (no matcher drains them here), in PostgreSQL and in the queue,
    so every run starts from a realistic number of open incidents."""
    with psycopg.connect(SETTINGS.libpq_url) as c:
        ids = [
            r[0]
            for r in c.execute(
                "UPDATE incidents SET status = 'cancelled', closed_at = now(), disposition = 'benchmark' "
                "WHERE status IN ('pending', 'unconfirmed') AND narrative = %s RETURNING id",
                (NARRATIVE,),
            )
        ]

    async def unqueue():
        client = aioredis.Redis.from_url(SETTINGS.redis_url)
        queue = IncidentQueue(client, prefix=SETTINGS.key_prefix)
        for incident_id in ids:
            await queue.remove(incident_id)
        await client.aclose()

    asyncio.run(unqueue())
    return len(ids)


def requests(token: str, port: int, n: int) -> list[bytes]:
    places = spoken_addresses(SETTINGS.libpq_url)
    rng, run = random.Random(1), int(time.time())
    out = []
    for i in range(n):
        body = json.dumps(
            {
                "channel": "phone",
                "caller_number": f"+423{rng.randrange(10**6, 10**7)}",
                "location_text": rng.choice(places),
                "type_code": rng.choice(TYPES),
                "narrative": NARRATIVE,
            }
        ).encode()
        out.append(
            b"POST /api/calls HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
            b"Idempotency-Key: bench-%d-%d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (port, token.encode(), run, i, len(body), body)
        )
    return out


async def send(reader, writer, request: bytes) -> int:
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length, timing = 0, b""
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        if line.lower().startswith(b"server-timing:"):
            timing = line
    TIMINGS.append(timing)
    await reader.readexactly(length)
    return status


async def run_load(args, warmup: list[bytes], reqs: list[bytes]) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    conns = [await asyncio.open_connection("127.0.0.1", args.port) for _ in range(args.concurrency)]
    free: asyncio.Queue = asyncio.Queue()
    for conn in conns:
        free.put_nowait(conn)
    # Warm-up, not measured: every connection used, the service's database pool filled, statements prepared.
    for start in range(0, len(warmup), len(conns)):
        await asyncio.gather(*(send(*conn, request) for conn, request in zip(conns, warmup[start:], strict=False)))
    TIMINGS.clear()
    started = time.perf_counter()

    async def one(request: bytes, scheduled: float) -> None:
        conn = await free.get()
        try:
            status = await send(*conn, request)
        finally:
            free.put_nowait(conn)
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(time.perf_counter() - scheduled)

    tasks = []
    if args.mode == "rate":
        for i, request in enumerate(reqs):
            scheduled = started + i / args.rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            tasks.append(asyncio.create_task(one(request, scheduled)))
    else:
        it = iter(reqs)
        deadline = started + args.duration

        async def worker():
            for request in it:
                if time.perf_counter() > deadline:
                    return
                await one(request, time.perf_counter())

        tasks = [asyncio.create_task(worker()) for _ in range(args.concurrency)]
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for _, writer in conns:
        writer.close()
    return latencies, statuses, elapsed


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000, 2) if values else 0.0


def summary(seconds: list[float]) -> dict:
    return {"p50": pct(seconds, 50), "p90": pct(seconds, 90), "p99": pct(seconds, 99), "max": pct(seconds, 100)}


def server_timing(part: str) -> list[float]:
    """Seconds the service says it spent in `part`, from each response's Server-Timing header."""
    key = f"{part};dur=".encode()
    return [float(t.split(key)[1].split(b",")[0].split(b"\r")[0]) / 1000 for t in TIMINGS if key in t]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["max", "rate"], default="max")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8031)
    parser.add_argument("--warmup", type=int, default=400, help="calls sent first and not measured")
    parser.add_argument(
        "--external",
        action="store_true",
        help="drive a service already listening on --port (e.g. under a profiler), serving `<name>_intake` "
        "and Redis db 13",
    )
    args = parser.parse_args()
    if (
        args.duration <= 0
        or args.duration > 120
        or args.rate <= 0
        or not 1 <= args.concurrency <= 512
        or not 0 <= args.warmup <= 10_000
    ):
        sys.exit("bounded runs only: 0 < duration <= 120 s, rate > 0, 1 <= concurrency <= 512, warmup <= 10000")
    global SETTINGS
    dispatch = str(ROOT / ".venv" / "bin" / "dispatch")
    SETTINGS, token = prepare_intake(Settings())
    retire()
    server = (
        None
        if args.external
        else subprocess.Popen(
            [dispatch, "serve", "--port", str(args.port), "--workers", str(args.workers), "--log-level", "warning"],
            env={**os.environ, **serve_env(SETTINGS)},
        )
    )
    try:
        wait_ready(args.port, server)
        n = int(args.rate * args.duration) if args.mode == "rate" else 100_000
        reqs = requests(token, args.port, n + args.warmup)
        latencies, statuses, elapsed = asyncio.run(run_load(args, reqs[: args.warmup], reqs[args.warmup :]))
        load = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        retire()
    print(
        json.dumps(
            {
                "mode": args.mode,
                "workers": args.workers,
                "cpu_count": os.cpu_count(),
                "target_rate": args.rate if args.mode == "rate" else None,
                "calls": len(latencies),
                "achieved_rate": round(len(latencies) / elapsed, 1),
                "statuses": statuses,
                "ms": summary(latencies),
                "server_ms": {part: summary(server_timing(part)) for part in ("intake", "queue")},
                "loadavg_1m": round(load[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
