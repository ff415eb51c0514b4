"""A Redis and a PostgreSQL of one's own, on free ports in a temporary folder, to kill and restart at will.

The fault benchmark and the fault tests stop, kill and restart the services under the system: doing that to
the machine's shared PostgreSQL or Redis would take the demo, the tests and every other run down with them.
These use the installed binaries (`redis-server`; `initdb`, `pg_ctl` of the PostgreSQL that is running,
with its PostGIS), listen on 127.0.0.1 only, keep nothing after `close()`, and are stopped at interpreter
exit if the caller forgot.
"""

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import redis


class ServerError(Exception):
    """A private server could not be set up or started; the message says what failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.05)
    raise ServerError(f"{what} did not come up within {timeout_s:.0f} s")


class PrivateRedis:
    """`redis-server` on a free port, keeping nothing on disk (as the machines here run it)."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise ServerError("redis-server is not installed (scripts/bootstrap.sh installs it)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="dispatch-redis-"))
        self.proc: subprocess.Popen | None = None
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: redis.Redis(port=self.port, socket_connect_timeout=0.2).ping(), "redis-server", 10)
        return self

    def kill(self) -> None:
        """kill -9: everything it held is gone, as after a crash of a Redis that keeps nothing on disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bin() -> Path:
    """The binaries of the PostgreSQL major that runs here (the one PostGIS was installed for)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise ServerError("no PostgreSQL server binaries under /usr/lib/postgresql (scripts/bootstrap.sh)")
    return found[-1].parent


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb into a temporary folder), trust auth, with PostGIS created in
    its database. Run as root, the cluster belongs to the `postgres` account (PostgreSQL refuses root)."""

    def __init__(self, database: str = "dispatch") -> None:
        self.bin = _pg_bin()
        self.port = free_port()
        self.database = database
        self.dir = Path(tempfile.mkdtemp(prefix="dispatch-pg-"))
        self.data = self.dir / "data"
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        atexit.register(self.close)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.dir)
        if check and done.returncode != 0:
            raise ServerError(f"{args[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        return done

    def _connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, connect_timeout=2, autocommit=True
        )

    def setup(self) -> "PrivatePostgres":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = "
                f"'{self.dir}'\nfsync = on\nmax_connections = 200\nshared_buffers = 128MB\n"
            )
        self.start()
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        with self._connect(self.database) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"), "-w", "-t", "30", "start")
        _wait(lambda: self._connect().close() is None, "PostgreSQL", 30)

    def stop(self, mode: str = "immediate") -> None:
        """`immediate` is a crash as far as clients can tell: every connection is cut at once."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def close(self) -> None:
        if self.data.exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
