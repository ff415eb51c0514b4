"""A simulated day written as history: reproducible from its seed, consistent with its own event log, and read by
the report like any other day."""

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import text

from dispatch.incidents.events import replay
from dispatch.reports import service
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import load_targets
from geo.routing import Router
from simulator.history import COMMENTS, HistoryError, caller_comment, simulate_day, write_day
from simulator.world import load_world

DAY = date(2020, 5, 5)  # long past: no intake test's duplicate or premise window reaches it
AGAIN = date(2020, 5, 19)  # the same simulated day written once more


@pytest.fixture(scope="module")
def simulated(settings, imported_map):
    router = Router.load(settings.libpq_url, settings.route_cache_dir)
    world = load_world(settings.libpq_url, router)
    calls, records = simulate_day(world, router, per_hour=9.0, seed=11)
    written = write_day(settings.libpq_url, world, calls, records, day=DAY, tz="Europe/Vaduz", seed=11)
    return world, router, calls, records, written


def test_the_same_seed_gives_the_same_day(simulated):
    world, router, calls, records, _ = simulated
    again_calls, again_records = simulate_day(world, router, per_hour=9.0, seed=11)
    assert again_calls == calls and again_records == records


def test_every_call_is_written_with_its_units_and_events(simulated, settings):
    _, _, calls, records, written = simulated
    assert written["incidents"] == len(calls) > 20 and written["assignments"] == len(records)
    start = datetime.combine(DAY, datetime.min.time(), ZoneInfo("Europe/Vaduz"))
    with psycopg.connect(settings.libpq_url) as conn:
        rows = conn.execute(
            """SELECT id, priority, received_at, dispatched_at, acknowledged_at, en_route_at,
                                      on_scene_at, cleared_at, closed_at, status::text
                               FROM incidents WHERE received_at >= %s AND received_at < %s ORDER BY id""",
            (start, start + timedelta(days=1)),
        ).fetchall()
        assert len(rows) == len(calls)
        # A day this busy has units taken off lower-priority calls: their assignments end as diverted.
        assert (
            conn.execute(
                "SELECT count(*) FROM incident_events WHERE kind = 'diverted' AND at >= %s AND at < %s",
                (start, start + timedelta(days=2)),
            ).fetchone()[0]
            > 0
        )
        for row in rows:
            events = conn.execute(
                "SELECT kind, at, payload FROM incident_events WHERE incident_id = %s ORDER BY at, id", (row[0],)
            ).fetchall()
            state = replay(events)
            # The incident row is what its event log says it is, as for every incident the service writes.
            assert (
                state.priority,
                state.received_at,
                state.dispatched_at,
                state.acknowledged_at,
                state.en_route_at,
                state.on_scene_at,
                state.cleared_at,
                state.closed_at,
                state.status,
            ) == row[1:], row[0]
            assert row[2] <= row[3] <= row[5] <= row[6] <= row[7] <= row[8]


async def test_the_report_reads_the_day(simulated, session):
    _, _, calls, records, written = simulated
    report = await service.response_times(
        session,
        period=parse_period(DAY.isoformat(), DAY.isoformat(), "Europe/Vaduz"),
        group_by=GroupBy.priority,
        targets=load_targets(),
    )
    overall = report["overall"]
    assert overall["intervals"]["response"]["count"] == len(calls)
    # Every assignment whose unit got under way has a turnout (one taken off before it rolled has none).
    assert overall["intervals"]["turnout"]["count"] == sum(r.en_route is not None for r in records)
    assert written["assignments"] == len(records)
    assert overall["feedback"]["answered"] == written["feedback"] > 0
    assert sum(g["intervals"]["processing"]["count"] for g in report["groups"]) == len(calls)


async def test_side_by_side_statements_give_the_same_report(simulated, session, engine):
    from sqlalchemy.ext.asyncio import async_sessionmaker

    period = parse_period(DAY.isoformat(), DAY.isoformat(), "Europe/Vaduz")
    for grouping in (GroupBy.municipality, GroupBy.unit):
        alone = await service.response_times(session, period=period, group_by=grouping, targets=load_targets())
        side_by_side = await service.response_times(
            session, period=period, group_by=grouping, targets=load_targets(), sessions=async_sessionmaker(engine)
        )
        assert side_by_side == alone and alone["groups"]
    # The whole report splits each level's six groupings over two statements.
    alone = await service.full_report(session, period=period, targets=load_targets())
    side_by_side = await service.full_report(
        session, period=period, targets=load_targets(), sessions=async_sessionmaker(engine)
    )
    assert side_by_side == alone and all(report["groups"] for report in alone["by"].values())


