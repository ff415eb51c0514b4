"""The report grouped by station and weekday, and the incidents behind a cell (the drill-down): hand-built incidents
with known intervals, the report's exclusions, targets and lateness, roles and bad requests."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents.types import incident_types
from dispatch.reports import drill, service
from dispatch.reports.routes import report_sessions
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import load_targets
from tests.builders import make_assignment, make_incident, make_unit

T0 = datetime(2031, 1, 15, 7, 30, tzinfo=UTC)  # a Wednesday, 08:30 in Vaduz (CET)
S = timedelta(seconds=1)
H = timedelta(hours=1)
URL = "/api/reports/incidents"
MONTH = {"from": "2031-01-01", "to": "2031-01-31"}


async def make_station(session, name: str) -> int:
    return await session.scalar(
        text("""INSERT INTO stations (kind, name, location)
                VALUES ('fire', :n, ST_MakePoint(9.52, 47.14)::geography) RETURNING id"""),
        {"n": name},
    )


async def home(session, unit_id: int, station_id: int) -> None:
    await session.execute(text("UPDATE units SET home_station_id = :s WHERE id = :u"), {"s": station_id, "u": unit_id})


@pytest.fixture
async def cell(session):
    """Wednesday: I1 (P1, Vaduz, processing 10, response 300 s; E1 of Vaduz Fire turnout 70, travel 220, first on
    scene; A1 of Schaan Fire turnout 50, travel 300), I2 (P1, Schaan, response 600 s; E2 of no station turnout 90,
    travel 490), I6 (P1, response 400 s, no units), a cancelled one and a merged duplicate. Thursday: I3 (P2, FALL,
    processing 50, nobody on scene; E1 turnout 40, then diverted)."""
    vaduz, schaan = await make_station(session, "Vaduz Fire"), await make_station(session, "Schaan Fire")
    e1 = await make_unit(session, call_sign="Drill E1", kind="engine")
    a1 = await make_unit(session, call_sign="Drill A1", kind="ambulance")
    e2 = await make_unit(session, call_sign="Drill E2", kind="engine")
    await home(session, e1, vaduz)
    await home(session, a1, schaan)

    def times(at, processing, response=None):
        out = {"dispatched_at": at + processing * S}
        if response is not None:
            out |= {"on_scene_at": at + response * S, "cleared_at": at + (response + 600) * S}
            out |= {"closed_at": at + 1200 * S}
        return out

    i1 = await make_incident(session, received_at=T0, **times(T0, 10, 300))
    await session.execute(
        text("UPDATE incidents SET address_label = 'Städtle 1', disposition = 'treated' WHERE id = :i"), {"i": i1}
    )
    t = T0 + 10 * S
    await make_assignment(
        session,
        incident_id=i1,
        unit_id=e1,
        slot="engine",
        assigned_at=t,
        en_route_at=t + 70 * S,
        on_scene_at=T0 + 300 * S,
    )
    await make_assignment(
        session,
        incident_id=i1,
        unit_id=a1,
        slot="ambulance",
        assigned_at=t,
        en_route_at=t + 50 * S,
        on_scene_at=t + 350 * S,
    )
    await session.execute(
        text("UPDATE assignments SET eta_s = 200 WHERE incident_id = :i AND unit_id = :u"), {"i": i1, "u": e1}
    )
    at = T0 + H
    i2 = await make_incident(session, received_at=at, municipality="Schaan", **times(at, 20, 600))
    t = at + 20 * S
    await make_assignment(
        session,
        incident_id=i2,
        unit_id=e2,
        slot="engine",
        assigned_at=t,
        en_route_at=t + 90 * S,
        on_scene_at=at + 600 * S,
    )
    at = T0 + 3 * H
    i6 = await make_incident(session, received_at=at, **times(at, 30, 400))
    await make_incident(session, received_at=T0 + 2 * H, status="cancelled", **times(T0 + 2 * H, 5, 100))
    dup = await make_incident(session, received_at=T0 + 2 * H, status="cancelled", **times(T0 + 2 * H, 5, 100))
    await session.execute(text("UPDATE incidents SET duplicate_of_id = :o WHERE id = :d"), {"o": i1, "d": dup})
    at = T0 + 24 * H
    i3 = await make_incident(
        session, received_at=at, priority=2, type_code="FALL", status="dispatched", **times(at, 50)
    )
    t = at + 50 * S
    await make_assignment(
        session,
        incident_id=i3,
        unit_id=e1,
        slot="engine",
        status="cancelled",
        assigned_at=t,
        en_route_at=t + 40 * S,
        cancelled_at=t + 100 * S,
    )
    await session.execute(
        text("""INSERT INTO incident_events (incident_id, at, kind, actor, payload)
                VALUES (:i, :at, 'diverted', 'matcher',
                        jsonb_build_object('unit_id', CAST(:u AS bigint), 'to', CAST(:o AS bigint)))"""),
        {"i": i3, "at": t + 100 * S, "u": e1, "o": i1},
    )
    return {"i1": i1, "i2": i2, "i3": i3, "i6": i6}


@pytest.fixture
def one_session(app):
    app.dependency_overrides[report_sessions] = lambda: None


async def report(session, group_by):
    period = parse_period("2031-01-01", "2031-01-31", "Europe/Vaduz")
    return await service.response_times(session, period=period, group_by=group_by, targets=load_targets())


async def test_stations_group_the_unit_intervals_of_their_units(session, cell):
    r = await report(session, GroupBy.station)
    groups = {g["key"]: g["intervals"] for g in r["groups"]}
    assert list(groups) == ["(none)", "Schaan Fire", "Vaduz Fire"]  # byte order; a unit of no station is "(none)"
    # Vaduz Fire's E1: turnout 70 and 40 s (the diverted run counts its turnout), travel 220 s.
    assert groups["Vaduz Fire"]["turnout"] == {"count": 2, "p50": 55.0, "p90": 67.0, "p95": 68.5}
    assert groups["Vaduz Fire"]["travel"] == {"count": 1, "p50": 220.0, "p90": 220.0, "p95": 220.0}
    assert groups["Schaan Fire"]["travel"]["p50"] == 300.0 and groups["(none)"]["turnout"]["p50"] == 90.0
    assert all(g["processing"]["count"] == 0 for g in groups.values())  # incident intervals have no station
    assert r["overall"]["intervals"]["processing"]["count"] == 4


async def test_weekdays_are_iso_days_of_the_local_received_time(session, cell):
    late = datetime(2031, 1, 18, 23, 30, tzinfo=UTC)  # Saturday 23:30 UTC is Sunday 00:30 in Vaduz
    await make_incident(session, received_at=late, dispatched_at=late + 45 * S)
    groups = {g["key"]: g["intervals"] for g in (await report(session, GroupBy.weekday))["groups"]}
    assert list(groups) == ["3", "4", "7"]
    assert groups["3"]["processing"] == {"count": 3, "p50": 20.0, "p90": 28.0, "p95": 29.0}  # 10, 20, 30 s
    assert groups["3"]["turnout"]["count"] == 3 and groups["4"]["turnout"]["p50"] == 40.0
    assert groups["7"]["processing"]["p50"] == 45.0


async def ask(client, auth, **params):
    r = await client.get(URL, params={**MONTH, **params}, headers=await auth(Role.commander))
    assert r.status_code == 200, r.text
    return r.json()


def ids(answer) -> list[int]:
    return [i["id"] for i in answer["items"]]


async def test_all_incidents_longest_response_first_and_the_exclusions(client, auth, cell, one_session):
    r = await ask(client, auth)
    assert r["count"] == 4  # the cancelled incident and the merged duplicate are not there
    assert ids(r) == [cell["i2"], cell["i6"], cell["i1"], cell["i3"]]  # 600, 400, 300 s, then nobody on scene
    first = next(i for i in r["items"] if i["id"] == cell["i1"])
    assert first == {
        "id": cell["i1"],
        "received_at": "2031-01-15T08:30:00+01:00",
        "priority": 1,
        "type_code": "CARDIAC",
        "type_name": incident_types().get("CARDIAC").name,
        "municipality": "Vaduz",
        "address": "Städtle 1",
        "status": "closed",
        "disposition": "treated",
        "processing": 10.0,
        "response": 300.0,
        "on_scene": 600.0,
        "total": 1200.0,
        "first_unit": "Drill E1",
        "units": [
            {
                "call_sign": "Drill E1",
                "station": "Vaduz Fire",
                "slot": "engine",
                "eta_s": 200.0,
                "turnout": 70.0,
                "travel": 220.0,
                "diverted": False,
            },
            {
                "call_sign": "Drill A1",
                "station": "Schaan Fire",
                "slot": "ambulance",
                "eta_s": None,
                "turnout": 50.0,
                "travel": 300.0,
                "diverted": False,
            },
        ],
        "late": None,
    }
    diverted = r["items"][3]
    assert diverted["units"] == [
        {
            "call_sign": "Drill E1",
            "station": "Vaduz Fire",
            "slot": "engine",
            "eta_s": None,
            "turnout": 40.0,
            "travel": None,
            "diverted": True,
        }
    ]
    assert (diverted["response"], diverted["first_unit"], diverted["status"]) == (None, None, "dispatched")
    page = await ask(client, auth, limit=2, offset=1, interval="processing")  # 50, 30, 20, 10 s
    assert (page["count"], ids(page)) == (4, [cell["i6"], cell["i2"]])


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"group_by": "weekday", "key": "3"}, ["i2", "i6", "i1"]),
        ({"group_by": "weekday", "key": "4"}, ["i3"]),
        ({"group_by": "priority", "key": "2"}, ["i3"]),
        ({"group_by": "municipality", "key": "Schaan"}, ["i2"]),
        ({"group_by": "type", "key": "FALL"}, ["i3"]),
        ({"group_by": "hour", "key": "9"}, ["i2"]),
        ({"group_by": "day", "key": "2031-01-16"}, ["i3"]),
        ({"group_by": "month", "key": "2031-01"}, ["i2", "i6", "i1", "i3"]),
        ({"group_by": "day", "key": "2031-02-01"}, []),  # outside the period
        ({"group_by": "station", "key": "Vaduz Fire", "interval": "turnout"}, ["i1", "i3"]),  # 70, 40 s
        ({"group_by": "station", "key": "(none)"}, ["i2"]),
        ({"group_by": "unit", "key": "Drill A1"}, ["i1"]),
        ({"group_by": "unit", "key": "Drill E1", "interval": "travel"}, ["i1", "i3"]),  # 220 s, none
        ({"interval": "turnout"}, ["i2", "i1", "i3", "i6"]),  # the longest of its units: 90, 70, 40, none
        ({"priority": 2}, ["i3"]),  # the report's priority filter, over any grouping
        ({"group_by": "weekday", "key": "3", "priority": 1}, ["i2", "i6", "i1"]),
        ({"group_by": "station", "key": "Vaduz Fire", "interval": "turnout", "priority": 2}, ["i3"]),
    ],
)
async def test_a_cell_lists_the_incidents_of_its_group(client, auth, cell, one_session, params, expected):
    r = await ask(client, auth, **params)
    assert (r["count"], ids(r)) == (len(expected), [cell[name] for name in expected])


@pytest.mark.parametrize(
    "target, eligible, late",
    [
        ("response-p1", ["i2", "i6", "i1"], ["i2"]),  # 600 s over 480; I3 is priority 2
        ("processing-p1-90", ["i2", "i6", "i1"], []),
        ("turnout-fire", ["i2", "i1", "i3"], ["i2"]),  # engines 90 (over 80), 70 and 40 s; the ambulance is not
        ("turnout-ems", ["i1"], []),
        ("travel-first-unit", ["i2", "i1"], ["i2"]),  # the first on scene: 490 and 220 s, over 240
        ("response-p3", [], []),
    ],
)
async def test_targets_narrow_to_the_eligible_and_late_to_those_that_missed(
    client, auth, cell, one_session, target, eligible, late
):
    r = await ask(client, auth, target=target)
    assert (r["count"], ids(r)) == (len(eligible), [cell[n] for n in eligible])
    assert {i["id"]: i["late"] for i in r["items"]} == {cell[n]: n in late for n in eligible}
    r = await ask(client, auth, target=target, late="true")
    assert (r["count"], ids(r)) == (len(late), [cell[n] for n in late])


async def test_a_station_cell_with_a_unit_target_counts_only_that_stations_units(client, auth, cell, one_session):
    r = await ask(client, auth, group_by="station", key="Vaduz Fire", target="turnout-fire", interval="turnout")
    assert (ids(r), [i["late"] for i in r["items"]]) == ([cell["i1"], cell["i3"]], [False, False])
    r = await ask(client, auth, group_by="unit", key="Drill E2", target="turnout-fire", late="true")
    assert ids(r) == [cell["i2"]]


async def test_only_commanders_and_admins_may_drill_down(client, auth, cell, one_session):
    assert (await client.get(URL, params=MONTH, headers=await auth(Role.admin))).status_code == 200
    for role, extra in ((Role.dispatcher, {}), (Role.call_taker, {}), (Role.unit, {"unit_call_sign": "Drill E1"})):
        r = await client.get(URL, params=MONTH, headers=await auth(role, **extra))
        assert r.status_code == 403, role


async def test_a_commander_can_open_an_incident_of_the_list_with_its_timeline(
    client, auth, cell, one_session, imported_map
):
    r = await client.get(f"/api/incidents/{cell['i3']}", headers=await auth(Role.commander))
    assert r.status_code == 200, r.text
    diverted = [e for e in r.json()["events"] if e["kind"] == "diverted"]
    assert len(diverted) == 1 and diverted[0]["text"]


@pytest.mark.parametrize(
    "params, words",
    [
        ({"group_by": "priority", "key": "x"}, "priority key is a whole number from 1 to 4"),
        ({"group_by": "weekday", "key": "8"}, "weekday key is a whole number from 1 to 7"),
        ({"group_by": "hour", "key": "24"}, "hour key"),
        ({"group_by": "hour", "key": "²"}, "hour key"),
        ({"group_by": "day", "key": "2031-13-01"}, "day key looks like 2026-11-28"),
        ({"group_by": "month", "key": "2031-1"}, "month key looks like 2026-11"),
        ({"group_by": "station", "key": " "}, "station key must not be empty"),
        ({"key": "1"}, "a key needs a grouping"),
        ({"group_by": "weather"}, "group_by"),
        ({"interval": "speed"}, "interval"),
        ({"target": "fastest"}, "unknown target 'fastest'"),
        ({"late": "true"}, "late=true needs a target"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"from": "2031-02-01"}, "must be after"),
    ],
)
async def test_bad_requests_are_422_with_a_message(client, auth, one_session, params, words):
    r = await client.get(URL, params={**MONTH, **params}, headers=await auth(Role.commander))
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]


@pytest.mark.parametrize(
    "per_incident, at_most",
    [(4, 20_000), (1, 20_000), (4, 0)],  # the longest unit rows; too few rows for the page; grouped at once
    ids=["unit-rows", "unit-rows-then-grouped", "grouped"],
)
async def test_pages_run_on_past_the_incidents_with_units_to_those_without(
    client, auth, cell, one_session, monkeypatch, per_incident, at_most
):
    monkeypatch.setattr(drill, "TOP_UNITS_PER_INCIDENT", per_incident)
    monkeypatch.setattr(drill, "TOP_ROWS_AT_MOST", at_most)
    # Longest turnout first: I2 (90 s), I1 (70 s), I3 (40 s); then I6, which had no unit under way.
    for offset, expected in ((0, ["i2", "i1"]), (2, ["i3", "i6"]), (3, ["i6"]), (4, [])):
        r = await ask(client, auth, interval="turnout", limit=2, offset=offset)
        assert (r["count"], ids(r)) == (4, [cell[n] for n in expected]), offset
    r = await ask(client, auth, group_by="station", key="Vaduz Fire", interval="turnout", offset=5)
    assert (r["count"], r["items"]) == (2, [])
