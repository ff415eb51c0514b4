"""Exercise incidents (drills, the live simulation) stay out of every report: the response times and their units,
the distribution, the drill-down, today's panel, the workload's hours, callers' feedback and the public page.
Units' time on them is still busy time, shown apart."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dispatch.reports import drill, queries, today
from dispatch.reports.service import GroupBy, parse_period, public_response_times
from dispatch.reports.targets import Interval, load_targets
from dispatch.reports.workload import workload
from tests.builders import make_assignment, make_incident, make_unit
from tests.test_reports import PERIOD, T0, report, worked  # noqa: F401 (the fixture)

S = timedelta(seconds=1)


async def exercise_incident(session, at: datetime, **kw) -> int:
    """A 21-second response, the kind the live simulation at ten times real speed makes."""
    return await make_incident(
        session,
        received_at=at,
        priority=1,
        exercise=True,
        dispatched_at=at + 2 * S,
        on_scene_at=at + 21 * S,
        cleared_at=at + 60 * S,
        closed_at=at + 90 * S,
        **kw,
    )


async def test_the_response_time_report_leaves_exercises_out(session, worked):  # noqa: F811
    exercise = await exercise_incident(session, T0)
    unit = await make_unit(session, kind="engine")
    await make_assignment(
        session,
        incident_id=exercise,
        unit_id=unit,
        slot="engine",
        assigned_at=T0 + 2 * S,
        en_route_at=T0 + 5 * S,
        on_scene_at=T0 + 21 * S,
    )
    await session.execute(
        text("INSERT INTO feedback_requests (incident_id, token_hash, expires_at) VALUES (:i, 'x', :e)"),
        {"i": exercise, "e": T0 + timedelta(days=7)},
    )
    r = await report(session)
    p1 = r["groups"][0]
    # Exactly the figures of the worked set (test_reports): the 21 s response and its unit are not there.
    assert p1["intervals"]["response"] == {"count": 5, "p50": 500.0, "p90": 840.0, "p95": 920.0}
    assert p1["intervals"]["processing"]["count"] == 5
    assert p1["intervals"]["turnout"] == {"count": 3, "p50": 70.0, "p90": 86.0, "p95": 88.0}
    assert r["overall"]["intervals"]["processing"]["count"] == 7
    assert r["overall"]["feedback"]["offered"] == 0
    by_unit = (await report(session, GroupBy.unit))["groups"]
    assert len(by_unit) == 3  # the exercise's engine has no group
    # The distribution's first bar (0-30 s) holds the exercise alone: empty.
    bars = await queries.response_histogram(session, start=PERIOD.start, end=PERIOD.end)
    assert sum(n for _, _, n in bars) == 5 and all(bar > 0 for _, bar, _ in bars)
    # The drill-down lists the worked set's five priority-1 incidents, not the exercise.
    cell = drill.make_cell(
        PERIOD, group_by=GroupBy.priority, key="1", interval=Interval.response, target=None, late=False
    )
    count, rows = await drill.page(session, cell, limit=50, offset=0)
    assert count == 5 and exercise not in {row["id"] for row in rows}


async def test_the_public_page_and_the_hours_grid_leave_exercises_out(session):
    month = parse_period("2031-03-01", "2031-03-31", "Europe/Vaduz")
    at = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
    for k, seconds in enumerate((300, 360, 420, 480, 600)):
        real = at + k * timedelta(minutes=5)
        await make_incident(session, received_at=real, municipality="Übungsdorf", on_scene_at=real + seconds * S)
    for k in range(3):
        await exercise_incident(session, at + k * S, municipality="Übungsdorf")
    public = await public_response_times(session, period=month, min_count=5)
    town = next(m for m in public["months"] if m["municipality"] == "Übungsdorf")
    assert (town["incidents"], town["responses"], town["all_priorities"]) == (5, 5, {"p50_s": 420, "p90_s": 552})
    hours = (await workload(session, period=month))["hours"]
    assert sum(h["incidents"] for h in hours) == 5


async def test_units_on_exercises_are_busy_and_their_exercise_time_is_shown(session):
    day = parse_period("2031-04-02", "2031-04-02", "Europe/Vaduz")
    at = datetime(2031, 4, 2, 8, 0, tzinfo=UTC)
    unit = await make_unit(session, kind="engine", call_sign="EX-E1")
    real = await make_incident(session, received_at=at)
    drill_one = await make_incident(session, received_at=at, exercise=True)
    await make_assignment(
        session, incident_id=real, unit_id=unit, slot="engine", assigned_at=at, cleared_at=at + 600 * S
    )
    later = at + timedelta(hours=1)
    await make_assignment(
        session, incident_id=drill_one, unit_id=unit, slot="engine", assigned_at=later, cleared_at=later + 300 * S
    )
    report = await workload(session, period=day)
    row = next(u for u in report["units"] if u["call_sign"] == "EX-E1")
    assert (row["assignments"], row["busy_s"], row["exercise_s"]) == (2, 900.0, 300.0)
    no_station = next(s for s in report["stations"] if s["station"] is None)  # EX-E1 has no home station
    assert no_station["exercise_s"] >= 300.0


async def test_today_leaves_exercises_out_and_says_how_many(session):
    now = datetime(2031, 1, 15, 12, 0, tzinfo=UTC)
    before = await today.today(session, tz="Europe/Vaduz", targets=load_targets(), now=now)
    await make_incident(session, received_at=T0, priority=1, on_scene_at=T0 + 300 * S)
    await exercise_incident(session, T0)
    drill_on_scene = await exercise_incident(session, T0 + S, status="on_scene")  # open: not waiting, not open
    unit = await make_unit(session, kind="engine")
    await make_assignment(
        session, incident_id=drill_on_scene, unit_id=unit, slot="engine", assigned_at=T0, status="on_scene"
    )
    await make_incident(session, received_at=T0, priority=2, status="pending")
    r = await today.today(session, tz="Europe/Vaduz", targets=load_targets(), now=now)
    assert r["calls"] - before["calls"] == 2
    assert r["exercise"] - before["exercise"] == 2
    assert r["by_priority"]["1"] - before["by_priority"].get("1", 0) == 1
    assert r["p1"]["responses"] - before["p1"]["responses"] == 1
    assert r["open"] - before["open"] == 1  # the pending real one; the open exercise is not counted
    assert r["units"]["on_exercise"] - before["units"]["on_exercise"] == 1  # the engine on the drill
