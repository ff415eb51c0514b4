"""`dispatch simulate --history`: simulated past days written into the database, one after another.

Day i of a range (0 for its first day) is simulated from `seed + i`, so a day is the same whenever the same range
and seed are written again elsewhere. The world and the road router are opened once and every day is written on
one connection, each in a transaction of its own: an interrupted run leaves whole days, and running it again
skips them. Days that already have incidents are skipped with a message (the event log is append-only: a day
written twice could not be taken back); a range with no day left to write is refused.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.calls import Timing
from simulator.commands import open_world
from simulator.history import HistoryError, simulate_day, write_day_on
from simulator.loads import LOAD_NAMES, calls_per_hour_of

MAX_DAYS = 400


def yesterday(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date() - timedelta(days=1)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HistoryError(f"{option} must be a date like 2026-11-28, got {text!r}") from None


def parse_days(*, day: str | None, first: str | None, last: str | None, days: int | None, tz: str) -> tuple[date, date]:
    """The range of local days to write, from `--day`, `--from`/`--to` or `--days` (the last N days up to
    yesterday); yesterday alone if none is given. A history ends yesterday at the latest."""
    end = yesterday(tz)
    if day is not None and (first is not None or last is not None or days is not None):
        raise HistoryError("give --day, or --from/--to, or --days, not several")
    if days is not None and (first is not None or last is not None):
        raise HistoryError("give --days or --from/--to, not both")
    if day is not None:
        first_day = last_day = _date(day, "--day")
    elif days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise HistoryError(f"--days must be 1 to {MAX_DAYS}, got {days}")
        first_day, last_day = end - timedelta(days=days - 1), end
    else:
        last_day = _date(last, "--to") if last is not None else end
        first_day = _date(first, "--from") if first is not None else last_day
    if first_day > last_day:
        raise HistoryError(f"--from {first_day} is after --to {last_day}")
    if last_day > end:
        raise HistoryError(f"a history ends yesterday ({end}) at the latest, not {last_day}")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise HistoryError(f"at most {MAX_DAYS} days at once, not {(last_day - first_day).days + 1}")
    return first_day, last_day


def written_days(conn: psycopg.Connection, first: date, last: date, tz: str) -> set[date]:
    """The local days of the range that already have incidents."""
    zone = ZoneInfo(tz)
    rows = conn.execute(
        """SELECT DISTINCT (received_at AT TIME ZONE %s)::date FROM incidents
           WHERE received_at >= %s AND received_at < %s""",
        (tz, datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)),
    ).fetchall()
    return {r[0] for r in rows}


def record_days(
    libpq_url: str,
    cache_dir,
    *,
    first: date,
    last: date,
    tz: str,
    seed: int,
    load: str | None = None,
    per_hour: float | None = None,
    timing: Timing = Timing(),
    console: Console | None = None,
) -> dict:
    """Simulates and writes the days from `first` to `last` (the real load unless a load or rate is given), with a
    progress bar per day on `console`; what was written, counted, and which days were skipped."""
    if load is not None and load not in LOAD_NAMES:
        raise HistoryError(f"unknown load {load!r} (known: {', '.join(LOAD_NAMES)})")
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    try:
        conn = psycopg.connect(libpq_url)
    except psycopg.OperationalError as exc:
        raise HistoryError(f"cannot reach the database: {str(exc).strip().splitlines()[0]}", 1) from None
    with conn:
        done = written_days(conn, first, last, tz)  # before the simulation's seconds, not after
        if len(done) == len(span):
            which = f"on {first}" if first == last else f"on every day from {first} to {last}"
            raise HistoryError(f"the database already has incidents {which}: choose other days")
        if done and console is not None:
            console.print(f"skipping {len(done)} day(s) that already have incidents: {_days_text(sorted(done))}")
        world, router = open_world(libpq_url, cache_dir)
        if per_hour is None:
            per_hour = calls_per_hour_of(world, router, load or "real", timing)
        totals = {"incidents": 0, "assignments": 0, "events": 0, "feedback": 0, "calls": 0}
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=console is None,
        ) as progress:
            task = progress.add_task("history", total=len(span) - len(done))
            for i, day in enumerate(span):
                if day in done:
                    continue
                progress.update(task, description=f"history {day}")
                calls, records = simulate_day(world, router, per_hour=per_hour, seed=seed + i, timing=timing)
                counts = write_day_on(conn, world, calls, records, day=day, tz=tz, seed=seed + i)
                for key in totals:
                    totals[key] += counts[key]
                progress.advance(task)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": len(span) - len(done),
        "skipped": [d.isoformat() for d in sorted(done)],
        "seed": seed,
        "calls_per_hour": round(per_hour, 3),
        **totals,
    }


def _days_text(days: list[date]) -> str:
    return ", ".join(d.isoformat() for d in days) if len(days) <= 5 else f"{days[0]} … {days[-1]}"