async def test_the_workload_report_reads_the_units_times_of_the_day(simulated, session):
    """Busy from assignment to the moment the simulation freed or diverted the unit, on scene from arrival; the
    simulation puts no unit out of service, and the history invents none."""
    from dispatch.reports.workload import workload

    _, _, calls, records, _ = simulated
    # Two local days: the simulation runs on past midnight until its last unit is free.
    period = parse_period(DAY.isoformat(), (DAY + timedelta(days=1)).isoformat(), "Europe/Vaduz")
    report = await workload(session, period=period)
    rows = {row["call_sign"]: row for row in report["units"]}
    by_id = {unit_id: rows[sign] for sign, unit_id in (await session.execute(text("SELECT call_sign, id FROM units")))}
    for unit_id in {r.unit_id for r in records}:
        mine = [r for r in records if r.unit_id == unit_id]
        row = by_id[unit_id]
        assert row["assignments"] == len(mine)
        assert row["busy_s"] == pytest.approx(sum(r.left - r.assigned for r in mine), abs=0.1 * len(mine))
        arrived = [r for r in mine if r.on_scene is not None]
        assert row["on_scene_s"] == pytest.approx(sum(r.left - r.on_scene for r in arrived), abs=0.1 * len(mine))
        assert row["out_of_service_s"] == 0.0
    assert sum(h["incidents"] for h in report["hours"]) == len(calls)


def test_a_day_is_written_once(simulated, settings):
    world, _, calls, records, _ = simulated
    with pytest.raises(HistoryError, match="already has incidents on 2020-05-05"):
        write_day(settings.libpq_url, world, calls, records, day=DAY, tz="Europe/Vaduz", seed=11)


def test_the_command_refuses_a_written_day_and_a_bad_one_at_once(simulated, settings, monkeypatch):
    from typer.testing import CliRunner

    from dispatch.cli import app
    from dispatch.config import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        written = runner.invoke(app, ["simulate", "--history", "--day", DAY.isoformat()])
        assert written.exit_code == 2 and "already has incidents on 2020-05-05" in written.output
        bad = runner.invoke(app, ["simulate", "--history", "--day", "yesterday"])
        assert bad.exit_code == 2 and "--day must be a date like 2026-11-28" in bad.output
    finally:
        get_settings.cache_clear()


def _answers(conn, day: date) -> list[tuple]:
    start = datetime.combine(day, datetime.min.time(), ZoneInfo("Europe/Vaduz"))
    return conn.execute(
        """SELECT f.satisfaction, f.complaint, f.comment
           FROM feedback_requests f JOIN incidents i ON i.id = f.incident_id
           WHERE i.received_at >= %s AND i.received_at < %s ORDER BY i.received_at, i.id""",
        (start, start + timedelta(days=1)),
    ).fetchall()


def test_a_share_of_callers_comment_as_their_score_reads_the_same_from_the_same_seed(simulated, settings):
    world, _, calls, records, written = simulated
    write_day(settings.libpq_url, world, calls, records, day=AGAIN, tz="Europe/Vaduz", seed=11)
    with psycopg.connect(settings.libpq_url) as conn:
        first, again = _answers(conn, DAY), _answers(conn, AGAIN)
    assert first == again and len(first) == len(calls)
    answered = [a for a in first if a[0] is not None]
    assert len(answered) == written["feedback"]
    commented = [a for a in answered if a[2]]
    assert 0.15 < len(commented) / len(answered) < 0.5, (len(commented), len(answered))
    assert all(comment in COMMENTS[score] for score, _, comment in commented)
    assert all(comment is None for score, _, comment in first if score is None)
    complaints = [a for a in answered if a[1]]
    assert sum(bool(a[2]) for a in complaints) >= 0.8 * len(complaints)  # the pure test below draws many


def test_complaints_nearly_always_carry_a_comment_and_the_draws_repeat():
    def draws():
        return [caller_comment(random.Random(f"history-comments:{seed}"), 1, complaint=True) for seed in range(400)]

    first = draws()
    assert sum(d is not None for d in first) > 0.8 * len(first)
    assert all(d in COMMENTS[1] for d in first if d)
    assert draws() == first
    praise = [caller_comment(random.Random(seed), 5, complaint=False) for seed in range(400)]
    assert 0.2 < sum(p is not None for p in praise) / 400 < 0.36
    assert all("Thank" in p for p in praise if p)
