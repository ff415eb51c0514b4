"""Simulated past days written as history, many at once: the real load's rate, each day from its own seed, each
day written once, and the command's refusals."""

import io
import tomllib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from rich.console import Console

from dispatch.incidents.types import TYPES_FILE
from geo.routing import Router
from simulator.backfill import record_days
from simulator.calls import generate
from simulator.demo import history_start
from simulator.history import HistoryError, simulate_day
from simulator.loads import real_calls_per_hour
from simulator.world import load_world

FIRST, LAST = date(2020, 6, 1), date(2020, 6, 3)  # long past, and no other test's days
TZ = "Europe/Vaduz"
SEED = 5


@pytest.fixture(scope="module")
def world_and_router(settings, imported_map):
    router = Router.load(settings.libpq_url, settings.route_cache_dir)
    return load_world(settings.libpq_url, router), router


@pytest.fixture(scope="module")
def written(settings, world_and_router):
    out = io.StringIO()
    result = record_days(
        settings.libpq_url,
        settings.route_cache_dir,
        first=FIRST,
        last=LAST,
        tz=TZ,
        seed=SEED,
        console=Console(file=out, width=120),
    )
    return result, out.getvalue()


def day_rows(libpq_url: str, day: date) -> list[tuple]:
    start = datetime.combine(day, time(), ZoneInfo(TZ))
    with psycopg.connect(libpq_url) as conn:
        return conn.execute(
            """SELECT received_at, type_code, priority FROM incidents
               WHERE received_at >= %s AND received_at < %s ORDER BY received_at, id""",
            (start, start + timedelta(days=1)),
        ).fetchall()


def test_the_real_load_comes_to_the_lrk_missions_a_year(world_and_router):
    world, _ = world_and_router
    # Worked out again from the types table itself: the share of the calls whose plan asks for an ambulance.
    table = tomllib.loads(TYPES_FILE.read_text())
    simulated = [t for t in table["type"] if t.get("share", 0) > 0 and t["plan"]]
    share = sum(t["share"] for t in simulated if "ambulance" in t["plan"]) / sum(t["share"] for t in simulated)
    assert 0.3 < share < 0.7
    assert real_calls_per_hour(world) == pytest.approx(2186 / (366 * 24) / share)
    # A leap year of calls at that rate has about 2,186 that need an ambulance (Poisson: within 5 %).
    calls = generate(world, per_hour=real_calls_per_hour(world), hours=366 * 24, seed=3)
    needing = sum(any(slot.capability == "ambulance" for slot in c.plan) for c in calls)
    assert abs(needing - 2186) < 0.05 * 2186


def test_every_day_is_what_its_own_seed_gives(written, world_and_router, settings):
    result, shown = written
    world, router = world_and_router
    assert result["days"] == 3 and result["skipped"] == [] and "3/3" in shown
    per_hour = real_calls_per_hour(world)
    assert result["calls_per_hour"] == round(per_hour, 3)
    total = 0
    for i in range(3):
        day = FIRST + timedelta(days=i)
        calls, _ = simulate_day(world, router, per_hour=per_hour, seed=SEED + i)
        start = datetime.combine(day, time(), ZoneInfo(TZ))
        rows = day_rows(settings.libpq_url, day)
        assert [(r[1], r[2]) for r in rows] == [(c.type_code, c.priority) for c in calls]
        assert [r[0] for r in rows] == [start + timedelta(seconds=c.t) for c in calls]
        total += len(rows)
    assert result["incidents"] == total > 10  # about a dozen incidents a day at the real load


def test_a_written_day_is_skipped_and_a_written_range_refused(written, settings):
    before = {FIRST + timedelta(days=i): day_rows(settings.libpq_url, FIRST + timedelta(days=i)) for i in range(3)}
    out = io.StringIO()
    again = record_days(
        settings.libpq_url,
        settings.route_cache_dir,
        first=FIRST,
        last=LAST + timedelta(days=1),
        tz=TZ,
        seed=SEED,
        console=Console(file=out, width=200),
    )
    assert again["days"] == 1 and again["skipped"] == ["2020-06-01", "2020-06-02", "2020-06-03"]
    assert "skipping 3 day(s) that already have incidents: 2020-06-01, 2020-06-02, 2020-06-03" in out.getvalue()
    for day, rows in before.items():
        assert day_rows(settings.libpq_url, day) == rows  # each written once
    assert again["incidents"] == len(day_rows(settings.libpq_url, LAST + timedelta(days=1))) > 0
    with pytest.raises(HistoryError, match="already has incidents on every day from 2020-06-01 to 2020-06-04"):
        record_days(
            settings.libpq_url, settings.route_cache_dir, first=FIRST, last=LAST + timedelta(days=1), tz=TZ, seed=1
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days must be 1 to 400, got 0"),
        (["--from", "2020-06-05", "--to", "2020-06-01"], "--from 2020-06-05 is after --to 2020-06-01"),
        (["--from", "2020-13-01", "--to", "2020-06-01"], "--from must be a date like 2026-11-28"),
        (["--to", "2999-01-01"], "a history ends yesterday"),
        (["--day", "2020-06-01", "--days", "3"], "give --day, or --from/--to, or --days, not several"),
        (["--from", "2019-01-01", "--to", "2020-06-01"], "at most 400 days at once, not 518"),
        (["--day", "2020-06-01", "--load", "nope"], "unknown load 'nope' (known: quiet, real, normal, busy, surge)"),
    ],
)
def test_the_command_refuses_bad_values(args, message, settings, monkeypatch):
    from typer.testing import CliRunner

    from dispatch.cli import app
    from dispatch.config import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["simulate", "--history", *args])
        assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    finally:
        get_settings.cache_clear()


def test_the_demo_history_starts_three_months_back():
    assert history_start(date(2026, 12, 5)) == date(2026, 9, 1)
    assert history_start(date(2027, 1, 31)) == date(2026, 10, 1)
    assert history_start(date(2026, 3, 1)) == date(2025, 12, 1)


def test_simulated_callers_have_numbers_of_the_centres_country():
    """+423 for a centre on Liechtenstein's clock, +358 on Finland's; +999 (unassigned) where the zone's country is
    not known."""
    import random

    from simulator.phone import caller_number

    assert caller_number(random.Random(1), "Europe/Vaduz").startswith("+423 7")
    assert caller_number(random.Random(1), "Europe/Helsinki").startswith("+358 7")
    assert caller_number(random.Random(1), "Etc/UTC").startswith("+999 7")
