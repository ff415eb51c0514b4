"""`dispatch bench`: the service under a constant call rate, measured end to end with Locust.

Steps: a fresh bench database (the bundled map, N units with a device token each, and optional trackers:
units that only send positions) and Redis database 14; `dispatch serve` on 127.0.0.1 with auto-dispatch;
Locust headless with the users of loadtests/locustfile.py (devices connect first, then call-takers start);
then the figures: end to end (call POST sent → the assignment on the assigned unit's device, on Locust's one
clock), intake (POST → 201), what was lost (accepted, neither assigned nor still queued) and what a device
received twice. Every run is bounded in time and talks to 127.0.0.1 only.
"""

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
import redis

from benchmarks.bench.cpu import CpuMeter
from benchmarks.bench.setup import BenchSetup, prepare
from dispatch.config import Settings

LOCUSTFILE = Path(str(resources.files("loadtests") / "locustfile.py"))
QUIET_S = 3.0  # seconds of devices alone before the calls (default), measured as the CPU table's background
CONNECT_PER_S = 400  # websocket clients Locust opens a second, about what one core handles with auth
CENTRE = (47.14, 9.52)
TRACKERS = Path(str(resources.files("loadtests") / "trackers.py"))
TRACKERS_PER_S = 500  # tracker sockets opened a second


class BenchError(RuntimeError):
    """A run that could not start or finish: a message and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BenchArgs:
    rate: float
    duration: float
    units: int
    consoles: int
    trackers: int
    workers: int
    matchers: int  # matcher processes of their own (0: the serve processes match)
    port: int
    seed: int
    out_dir: Path
    busy_s: float = 0.2
    # After the last call, the devices listen this long for the last assignments (a busy machine wants longer:
    # what has not come by then is counted undelivered).
    tail_s: float = 5.0
    quiet_s: float = QUIET_S

    def check(self) -> None:
        if not 0 < self.rate <= 2000:
            raise BenchError("--rate must be in (0, 2000] calls a second", 2)
        if not 1 <= self.duration <= 600:
            raise BenchError("--duration must be 1..600 s (runs are bounded)", 2)
        if not 1 <= self.tail_s <= 120 or not 1 <= self.quiet_s <= 60:
            raise BenchError("--tail must be 1..120 s and --quiet 1..60 s (runs are bounded)", 2)
        if not 1 <= self.units <= 20_000 or not 0 <= self.trackers <= 20_000:
            raise BenchError("--units must be 1..20000 and --trackers 0..20000", 2)
        if not 0 <= self.consoles <= 100 or not 1 <= self.workers <= 8 or not 0 <= self.matchers <= 8:
            raise BenchError("--consoles must be 0..100, --workers 1..8 and --matchers 0..8", 2)


def pct(values: list[float], p: float) -> float | None:
    """The p-th percentile, nearest rank (an observed value)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)


