"""The workload report (GET /api/reports/units): busy, on-scene and out-of-service seconds clipped to the period on
hand-worked data, station sums, the 168 hours of the week, zeros for a unit with no work; the unit status log
written by every path that changes a unit's status; roles and bad periods."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents.lifecycle import stand_down
from dispatch.matching.service import write_dispatch
from dispatch.reports.service import parse_period
from dispatch.reports.workload import workload
from dispatch.units.models import UnitStatus
from dispatch.units.service import change_status
from tests.builders import make_assignment, make_incident, make_unit
from tests.test_dispatch_write import PLAN, pick

TZ = "Europe/Vaduz"
DAY = parse_period("2019-01-15", "2019-01-15", TZ)  # a Tuesday in winter: local is UTC+1
S, E = DAY.start, DAY.end  # 2019-01-14 23:00 UTC and 2019-01-15 23:00 UTC
SEC = timedelta(seconds=1)
LONG_AGO = datetime(2018, 12, 1, 12, tzinfo=UTC)  # the assignments' incidents: in neither period


async def station(session, name: str) -> int:
    return await session.scalar(
        text("""INSERT INTO stations (kind, name, location)
                VALUES ('fire', :n, ST_SetSRID(ST_MakePoint(9.52, 47.14), 4326)::geography) RETURNING id"""),
        {"n": name},
    )


async def unit_at(session, station_id: int, call_sign: str) -> int:
    unit = await make_unit(session, call_sign=call_sign)
    await session.execute(text("UPDATE units SET home_station_id = :s WHERE id = :u"), {"s": station_id, "u": unit})
    return unit


async def job(session, unit: int, start_s: float, end_s: float, *, on_scene_s: float | None = None, taken_off=False):
    """An assignment from S + start_s to S + end_s (cleared, or cancelled when taken off)."""
    incident = await make_incident(session, received_at=LONG_AGO)
    end = {"cancelled_at" if taken_off else "cleared_at": S + end_s * SEC}
    if on_scene_s is not None:
        end["on_scene_at"] = S + on_scene_s * SEC
    await make_assignment(
        session,
        incident_id=incident,
        unit_id=unit,
        slot="engine",
        assigned_at=S + start_s * SEC,
        status="cancelled" if taken_off else "cleared",
        **end,
    )


async def log_status(session, unit: int, at_s: float, status: str, previous: str) -> None:
    """An entry as the trigger writes it, at S + at_s."""
    await session.execute(
        text("""INSERT INTO unit_status_log (unit_id, at, status, previous)
                VALUES (:u, :at, CAST(:s AS unit_status), CAST(:p AS unit_status))"""),
        {"u": unit, "at": S + at_s * SEC, "s": status, "p": previous},
    )


@pytest.fixture
async def worked(session):
    """North: WL-A (busy 900 + 1800 + 1000 s, its second and third jobs overlapping; on scene 900 + 1200 + 400 s)
    and WL-B (taken off after 120 s; out of service from before the period to 1800 s in, and for its last 600 s).
    South: WL-C, no work at all."""
    day_s = 86400
    north, south = await station(session, "WL North"), await station(session, "WL South")
    a, b = await unit_at(session, north, "WL-A"), await unit_at(session, north, "WL-B")
    await unit_at(session, south, "WL-C")
    await job(session, a, -7200, -3600, on_scene_s=-7000)  # over before the period: not counted
    await job(session, a, -600, 900, on_scene_s=-300)  # clipped at the start: 900 busy, 900 on scene
    await job(session, a, 3600, 5100, on_scene_s=3900)  # 1500 busy, 1200 on scene
    await job(session, a, 4000, 5400, taken_off=True)  # overlaps the one before: 300 s more
    await job(session, a, day_s - 1000, day_s + 2000, on_scene_s=day_s - 400)  # clipped at the end: 1000, 400
    await job(session, b, 7200, 7320, taken_off=True)
    await log_status(session, b, -7200, "returning", "on_scene")  # the last entry before a spell: not read
    await log_status(session, b, -3600, "out_of_service", "returning")
    await log_status(session, b, 1800, "available", "out_of_service")
    await log_status(session, b, 3000, "returning", "available")  # neither begins nor ends a spell
    await log_status(session, b, day_s - 600, "out_of_service", "returning")
    await log_status(session, b, day_s + 60, "available", "out_of_service")


def mine(rows: list[dict], key: str, prefix: str) -> dict:
    return {r[key]: r for r in rows if (r[key] or "").startswith(prefix)}


async def test_busy_on_scene_and_out_of_service_seconds_are_clipped_to_the_period(session, worked):
    report = await workload(session, period=DAY)
    assert report["period_s"] == 86400.0 and report["time_zone"] == TZ
    assert report["from"] == "2019-01-14T23:00:00+00:00" and report["to"] == "2019-01-15T23:00:00+00:00"
    units = mine(report["units"], "call_sign", "WL-")
    assert units["WL-A"] == {
        "call_sign": "WL-A",
        "kind": "engine",
        "station": "WL North",
        "assignments": 4,
        "busy_s": 3700.0,
        "utilisation": round(3700 / 86400, 4),
        "out_of_service_s": 0.0,
        "on_scene_s": 2500.0,
        "exercise_s": 0.0,
    }
    assert (units["WL-B"]["assignments"], units["WL-B"]["busy_s"], units["WL-B"]["on_scene_s"]) == (1, 120.0, 0.0)
    assert units["WL-B"]["out_of_service_s"] == 1800.0 + 600.0
    assert units["WL-C"] == {
        "call_sign": "WL-C",
        "kind": "engine",
        "station": "WL South",
        "assignments": 0,
        "busy_s": 0.0,
        "utilisation": 0.0,
        "out_of_service_s": 0.0,
        "on_scene_s": 0.0,
        "exercise_s": 0.0,
    }
    stations = mine(report["stations"], "station", "WL ")
    assert stations["WL North"] == {
        "station": "WL North",
        "units": 2,
        "assignments": 5,
        "busy_s": 3820.0,
        "utilisation": round(3820 / (2 * 86400), 4),
        "exercise_s": 0.0,
        "out_of_service_s": 2400.0,
    }
    assert stations["WL South"] == {
        "station": "WL South",
        "units": 1,
        "assignments": 0,
        "busy_s": 0.0,
        "utilisation": 0.0,
        "exercise_s": 0.0,
        "out_of_service_s": 0.0,
    }


async def test_a_spell_still_open_counts_until_the_period_ends_and_a_later_period_sees_none(session, worked):
    # The last hour of the day: out of service from 600 s before the end, the period's end clips it.
    last_hour = parse_period("2019-01-15T23:00", "2019-01-16T00:00", TZ)
    rows = mine((await workload(session, period=last_hour))["units"], "call_sign", "WL-")
    assert rows["WL-B"]["out_of_service_s"] == 600.0 and rows["WL-A"]["busy_s"] == 1000.0
    next_day = parse_period("2019-01-16", "2019-01-16", TZ)  # back in service 60 s into it
    rows = mine((await workload(session, period=next_day))["units"], "call_sign", "WL-")
    assert rows["WL-B"]["out_of_service_s"] == 60.0 and rows["WL-A"]["busy_s"] == 2000.0


async def test_the_hours_of_the_week_are_all_there_with_the_incidents_received_in_each(session):
    week = parse_period("2019-01-14", "2019-01-20", TZ)  # Monday to Sunday, local
    local = lambda day, h, m: datetime(2019, 1, day, h, m, tzinfo=UTC) - timedelta(hours=1)  # noqa: E731
    for at in (local(14, 8, 5), local(14, 8, 55), local(16, 23, 59), local(20, 0, 10), local(14, 0, 0)):
        await make_incident(session, received_at=at)
    await make_incident(session, received_at=local(14, 8, 30), status="cancelled")  # left out
    await make_incident(session, received_at=local(13, 23, 59))  # the Sunday before
    await make_incident(session, received_at=local(21, 0, 0))  # the Monday after
    hours = (await workload(session, period=week))["hours"]
    assert len(hours) == 168
    assert [(h["weekday"], h["hour"]) for h in hours] == [(d, h) for d in range(1, 8) for h in range(24)]
    counts = {(h["weekday"], h["hour"]): h["incidents"] for h in hours if h["incidents"]}
    assert counts == {(1, 8): 2, (3, 23): 1, (7, 0): 1, (1, 0): 1}


async def test_every_path_that_changes_a_units_status_leaves_it_in_the_log(session):
    unit = await make_unit(session)  # created: logged with no previous status
    incident = await make_incident(session, received_at=datetime.now(UTC), status="pending", type_code="FIRE-OTHER")
    await write_dispatch(session, incident_id=incident, picks=[pick(unit)], plan=PLAN, actor="m", mode="auto")
    await change_status(session, unit_id=unit, status=UnitStatus.out_of_service, actor="unit:t", by_dispatcher=False)
    await change_status(session, unit_id=unit, status=UnitStatus.available, actor="unit:t", by_dispatcher=False)
    await change_status(session, unit_id=unit, status=UnitStatus.available, actor="unit:t", by_dispatcher=True)
    again = await make_incident(session, received_at=datetime.now(UTC), status="pending", type_code="FIRE-OTHER")
    await write_dispatch(session, incident_id=again, picks=[pick(unit)], plan=PLAN, actor="m", mode="auto")
    await stand_down(session, again, "dispatcher:t")  # the incident is over: its unit is free again
    rows = (
        await session.execute(
            text("SELECT previous::text, status::text FROM unit_status_log WHERE unit_id = :u ORDER BY id"),
            {"u": unit},
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (None, "available"),
        ("available", "dispatched"),
        ("dispatched", "out_of_service"),
        ("out_of_service", "available"),  # the repeat that follows changes nothing and is not logged
        ("available", "dispatched"),
        ("dispatched", "available"),
    ]
    u = unit
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE unit_status_log SET status = 'available' WHERE unit_id = :u"), {"u": u})


async def test_the_api_answers_commanders_and_admins_and_no_one_else(client, auth, worked):
    params = {"from": "2019-01-15", "to": "2019-01-15"}
    r = await client.get("/api/reports/units", params=params, headers=await auth(Role.commander))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"from", "to", "time_zone", "period_s", "units", "stations", "hours"}
    assert mine(body["units"], "call_sign", "WL-")["WL-A"]["busy_s"] == 3700.0
    assert len(body["hours"]) == 168
    assert (await client.get("/api/reports/units", params=params, headers=await auth(Role.admin))).status_code == 200
    for role in (Role.dispatcher, Role.call_taker):
        assert (await client.get("/api/reports/units", params=params, headers=await auth(role))).status_code == 403


@pytest.mark.parametrize(
    "params, words",
    [
        ({"from": "2019-02-30", "to": "2019-03-01"}, "'from' must be a date"),
        ({"from": "2019-03-01", "to": "2019-02-01"}, "must be after"),
        ({"from": "2010-01-01", "to": "2019-01-01"}, "at most 5 years"),
        ({"to": "2019-01-31"}, "from"),
    ],
)
async def test_a_bad_period_is_422_with_a_message(client, auth, params, words):
    r = await client.get("/api/reports/units", params=params, headers=await auth(Role.commander))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.json()["detail"]
