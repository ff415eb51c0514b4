"""CPU time per process over the bench's call window: where a call's cost goes, the load generator's included.

Each role's processes are read with psutil (user + system seconds) when the calls start and when they stop;
the difference divided by the calls accepted in between is the role's CPU milliseconds per call. Roles:

- `service`: `dispatch serve` and its worker processes;
- `matcher`: the `dispatch matcher` processes;
- `postgres`: the server's backends connected to the bench database, and its background processes (WAL
  writer, checkpointer, autovacuum: shared with whatever else the server serves, quiet during a bench);
- `redis`: the Redis server (its own `INFO cpu`, all of its databases);
- `locust` and `trackers`: the load generator.

A process that starts inside the window counts from zero; one that ends inside it counts up to its last
sample (PostgreSQL backends live as long as the pools that hold them, the whole run).
"""

import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import redis

Sampler = Callable[[], dict[str, float]]


def _tree_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (a multi-worker `dispatch serve`)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _per_pid(pids: list[int]) -> dict[int, float]:
    out: dict[int, float] = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        out[pid] = times.user + times.system
    return out


class CpuMeter:
    """Samples each role's CPU seconds; `window(start, stop)` runs the two samples on a thread of its own."""

    def __init__(self, *, libpq_url: str, database: str, redis_url: str) -> None:
        self.libpq_url = libpq_url
        self.database = database
        self.redis_url = redis_url
        self.roles: dict[str, list[int]] = {}
        self.samples: list[tuple[float, dict[str, float], dict[int, float]]] = []
        self.tables: list[dict[str, tuple[int, int, int]]] = []
        self.commands: list[dict[str, int]] = []  # Redis's own count of each command, at each sample
        self._thread: threading.Thread | None = None

    def watch(self, role: str, pid: int) -> None:
        self.roles.setdefault(role, []).append(pid)

    def _redis(self) -> tuple[float, dict[str, int]]:
        """Redis's CPU seconds, and its count of each command."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            info, commands = client.info("cpu"), client.info("commandstats")
        finally:
            client.close()
        counts = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in commands.items()}
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"]), counts

    def _postgres(self) -> tuple[list[int], dict[str, tuple[int, int, int]]]:
        """In one connection: the backends of the bench database and the server's own processes; and the bench
        database's transactions (committed, rolled back) and, by table, sequential scans, rows they read and
        index scans: PostgreSQL's own account of where its time goes."""
        with psycopg.connect(self.libpq_url, autocommit=True) as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = %s AND pid <> pg_backend_pid()) "
                "OR backend_type NOT IN ('client backend', 'walsender')",
                (self.database,),
            ).fetchall()
            rows = conn.execute(
                "SELECT relname, seq_scan, seq_tup_read, coalesce(idx_scan, 0) FROM pg_stat_user_tables"
            ).fetchall()
            xacts = conn.execute(
                "SELECT xact_commit, xact_rollback, 0 FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return [r[0] for r in pids], {"(transactions)": tuple(xacts), **{r[0]: (r[1], r[2], r[3]) for r in rows}}

    def sample(self) -> None:
        roles = {role: sum(_tree_seconds(pid) for pid in pids) for role, pids in self.roles.items()}
        roles["redis"], commands = self._redis()
        pids, tables = self._postgres()
        self.samples.append((time.monotonic(), roles, _per_pid(pids)))
        self.tables.append(tables)
        self.commands.append(commands)

    def after(self, marker: Path, quiet_s: float, length_s: float, timeout_s: float = 600.0) -> None:
        """Once `marker` exists (every socket open), samples at once, after `quiet_s` (the devices alone: the
        calls start then) and after `length_s` more, on a thread of its own."""

        def run() -> None:
            deadline = time.monotonic() + timeout_s
            while not marker.exists():
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
            self.sample()
            time.sleep(quiet_s)
            self.sample()
            time.sleep(length_s)
            self.sample()

        self._thread = threading.Thread(target=run, name="cpu-meter", daemon=True)
        self._thread.start()

    def result(self, calls: int) -> dict | None:
        """CPU ms per call and share of the machine by role, or None when the window was not measured."""
        if self._thread is not None:
            self._thread.join(timeout=5)
        if len(self.samples) < 3:
            return None
        quiet = self._between(0, 1)
        busy, window_s = self._between(1, 2)
        cores = psutil.cpu_count() or 1
        # What the calls added: the window's CPU less what the same seconds cost with the devices alone.
        added = {r: max(0.0, busy[r] - quiet[0].get(r, 0.0) / quiet[1] * window_s) for r in busy}

        def per_call(seconds: dict[str, float]) -> dict[str, float | None]:
            return {r: round(s * 1000 / calls, 2) if calls else None for r, s in seconds.items()}

        return {
            "window_s": round(window_s, 2),
            "calls": calls,
            "ms_per_call": per_call(busy),
            "added_ms_per_call": per_call(added),
            "quiet_cores": {r: round(s / quiet[1], 3) for r, s in quiet[0].items()},
            "share_of_machine": {r: round(s / window_s / cores, 3) for r, s in busy.items()},
            "total_ms_per_call": round(sum(busy.values()) * 1000 / calls, 2) if calls else None,
            "postgres_per_call": self._postgres_per_call(calls),
            "redis_commands_per_call": self._redis_per_call(calls),
        }

    def _redis_per_call(self, calls: int) -> dict[str, float]:
        """Redis commands per call over the calls' window, by command (all of the server's databases), the most
        frequent first, with their total: every one is a round trip from some process."""
        if not calls or len(self.commands) < 3:
            return {}
        first, last = self.commands[1], self.commands[2]
        per = {name: (n - first.get(name, 0)) / calls for name, n in last.items() if n > first.get(name, 0)}
        top = sorted(per.items(), key=lambda kv: -kv[1])
        return {"all": round(sum(per.values()), 1), **{name: round(n, 2) for name, n in top[:10]}}

    def _postgres_per_call(self, calls: int) -> dict:
        """Per call over the calls' window: transactions committed and rolled back, and for each table read by
        sequential scans, the scans and the rows they read (PostgreSQL reports its counters within a second or
        so: a bound, not an exact count)."""
        if not calls or len(self.tables) < 3:
            return {}
        first, last = self.tables[1], self.tables[2]
        per = {
            name: tuple(b - a for a, b in zip(first.get(name, (0, 0, 0)), now, strict=True))
            for name, now in last.items()
        }
        commits, rollbacks, _ = per.pop("(transactions)", (0, 0, 0))
        scanned = sorted(((n, v) for n, v in per.items() if v[1] > 0), key=lambda nv: -nv[1][1])
        return {
            "commits": round(commits / calls, 2),
            "rollbacks": round(rollbacks / calls, 2),
            "seq_scans": {n: {"scans": round(v[0] / calls, 2), "rows": round(v[1] / calls, 1)} for n, v in scanned[:8]},
            "index_scans": round(sum(v[2] for v in per.values()) / calls, 1),
        }

    def _between(self, a: int, b: int) -> tuple[dict[str, float], float]:
        """Each role's CPU seconds between samples a and b, and the seconds between them."""
        (t0, first, pg0), (t1, last, pg1) = self.samples[a], self.samples[b]
        seconds = {role: max(0.0, last.get(role, 0.0) - first.get(role, 0.0)) for role in last}
        seconds["postgres"] = sum(max(0.0, after - pg0.get(pid, 0.0)) for pid, after in pg1.items())
        return seconds, t1 - t0
