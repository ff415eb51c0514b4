"""The system under test, all of it the benchmark's own: a Redis, a PostgreSQL cluster, the service and its
matchers, on free ports of 127.0.0.1, stopped and removed whatever way the run ends.

The bundled map, the units and their device tokens go into one template database once (the slow part: the map
import); each scenario then gets a copy (`CREATE DATABASE … TEMPLATE`, a file copy) and an empty Redis, so
what one scenario broke cannot leak into the next.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from benchmarks.bench.run import spoken_addresses, wait_ready
from benchmarks.bench.servers import PrivatePostgres, PrivateRedis, free_port
from benchmarks.bench.setup import prepare
from dispatch.config import Settings

DISPATCH = Path(sys.executable).parent / "dispatch"
MATCHER_UP_S = 60.0  # a matcher that has not said it runs by then did not start


@dataclass
class Fleet:
    """What every scenario's copy of the template holds: units with device tokens, the floor's accounts."""

    units: dict[int, str]
    call_taker: str
    dispatcher: str
    places: list[str]
    positions: dict[int, tuple[float, float]]  # each unit's starting point


@dataclass
class Deployment:
    """One scenario's service: its database, its Redis prefix, its processes (a service, matchers)."""

    settings: Settings
    env: dict[str, str]
    port: int
    logs: Path
    service: subprocess.Popen | None = None
    matchers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, *args: str, log: str) -> subprocess.Popen:
        # A session of its own: Ctrl-C in the terminal reaches this process only, which then stops them all.
        return subprocess.Popen(
            [str(DISPATCH), *args],
            env=self.env,
            start_new_session=True,
            stdout=(self.logs / log).open("a"),
            stderr=subprocess.STDOUT,
        )

    def start_service(self, wait: bool = True) -> None:
        self.service = self._spawn(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            log="service.log",
        )
        if wait:
            wait_ready(self.port, self.service, timeout_s=90)

    def start_matcher(self, wait: bool = True) -> subprocess.Popen:
        n = len(self.matchers)
        log = self.logs / f"matcher-{n}.log"
        matcher = self._spawn("matcher", log=log.name)
        self.matchers.append(matcher)
        if wait:
            deadline = time.monotonic() + MATCHER_UP_S
            while "running" not in log.read_text(errors="replace"):
                if matcher.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the matcher did not start (see {log})")
                time.sleep(0.1)
        return matcher

    def live_matchers(self) -> list[subprocess.Popen]:
        return [m for m in self.matchers if m.poll() is None]

    @staticmethod
    def kill(process: subprocess.Popen | None) -> None:
        """kill -9: no shutdown, no cleanup, as a crash or the OOM killer would do it."""
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        processes = [p for p in (self.service, *self.matchers) if p is not None and p.poll() is None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill(process)


class Stack:
    """Redis and PostgreSQL of the benchmark's own, the template database, and one deployment at a time."""

    TEMPLATE_BASE = "faults"  # prepare() makes "<base>_bench" of it: the template

    def __init__(self, *, units: int, seed: int, logs: Path, say=lambda message: None) -> None:
        self.units, self.seed, self.say = units, seed, say
        self.logs = logs  # the service's and matchers' logs of each scenario, kept after the run
        self.redis: PrivateRedis | None = None
        self.postgres: PrivatePostgres | None = None
        self.fleet: Fleet | None = None
        self.template = ""
        self.deployment: Deployment | None = None

    def start(self) -> Fleet:
        self.say("starting a Redis and a PostgreSQL cluster of the benchmark's own")
        self.redis = PrivateRedis().start()
        self.postgres = PrivatePostgres(database=self.TEMPLATE_BASE).setup()
        base = Settings(database_url=self._url(self.TEMPLATE_BASE), redis_url=self.redis.url)
        self.say(f"template database: migrate, import the bundled map, {self.units} units with device tokens")
        setup = prepare(base, units=self.units, seed=self.seed)
        self.template = setup.settings.database_name
        self.fleet = Fleet(
            setup.units, setup.call_taker, setup.dispatcher, spoken_addresses(setup.settings.libpq_url), setup.positions
        )
        return self.fleet

    def _url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.postgres.port}/{database}"

    def deploy(self, name: str, *, service_matcher: bool = True) -> Deployment:
        """A fresh copy of the template and an empty Redis for one scenario (the service not yet started).
        `service_matcher`: the service runs its own matcher, the standby the README asks for beside the
        `dispatch matcher` processes; without it only those match."""
        database = f"faults_{name.replace('-', '_')}"
        with psycopg.connect(self._url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            # A file copy, then a checkpoint: PostgreSQL 15's default copies through the WAL, and a crash (the
            # immediate stop) would replay every earlier scenario's copy before accepting connections again.
            conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{self.template}" STRATEGY FILE_COPY')
            conn.execute("CHECKPOINT")
        redis.Redis.from_url(self.redis.url).flushall()
        settings = Settings(database_url=self._url(database), redis_url=self.redis.url)
        logs = self.logs / name
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True)
        env = {
            **os.environ,
            "DISPATCH_DATABASE_URL": settings.database_url,
            "DISPATCH_REDIS_URL": settings.redis_url,
            "DISPATCH_MATCHER": "true" if service_matcher else "false",
            "DISPATCH_LOG_LEVEL": "warning",
            "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[1,2,3,4]",
        }
        env.pop("DISPATCH_REDIS_PREFIX", None)  # the prefix is the scenario database's name, as by default
        self.deployment = Deployment(settings, env, free_port(), logs)
        return self.deployment

    def undeploy(self) -> None:
        """The scenario's processes stopped and its database dropped: a PostgreSQL crash syncs every file of the
        cluster before it recovers, and old copies would lengthen the next scenario's outage."""
        if self.deployment is not None:
            self.deployment.stop()
            with psycopg.connect(self._url("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.deployment.settings.database_name}" WITH (FORCE)')
            self.deployment = None

    def close(self) -> None:
        """Everything this stack started, stopped and removed (also after an error or Ctrl-C)."""
        with contextlib.suppress(Exception):
            self.undeploy()
        for server in (self.redis, self.postgres):
            if server is not None:
                with contextlib.suppress(Exception):
                    server.close()