def spread(values: list[float]) -> dict:
    return {"p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99), "max": pct(values, 100)}


def wait_ready(
    port: int, server: subprocess.Popen | None = None, timeout_s: float = 90.0, path: str = "/readyz"
) -> None:
    """Until the service on 127.0.0.1:`port` answers `path` (/readyz) with 200 (BenchError if it exits or takes
    too long)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise BenchError(f"the service exited with status {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise BenchError(f"the service on port {port} was not ready within {timeout_s:.0f} s")


def spoken_addresses(libpq_url: str) -> list[str]:
    """The map's addresses as callers say them ("Städtle 23, Vaduz"), for the load generators' calls."""
    with psycopg.connect(libpq_url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT street || ' ' || housenumber || ', ' || municipality FROM addresses "
                "WHERE street IS NOT NULL AND municipality IS NOT NULL ORDER BY id"
            )
        ]


def _plan(args: BenchArgs, setup: BenchSetup, places: list[str], out: Path) -> dict:
    call_takers = max(2, math.ceil(args.rate / 5))  # 5 calls a second each: far below what one can send
    return {
        "seed": args.seed,
        "rate": args.rate,
        "busy_s": args.busy_s,
        "out": str(out),
        "units": {str(k): v for k, v in setup.units.items()},
        "trackers": {str(k): v for k, v in setup.trackers.items()},
        "positions": {str(k): v for k, v in setup.positions.items()},
        "centre": CENTRE,
        "places": places,
        "call_taker": setup.call_taker,
        "dispatcher": setup.dispatcher,
        # Trackers are driven by loadtests/trackers.py, not by Locust (see _start_trackers).
        "counts": {
            "devices": len(setup.units),
            "consoles": args.consoles,
            "call_takers": call_takers,
            "dispatchers": max(2, math.ceil(args.rate / 25)),
        },
    }


def end_to_end(sent: dict[int, float], device: dict[int, float], assigned: set[int], ended: float) -> dict:
    """Call POST sent → its first assignment on a device, in ms, over every assigned call. A call assigned in
    PostgreSQL whose assignment never reached a device in the run counts as arriving at the run's end: it took
    at least that long, so with undelivered calls the percentiles are a lower bound, never a flattering one."""
    assigned = assigned & sent.keys()
    delivered = {i for i in assigned if i in device}
    undelivered = assigned - delivered
    times = [(device[i] - sent[i]) * 1000 for i in delivered] + [(ended - sent[i]) * 1000 for i in undelivered]
    return {
        "assigned": len(assigned),
        "delivered": len(delivered),
        "undelivered": len(undelivered),
        "e2e_ms": spread(times),
    }


def _lost(setup: BenchSetup, accepted: set[int]) -> tuple[int, int, set[int]]:
    """(lost, still queued, assigned): accepted calls with no assignment and not in the queue, those the queue
    still holds, and those PostgreSQL has an assignment for."""
    if not accepted:
        return 0, 0, set()
    with psycopg.connect(setup.settings.libpq_url) as conn:
        assigned = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT incident_id FROM assignments WHERE incident_id = ANY(%s)", (list(accepted),)
            )
        }
    waiting = accepted - assigned
    r = redis.Redis.from_url(setup.settings.redis_url)
    # Waiting in the queue, or leased by a matcher that will look at it again (no unit free yet).
    prefix = setup.settings.key_prefix
    queued = {
        i
        for i in waiting
        if r.zscore(f"{prefix}:queue", str(i)) is not None or r.zscore(f"{prefix}:leases", str(i)) is not None
    }
    return len(waiting - queued), len(queued), assigned


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no obstacle
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run(base: Settings, args: BenchArgs, *, progress=None) -> dict:
    args.check()
    if not _port_free(args.port):
        raise BenchError(f"port {args.port} on 127.0.0.1 is in use (another bench or service?): choose --port")
    if shutil.which("locust", path=str(Path(sys.executable).parent)) is None:
        raise BenchError("locust is not installed: run `make setup` (it installs the dev dependencies)")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda message: None)
    say(f"preparing a fresh bench database with {args.units:,} units and {args.trackers:,} trackers")
    started = time.monotonic()
    setup = prepare(base, units=args.units, seed=args.seed, trackers=args.trackers)
    places = spoken_addresses(setup.settings.libpq_url)
    say(f"prepared in {time.monotonic() - started:.0f} s; starting the service ({args.workers} worker(s))")
    tally_file = args.out_dir / "tally.json"
    tally_file.unlink(missing_ok=True)
    plan_file = args.out_dir / "plan.json"
    plan = _plan(args, setup, places, tally_file)
    plan_file.write_text(json.dumps(plan))
    env = {
        **os.environ,
        **setup.env,
        "DISPATCH_ACK_DEADLINE_S": "60",
        "DISPATCH_LOG_LEVEL": "warning",
        "DISPATCH_MATCHER": "false" if args.matchers else "true",
        "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[1,2,3,4]",
    }
    bin_dir = Path(sys.executable).parent
    log_file = (args.out_dir / "service.log").open("w")
    server = subprocess.Popen(
        [
            str(bin_dir / "dispatch"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )
    matchers = [
        subprocess.Popen([str(bin_dir / "dispatch"), "matcher"], env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        for _ in range(args.matchers)
    ]
    fleet = None
    bench_db = setup.settings
    meter = CpuMeter(libpq_url=bench_db.libpq_url, database=bench_db.database_name, redis_url=bench_db.redis_url)
    meter.watch("service", server.pid)
    for matcher in matchers:
        meter.watch("matcher", matcher.pid)
    try:
        wait_ready(args.port, server)
        users = sum(plan["counts"].values())
        sockets = len(setup.units) + args.consoles
        # An upper bound: Locust itself starts the calls once every socket is open and stops after the tail.
        run_time = math.ceil(30 + sockets / 20 + args.quiet_s + args.duration + args.tail_s + 10)
        if setup.trackers:
            say(f"{len(setup.trackers):,} trackers connecting ({TRACKERS_PER_S} a second)")
            fleet = _start_trackers(args, plan_file, run_time, log_file)
            meter.watch("trackers", fleet.pid)
        say(
            f"Locust: {users:,} users; once the {sockets:,} sockets are open and {args.quiet_s:g} s quiet, "
            f"{args.rate:g} calls/s for {args.duration:g} s"
        )
        marker = Path(f"{tally_file}.connected")
        marker.unlink(missing_ok=True)
        locust = subprocess.Popen(
            [
                str(bin_dir / "locust"),
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(CONNECT_PER_S),
                "--run-time",
                f"{run_time}s",
                "--stop-timeout",
                "5",
                "--host",
                f"http://127.0.0.1:{args.port}",
                "--html",
                str(args.out_dir / "report.html"),
                "--csv",
                str(args.out_dir / "locust"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={
                **os.environ,
                "DISPATCH_BENCH_FILE": str(plan_file),
                "DISPATCH_BENCH_QUIET_S": f"{args.quiet_s}",
                "DISPATCH_BENCH_CALLS_FOR": f"{args.duration}",
                "DISPATCH_BENCH_TAIL_S": f"{args.tail_s}",
            },
            stdout=(args.out_dir / "locust.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        meter.watch("locust", locust.pid)
        # The windows: the devices alone, then the calls' seconds and 1.5 s after (their statuses and closes).
        meter.after(marker, args.quiet_s, args.duration + 1.5)
        try:
            locust.wait(timeout=run_time + 120)
        except subprocess.TimeoutExpired:
            locust.kill()
            raise BenchError("Locust did not end in time: see the log", 1) from None
        if not tally_file.exists():
            raise BenchError(
                f"Locust ended (status {locust.returncode}) without its tally: see {args.out_dir / 'locust.log'}"
            )
        time.sleep(2.0)  # the last assignments land
        tally = json.loads(tally_file.read_text())
        trackers = _trackers_done(fleet, args.out_dir) if fleet else None
        connected_sockets = int(marker.read_text() or 0) if marker.exists() else 0
    finally:
        for process in (server, *matchers, *((fleet,) if fleet else ())):
            process.terminate()
        for process in (server, *matchers):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    sent = {int(k): v for k, v in tally["sent"].items()}
    device = {int(k): v for k, v in tally["device"].items()}
    console = {int(k): v for k, v in tally["console"].items()}
    to_console = [(console[i] - sent[i]) * 1000 for i in sent if i in console]
    lost, queued, assigned = _lost(setup, set(sent))
    # The run's end on Locust's clock (a tally without it: the last thing the run saw).
    ended = tally.get("ended") or max([*sent.values(), *device.values(), *console.values()], default=0.0)
    reached = end_to_end(sent, device, assigned, ended)
    window = (max(sent.values()) - min(sent.values())) if len(sent) > 1 else 0.0
    return {
        "rate": args.rate,
        "achieved_rate": round(len(sent) / window, 1) if window else 0.0,
        "duration_s": args.duration,
        "units": len(setup.units),
        "trackers": len(setup.trackers),
        "consoles": args.consoles,
        "workers": args.workers,
        "matcher_processes": args.matchers,
        "accepted": len(sent),
        "statuses": tally["statuses"],
        "lost": lost,
        "still_queued": queued,
        **reached,
        "assignments": tally["assignments"],
        "duplicates_delivered": tally["duplicates"],
        "device_errors": tally["refused"],
        "intake_ms": spread(tally.get("intake_ms", [])),
        "console_ms": spread(to_console),
        "tracker_fleet": trackers,
        "sockets_connected": connected_sockets,
        "cpu": meter.result(len(sent)),
        "cpu_count": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "report": str(args.out_dir / "report.html"),
    }


def _start_trackers(args: BenchArgs, plan_file: Path, run_time: float, log) -> subprocess.Popen:
    """The position-only fleet in a process of its own (loadtests/trackers.py), every socket open before
    Locust starts; it sends fixes for as long as Locust runs."""
    fleet = subprocess.Popen(
        [
            sys.executable,
            str(TRACKERS),
            "--plan",
            str(plan_file),
            "--url",
            f"ws://127.0.0.1:{args.port}/ws/unit",
            "--connect-per-s",
            str(TRACKERS_PER_S),
            "--run-for",
            str(run_time),
            "--out",
            str(args.out_dir / "trackers.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    line = fleet.stdout.readline()  # "connected N failed M", once every socket is open or failed
    if not line.startswith("connected"):
        fleet.kill()
        raise BenchError(f"the tracker fleet did not start (status {fleet.wait()}): see {args.out_dir}/service.log")
    return fleet


def _trackers_done(fleet: subprocess.Popen, out_dir: Path) -> dict:
    fleet.terminate()  # Locust has ended: the fleet stops sending and writes its figures
    try:
        fleet.wait(timeout=60)
    except subprocess.TimeoutExpired:
        fleet.kill()
        raise BenchError("the tracker fleet did not stop within 60 s of the run's end") from None
    found = out_dir / "trackers.json"
    if not found.exists():
        raise BenchError(f"the tracker fleet ended (status {fleet.returncode}) without its figures")
    return json.loads(found.read_text())
