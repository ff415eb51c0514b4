"""The deployment the benchmark measures: a Redis and a PostgreSQL cluster of its own (free ports, temporary
folders: nothing of the demo's or the tests' is touched), the bundled map, K units with a device token each, and
`dispatch serve` on 127.0.0.1 without auto-dispatch, so that the benchmark assigns, as a dispatcher does."""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench.run import spoken_addresses, wait_ready
from benchmarks.bench.servers import PrivatePostgres, PrivateRedis, free_port
from benchmarks.bench.setup import BenchSetup, prepare
from dispatch.config import Settings

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Service:
    addr: str
    setup: BenchSetup
    places: list[str]  # the map's addresses, as callers say them


class Stack:
    def __init__(self, *, devices: int, seed: int, log: Path) -> None:
        self.devices, self.seed, self.log = devices, seed, log
        self.redis: PrivateRedis | None = None
        self.postgres: PrivatePostgres | None = None
        self.process: subprocess.Popen | None = None

    def start(self) -> Service:
        self.redis = PrivateRedis().start()
        self.postgres = PrivatePostgres(database="unit_latency").setup()
        base = Settings(database_url=self.postgres.url, redis_url=self.redis.url)
        setup = prepare(base, units=self.devices, seed=self.seed)
        port = free_port()
        env = {
            **os.environ,
            **setup.env,
            "DISPATCH_LOG_LEVEL": "warning",
            "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[]",  # the benchmark assigns
            "DISPATCH_ACK_DEADLINE_S": "60",  # a loaded machine must not turn a slow press into a resend
        }
        env.pop("DISPATCH_REDIS_PREFIX", None)  # the prefix is the benchmark database's name, as by default
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "dispatch"), "serve", "--port", str(port), "--log-level", "warning"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_ready(port, self.process)
        return Service(f"127.0.0.1:{port}", setup, spoken_addresses(setup.settings.libpq_url))

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for server in (self.postgres, self.redis):
            if server is not None:
                server.close()
