"""A matcher killed with kill -9: how long until the next assignment, and until a new matcher runs.

    .venv/bin/python -m benchmarks.takeover [--rounds 5] [--standby service|matcher] [--json]

Its own Redis and PostgreSQL cluster (the bundled map, a fleet), the service on 127.0.0.1, and a `dispatch
matcher` process to kill. What takes over is the service's own matcher (`--standby service`: the default
deployment, every `dispatch serve` process runs one), or a second `dispatch matcher` beside a service that
does not match (`--standby matcher`). Each round:

1. The assignments table is locked and a call posted until the victim leases one and waits in its write,
   renewing its lease (the worst case: it dies holding an incident). A standby process is frozen meanwhile
   (SIGSTOP); calls the service's own matcher takes are let through.
2. kill -9 of the victim. Its write, still waiting in PostgreSQL, is ended (as if it had died a moment
   before sending it), the lock released, the standby thawed, and at once a second call is posted.
3. Timed from the kill, on this process's clock: each call's first assignment in PostgreSQL, and the
   new matcher (started at once, as a supervisor would) saying it runs (its road graph loaded).

Prints a line per round and a summary (JSON with --json). Everything it started is stopped and removed at the
end; logs in var/takeover/.
"""

import argparse
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import redis

from benchmarks.bench.run import spoken_addresses, wait_ready
from benchmarks.bench.servers import PrivatePostgres, PrivateRedis, free_port
from benchmarks.bench.setup import prepare
from dispatch.config import Settings
from dispatch.matching.worker import takeover_bound_s

DISPATCH = Path(sys.executable).parent / "dispatch"
WAIT_S = 30.0  # a step that takes longer than this has failed


def until(check, what: str, timeout_s: float = WAIT_S, every_s: float = 0.005):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every_s)
    raise RuntimeError(f"{what}: not within {timeout_s:.0f} s")


