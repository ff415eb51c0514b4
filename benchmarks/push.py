"""End to end: call POST sent → the assigned unit's device has the assignment, with N units connected.

    .venv/bin/python benchmarks/push.py --units 1000 --rates 50,200 --duration 15

Prepares a fresh bench database (the bundled map, N units, a token each), starts `dispatch serve` on
127.0.0.1 with auto-dispatch, connects every unit's device over /ws/unit, then posts calls at each rate.
Devices acknowledge at once; a dispatcher closes each incident a second after its first assignment, so the
fleet stays free. One clock (this process) times both ends. Prints one JSON line per rate.
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

import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.bench.run import spoken_addresses, wait_ready  # noqa: E402
from benchmarks.bench.setup import prepare  # noqa: E402
from dispatch.config import get_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["FIRE-STRUCT", "CARDIAC", "RTC-INJ", "BURGLARY-NOW", "NOISE", "FALL", "THEFT", "WELFARE", "SICK"]


class Run:
    def __init__(self) -> None:
        self.sent: dict[int, float] = {}  # incident -> when its POST was sent
        self.first: dict[int, float] = {}  # incident -> when its first assignment reached a device
        self.seen: set[tuple[int, str]] = set()
        self.duplicates = 0
        self.assignments = 0


async def device(addr: str, unit_id: int, token: str, run: Run, stop: asyncio.Event) -> None:
    async with connect(
        f"ws://{addr}/ws/unit",
        additional_headers={"Authorization": f"Bearer {token}"},
        max_size=2**20,
        ping_interval=None,
    ) as ws:
        async for raw in ws:
            now = time.perf_counter()
            message = orjson.loads(raw)
            if "seq" in message:  # every outbox message is acknowledged (an unacknowledged one is sent again)
                await ws.send(orjson.dumps({"type": "ack", "of": message["id"]}).decode())
            if message.get("type") != "assignment":
                continue
            key = (unit_id, message["id"])
            if key in run.seen:
                run.duplicates += 1
                continue
            run.seen.add(key)
            run.assignments += 1
            run.first.setdefault(message["incident_id"], now)
            if stop.is_set():
                return


class Conn:
    """A keep-alive HTTP/1.1 connection that reopens itself when the server closed it while idle."""

    def __init__(self, port: int) -> None:
        self.port, self.reader, self.writer = port, None, None

    async def request(self, data: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None or self.writer.is_closing():
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                return await http(self.reader, self.writer, data)
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


async def http(reader, writer, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return status, await reader.readexactly(length)


def post(path: str, token: str, body: dict, port: int) -> bytes:
    data = orjson.dumps(body)
    return (
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (path.encode(), port, token.encode(), len(data), data)
    )


async def drive(args, setup, port: int, places: list[str]) -> list[dict]:
    addr = f"127.0.0.1:{port}"
    run, stop = Run(), asyncio.Event()
    devices = [asyncio.create_task(device(addr, u, t, run, stop)) for u, t in setup.units.items()]
    await asyncio.sleep(2.0 + len(devices) / 500)  # every device connected and welcomed
    rng = random.Random(args.seed)
    conns = [Conn(port) for _ in range(64)]
    free: asyncio.Queue = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    closer_conns = [Conn(port) for _ in range(8)]
    closing: asyncio.Queue = asyncio.Queue()
    for c in closer_conns:
        closing.put_nowait(c)
    statuses: dict[int, int] = {}
    closers: set[asyncio.Task] = set()  # held so a close in flight is not garbage-collected

    async def one_call(i: int, rate: float) -> None:
        body = {
            "channel": "phone",
            "caller_number": f"+423{rng.randrange(10**6, 10**7)}",
            "location_text": rng.choice(places),
            "type_code": rng.choice(TYPES),
            "narrative": "bench",
        }
        conn = await free.get()
        try:
            started = time.perf_counter()
            status, reply = await conn.request(post("/api/calls", setup.call_taker, body, port))
        finally:
            free.put_nowait(conn)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 201:
            incident_id = orjson.loads(reply)["id"]
            run.sent[incident_id] = started
            closer = asyncio.create_task(close_later(incident_id))
            closers.add(closer)
            closer.add_done_callback(closers.discard)

    async def close_later(incident_id: int) -> None:
        for _ in range(100):
            if incident_id in run.first:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        conn = await closing.get()
        try:
            await conn.request(
                post(f"/api/incidents/{incident_id}/close", setup.dispatcher, {"disposition": "resolved"}, port)
            )
        finally:
            closing.put_nowait(conn)

    results = []
    for rate in args.rates:
        run.sent.clear(), run.first.clear()
        statuses.clear()
        run.assignments = run.duplicates = 0
        tasks, t0 = [], time.perf_counter()
        total = int(rate * args.duration)
        for i in range(total):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one_call(i, rate)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
        await asyncio.sleep(3.0)  # stragglers
        e2e = sorted((run.first[i] - run.sent[i]) * 1000 for i in run.sent if i in run.first)
        results.append(
            {
                "rate": rate,
                "achieved_rate": round(total / elapsed, 1),
                "units": len(setup.units),
                "calls": total,
                "accepted": statuses.get(201, 0),
                "statuses": dict(statuses),
                "unassigned": sum(1 for i in run.sent if i not in run.first),
                "assignments": run.assignments,
                "duplicates_delivered": run.duplicates,
                "e2e_ms": {"p50": pct(e2e, 50), "p90": pct(e2e, 90), "p99": pct(e2e, 99), "max": pct(e2e, 100)},
                "workers": args.workers,
                "cpu_count": os.cpu_count(),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
        )
        await asyncio.sleep(3.0)  # the fleet comes free again between rates
    stop.set()
    for task in devices:
        task.cancel()
    await asyncio.gather(*devices, return_exceptions=True)
    return results


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(p / 100 * len(values)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[50.0, 200.0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=8032)
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    args = parser.parse_args()
    if not 1 <= args.units <= 20_000 or not 0 < args.duration <= 120 or any(not 0 < r <= 2000 for r in args.rates):
        sys.exit("bounded runs only: 1-20000 units, 0 < duration <= 120 s, 0 < rate <= 2000")
    setup = prepare(get_settings(), units=args.units, seed=args.seed)
    places = spoken_addresses(setup.settings.libpq_url)
    env = {**os.environ, **setup.env, "DISPATCH_ACK_DEADLINE_S": "60", "DISPATCH_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "dispatch"),
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        wait_ready(args.port, server)
        for result in asyncio.run(drive(args, setup, args.port, places)):
            print(json.dumps(result), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