class Takeover:
    def __init__(self, settings: Settings, env: dict[str, str], tokens: tuple[str, str], logs: Path) -> None:
        self.settings, self.env, self.logs = settings, env, logs
        self.port = free_port()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        self.taker = {"Authorization": f"Bearer {tokens[0]}"}
        self.dispatcher = {"Authorization": f"Bearer {tokens[1]}"}
        self.places = spoken_addresses(settings.libpq_url)
        self.db = psycopg.connect(settings.libpq_url, autocommit=True)
        self.processes: list[subprocess.Popen] = []
        self.redis = redis.Redis.from_url(settings.redis_url)
        self.lease_owners = f"{settings.key_prefix}:lease:owner"
        self.calls = itertools.count()

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Path]:
        log = self.logs / f"{args[0]}-{len(self.processes)}.log"
        process = subprocess.Popen(
            [str(DISPATCH), *args], env={**self.env, **(env or {})}, stdout=log.open("w"), stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process, log

    @staticmethod
    def running(process: subprocess.Popen, log: Path) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the matcher exited; see {log}")
        return "running" in log.read_text(errors="replace")

    def matcher(self) -> subprocess.Popen:
        process, log = self.spawn("matcher")
        until(lambda: self.running(process, log), "matcher start", every_s=0.05)
        return process

    def call(self, n: int) -> int:
        body = {
            "channel": "phone",
            "caller_number": f"+423 790 {n:05d}",
            "type_code": "FIRE-STRUCT",
            "location_text": self.places[n * 7919 % len(self.places)],
            "narrative": "Rauch",
        }
        reply = self.http.post("/api/calls", json=body, headers=self.taker)
        reply.raise_for_status()
        return reply.json()["id"]

    def assigned(self, incident_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM assignments WHERE incident_id = %s LIMIT 1", (incident_id,)).fetchone()
            is not None
        )

    def leased_by(self, incident_id: int) -> str | None:
        owner = self.redis.hget(self.lease_owners, incident_id)  # the queue's hash of lease owners
        return owner.decode() if owner else None

    def close_all(self) -> None:
        for (incident_id,) in self.db.execute(
            "SELECT id FROM incidents WHERE status NOT IN ('closed', 'cancelled')"
        ).fetchall():
            self.http.post(
                f"/api/incidents/{incident_id}/close", json={"disposition": "resolved"}, headers=self.dispatcher
            )

    def call_held_by(self, victim: subprocess.Popen, standby: subprocess.Popen | None, lock) -> int:
        """A call the victim leases and then waits in its write on (the assignments table is locked). A standby
        process is frozen meanwhile; the service's own matcher cannot be, so a call it took is let through and
        another one posted."""
        owner = f"{socket.gethostname()}:{victim.pid}"
        if standby is not None:
            standby.send_signal(signal.SIGSTOP)
        for _ in range(50):
            lock.execute("LOCK TABLE assignments IN SHARE ROW EXCLUSIVE MODE")  # held until lock.rollback()
            incident_id = self.call(next(self.calls))
            if until(lambda i=incident_id: self.leased_by(i), "a matcher's lease") == owner:
                until(
                    lambda: self.db.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'").fetchone(),
                    "the victim's write waiting",
                )
                return incident_id
            lock.rollback()  # the service's matcher had it: its write goes through
        raise RuntimeError("the victim never leased a call")

    def round(self, victim: subprocess.Popen, standby: subprocess.Popen | None) -> tuple[dict, subprocess.Popen]:
        with psycopg.connect(self.settings.libpq_url) as lock:
            held = self.call_held_by(victim, standby, lock)
            killed = time.monotonic()
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            # Its write, still waiting in PostgreSQL, is ended: as if it had died a moment before sending it.
            self.db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            lock.rollback()
        if standby is not None:
            standby.send_signal(signal.SIGCONT)
        fresh = self.call(next(self.calls))
        restarted, log = self.spawn("matcher")  # started again at once, as its supervisor would
        times: dict[str, float] = {}

        def done() -> bool:
            for key, ready in (
                ("held_s", lambda: self.assigned(held)),
                ("new_call_s", lambda: self.assigned(fresh)),
                ("new_matcher_start_s", lambda: self.running(restarted, log)),
            ):
                if key not in times and ready():
                    times[key] = round(time.monotonic() - killed, 3)
            return len(times) == 3

        until(done, "assignments and the new matcher after the kill")
        self.close_all()
        return times, restarted

    def run(self, rounds: int, standby: str) -> list[dict]:
        service, _ = self.spawn(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            env={"DISPATCH_MATCHER": "true" if standby == "service" else "false"},
        )
        wait_ready(self.port, service)
        spare = self.matcher() if standby == "matcher" else None
        victim = self.matcher()
        results = []
        for n in range(rounds):
            result, victim = self.round(victim, spare)
            print(
                f"round {n + 1}: incident held by the killed matcher assigned after {result['held_s']:.2f} s, "
                f"a call after the kill after {result['new_call_s']:.2f} s; the new matcher ran after "
                f"{result['new_matcher_start_s']:.2f} s",
                flush=True,
            )
            results.append(result)
        return results

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.db.close()
        self.http.close()
        self.redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, choices=range(1, 51), metavar="1..50")
    parser.add_argument(
        "--standby",
        choices=("service", "matcher"),
        default="service",
        help="what takes over: the service's own matcher (the default deployment), or a second "
        "`dispatch matcher` beside a service that does not match",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line instead of the summary")
    args = parser.parse_args()
    redis_server, postgres = PrivateRedis().start(), PrivatePostgres(database="takeover").setup()
    logs = Path("var/takeover")
    logs.mkdir(parents=True, exist_ok=True)
    bench = None
    try:
        base = Settings(database_url=postgres.url, redis_url=redis_server.url)
        setup = prepare(base, units=60, seed=7)
        env = {
            **os.environ,
            **setup.env,
            "DISPATCH_LOG_LEVEL": "warning",
            "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[1,2,3,4]",
        }
        env.pop("DISPATCH_REDIS_PREFIX", None)
        bench = Takeover(setup.settings, env, (setup.call_taker, setup.dispatcher), logs)
        results = bench.run(args.rounds, args.standby)
    finally:
        if bench is not None:
            bench.stop()
        postgres.close()
        redis_server.close()
    summary = {
        "rounds": len(results),
        "standby": args.standby,
        "lease_s": setup.settings.queue_lease_s,
        "takeover_bound_s": takeover_bound_s(setup.settings),
        **{f"{key}_max": max(r[key] for r in results) for key in results[0]},
        **{f"{key}_median": sorted(r[key] for r in results)[len(results) // 2] for key in results[0]},
    }
    if args.json:
        print(json.dumps({"takeover": summary, "runs": results}))
    else:
        for key, value in summary.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
