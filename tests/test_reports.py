"""The response-time report: exact percentiles on hand-worked event sets, compliance, grouping in local time,
empty periods and bad requests."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.auth.models import Role
from dispatch.errors import InvalidInput
from dispatch.reports import service
from dispatch.reports.routes import report_sessions
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import load_targets
from tests.builders import make_assignment, make_incident, make_unit

T0 = datetime(2031, 1, 15, 7, 30, tzinfo=UTC)  # 08:30 in Vaduz (CET)
S = timedelta(seconds=1)
PERIOD = parse_period("2031-01-01", "2031-01-31", "Europe/Vaduz")


def compliance(block: dict, key: str) -> dict:
    return next(c for c in block["compliance"] if c["target"] == key)


@pytest.fixture
async def worked(session):
    """Priority 1: processing 10, 20, 30, 40, 100 s; response 300, 400, 500, 600, 1000 s. Priority 2: processing
    50 and 70 s. Two priority-1 incidents have units: A an engine (turnout 70 s, travel 220 s, first on scene at
    300 s) and an ambulance (turnout 50 s, travel 300 s); B an engine (turnout 90 s, travel 290 s, on scene at
    400 s)."""
    ids = []
    for k, (proc, resp) in enumerate([(10, 300), (20, 400), (30, 500), (40, 600), (100, 1000)]):
        at = T0 + k * timedelta(hours=1)
        ids.append(
            await make_incident(
                session,
                received_at=at,
                priority=1,
                municipality="Vaduz" if k < 3 else "Schaan",
                dispatched_at=at + proc * S,
                on_scene_at=at + resp * S,
                cleared_at=at + (resp + 600) * S,
                closed_at=at + (resp + 900) * S,
            )
        )
    for proc in (50, 70):
        await make_incident(session, received_at=T0, priority=2, type_code="FALL", dispatched_at=T0 + proc * S)
    engine_a = await make_unit(session, kind="engine")
    ambulance = await make_unit(session, kind="ambulance")
    engine_b = await make_unit(session, kind="engine")
    a, b = ids[0], ids[1]
    t = T0 + 10 * S
    await make_assignment(
        session,
        incident_id=a,
        unit_id=engine_a,
        slot="engine",
        assigned_at=t,
        en_route_at=t + 70 * S,
        on_scene_at=t + 290 * S,
    )
    await make_assignment(
        session,
        incident_id=a,
        unit_id=ambulance,
        slot="ambulance",
        assigned_at=t,
        en_route_at=t + 50 * S,
        on_scene_at=t + 350 * S,
    )
    t = T0 + timedelta(hours=1) + 20 * S
    await make_assignment(
        session,
        incident_id=b,
        unit_id=engine_b,
        slot="engine",
        assigned_at=t,
        en_route_at=t + 90 * S,
        on_scene_at=t + 380 * S,
    )
    return ids


async def report(session, group_by=GroupBy.priority, period=PERIOD):
    return await service.response_times(session, period=period, group_by=group_by, targets=load_targets())


async def test_percentiles_by_priority_are_percentile_cont(session, worked):
    r = await report(session)
    p1, p2 = (g for g in r["groups"])
    assert (p1["key"], p2["key"]) == ("1", "2")
    # 10, 20, 30, 40, 100: p50 the middle one; p90 at 0.9 x 4 = 3.6, so 40 + 0.6 x 60; p95 at 3.8: 40 + 0.8 x 60.
    assert p1["intervals"]["processing"] == {"count": 5, "p50": 30.0, "p90": 76.0, "p95": 88.0}
    # 50, 70: p50 halfway; p90 at 0.9: 50 + 0.9 x 20; p95: 50 + 0.95 x 20.
    assert p2["intervals"]["processing"] == {"count": 2, "p50": 60.0, "p90": 68.0, "p95": 69.0}
    assert p1["intervals"]["response"] == {"count": 5, "p50": 500.0, "p90": 840.0, "p95": 920.0}
    assert p1["intervals"]["on_scene"] == {"count": 5, "p50": 600.0, "p90": 600.0, "p95": 600.0}
    assert p1["intervals"]["total"]["p50"] == 1400.0
    assert p2["intervals"]["response"]["count"] == 0 and p2["intervals"]["response"]["p50"] is None
    # Unit intervals: turnout 70, 50, 90 s (p50 70; p90 at 1.8: 70 + 0.8 x 20); travel 220, 300, 290 s.
    assert p1["intervals"]["turnout"] == {"count": 3, "p50": 70.0, "p90": 86.0, "p95": 88.0}
    assert p1["intervals"]["travel"] == {"count": 3, "p50": 290.0, "p90": 298.0, "p95": 299.0}
    # Overall: processing 10, 20, 30, 40, 50, 70, 100: p90 at 5.4: 70 + 0.4 x 30.
    assert r["overall"]["intervals"]["processing"] == {"count": 7, "p50": 40.0, "p90": 82.0, "p95": 91.0}


async def test_compliance_against_the_standards(session, worked):
    overall = (await report(session))["overall"]
    processing = compliance(overall, "processing-p1-90")  # 10, 20, 30 and 40 s within 60; 100 s not
    assert (processing["count"], processing["met"], processing["fraction"], processing["ok"]) == (5, 4, 0.8, False)
    assert (compliance(overall, "processing-p1-99")["met"], compliance(overall, "processing-p1-99")["count"]) == (4, 5)
    fire, ems = compliance(overall, "turnout-fire"), compliance(overall, "turnout-ems")
    assert (fire["met"], fire["count"], fire["ok"]) == (1, 2, False)  # engines 70 s (within 80) and 90 s
    assert (ems["met"], ems["count"], ems["ok"]) == (1, 1, True)
    first = compliance(overall, "travel-first-unit")  # the first unit on scene: A's engine 220 s, B's engine 290 s
    assert (first["met"], first["count"]) == (1, 2)
    assert (compliance(overall, "travel-als")["met"], compliance(overall, "travel-als")["count"]) == (1, 1)
    p1 = compliance(overall, "response-p1")  # 300 and 400 s within 480
    assert (p1["met"], p1["count"], p1["fraction"], p1["ok"]) == (2, 5, 0.4, False)
    assert compliance(overall, "response-p3")["count"] == 0 and compliance(overall, "response-p3")["ok"] is None


async def test_groups_by_municipality_unit_and_local_hour(session, worked):
    by_place = {g["key"]: g for g in (await report(session, GroupBy.municipality))["groups"]}
    assert by_place["Vaduz"]["intervals"]["processing"]["count"] == 3 + 2
    assert by_place["Schaan"]["intervals"]["response"] == {"count": 2, "p50": 800.0, "p90": 960.0, "p95": 980.0}
    by_unit = (await report(session, GroupBy.unit))["groups"]
    assert len(by_unit) == 3 and all(g["intervals"]["processing"]["count"] == 0 for g in by_unit)
    assert sorted(g["intervals"]["turnout"]["p50"] for g in by_unit) == [50.0, 70.0, 90.0]
    by_hour = {g["key"]: g for g in (await report(session, GroupBy.hour))["groups"]}
    # 07:30 UTC is 08:30 in Vaduz in January: the hours are local.
    assert sorted(by_hour, key=int) == ["8", "9", "10", "11", "12"]
    assert by_hour["8"]["intervals"]["processing"]["count"] == 3  # the first priority 1 and both priority 2


async def test_days_are_local_days(session):
    late = datetime(2031, 1, 15, 23, 30, tzinfo=UTC)  # 00:30 on the 16th in Vaduz
    await make_incident(session, received_at=late, dispatched_at=late + 45 * S)
    days = (await report(session, GroupBy.day))["groups"]
    assert [g["key"] for g in days] == ["2031-01-16"]
    # A period of local days: the 16th alone holds it, the 15th does not.
    assert (await report(session, GroupBy.day, parse_period("2031-01-15", "2031-01-15", "Europe/Vaduz")))[
        "groups"
    ] == []


async def test_an_empty_period_has_counts_of_zero_and_no_percentiles(session, worked):
    r = await report(session, period=parse_period("2030-06-01", "2030-06-30", "Europe/Vaduz"))
    assert r["groups"] == []
    assert all(s == {"count": 0, "p50": None, "p90": None, "p95": None} for s in r["overall"]["intervals"].values())
    assert all(c["count"] == 0 and c["fraction"] is None for c in r["overall"]["compliance"])
    assert r["overall"]["feedback"]["offered"] == 0


async def test_cancelled_incidents_are_left_out(session, worked):
    await make_incident(session, received_at=T0, status="cancelled", dispatched_at=T0 + 5 * S)
    assert (await report(session))["groups"][0]["intervals"]["processing"]["count"] == 5


def test_periods_are_local_days_and_bad_ones_are_refused():
    p = parse_period("2031-07-01", "2031-07-01", "Europe/Vaduz")
    assert (p.start.isoformat(), p.end.isoformat()) == ("2031-06-30T22:00:00+00:00", "2031-07-01T22:00:00+00:00")
    p = parse_period("2031-07-01T08:00", "2031-07-01T09:00+00:00", "Europe/Vaduz")
    assert (p.start.hour, p.end.hour) == (6, 9)
    for start, end, words in (
        ("2031-13-01", "2031-12-31", "'from' must be a date"),
        ("2031-01-02", "yesterday", "'to' must be a date"),
        ("2031-02-01", "2031-01-01", "must be after"),
        ("2020-01-01", "2031-01-01", "at most 5 years"),
    ):
        with pytest.raises(InvalidInput, match=words):
            parse_period(start, end, "Europe/Vaduz")


@pytest.fixture
def one_session(app):
    """The report's statements on the test's own session (its rows are not committed, so other connections
    could not see them); tests/test_reports_history.py runs them side by side on committed rows."""
    app.dependency_overrides[report_sessions] = lambda: None


async def test_the_api_answers_commanders_with_json_and_csv(client, auth, worked, one_session):
    commander = await auth(Role.commander)
    r = await client.get(
        "/api/reports/response-times",
        params={"from": "2031-01-01", "to": "2031-01-31", "group_by": "municipality"},
        headers=commander,
    )
    assert r.status_code == 200, r.text
    assert [g["key"] for g in r.json()["groups"]] == ["Schaan", "Vaduz"]
    assert r.json()["overall"]["intervals"]["response"]["p90"] == 840.0
    r = await client.get(
        "/api/reports/response-times",
        params={"from": "2031-01-01", "to": "2031-01-31", "format": "csv"},
        headers=commander,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "priority,1,interval,processing,5,30.0,76.0,88.0" in r.text
    assert 'filename="response-times-2031-01-01-2031-01-31-by-priority.csv"' in r.headers["content-disposition"]
    # One priority's incidents alone: the figures are those of its incidents, the file says so.
    only = await client.get(
        "/api/reports/response-times",
        params={"from": "2031-01-01", "to": "2031-01-31", "group_by": "municipality", "priority": 2},
        headers=commander,
    )
    assert only.json()["priority"] == 2 and only.json()["overall"]["intervals"]["processing"]["count"] == 2
    assert only.json()["overall"]["intervals"]["processing"]["p50"] == 60.0  # 50 and 70 s
    assert only.json()["overall"]["intervals"]["response"]["count"] == 0
    p1 = await client.get(
        "/api/reports/response-times",
        params={"from": "2031-01-01", "to": "2031-01-31", "group_by": "municipality", "priority": 1, "format": "csv"},
        headers=commander,
    )
    assert "-by-municipality-p1.csv" in p1.headers["content-disposition"]
    assert "municipality,Schaan,interval,processing,2," in p1.text and p1.text.splitlines()[1].endswith(",1")
    for bad in (0, 5, "x"):
        assert (
            await client.get(
                "/api/reports/response-times",
                params={"from": "2031-01-01", "to": "2031-01-31", "priority": bad},
                headers=commander,
            )
        ).status_code == 422
    dispatcher = await auth(Role.dispatcher)
    assert (
        await client.get(
            "/api/reports/response-times", params={"from": "2031-01-01", "to": "2031-01-02"}, headers=dispatcher
        )
    ).status_code == 403


@pytest.mark.parametrize(
    "params, words",
    [
        ({"from": "2031-02-30", "to": "2031-03-01"}, "'from' must be a date"),
        ({"from": "2031-03-01", "to": "2031-02-01"}, "must be after"),
        ({"from": "2031-01-01", "to": "2031-01-31", "group_by": "weather"}, "group_by"),
        ({"to": "2031-01-31"}, "from"),
        ({"from": "2031-01-01", "to": "2031-01-31", "format": "pdf"}, "format"),
    ],
)
async def test_bad_dates_and_groupings_are_422(client, auth, params, words, one_session):
    r = await client.get("/api/reports/response-times", params=params, headers=await auth(Role.commander))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.json()["detail"]


async def test_the_whole_report_agrees_with_one_report_per_grouping(session, worked):
    full = await service.full_report(session, period=PERIOD, targets=load_targets())
    assert set(full["by"]) == {g.value for g in service.FULL_GROUPINGS}
    for grouping in service.FULL_GROUPINGS:
        assert full["by"][grouping.value] == await report(session, grouping), grouping
    assert full["distribution"]["1"][10] == 1 and sum(full["distribution"]["1"]) == 5  # 300 s: the 11th bar


async def test_a_report_that_runs_too_long_is_stopped_with_a_message(session, settings, monkeypatch):
    import psycopg

    from dispatch.reports import queries

    monkeypatch.setattr(queries, "STATEMENT_TIMEOUT_S", 0.2)
    # Another transaction holds the incidents table: the report waits for it until its statement times out.
    with psycopg.connect(settings.libpq_url) as other:
        other.execute("SET lock_timeout = '5s'")
        other.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(service.ReportTooLong, match=r"took longer than 0\.2 s"):
            await report(session)
        other.rollback()


async def test_percentiles_agree_with_numpy_linear_on_many_random_values(session):
    import random

    import numpy as np

    rng = random.Random(5)
    values = {p: [round(rng.lognormvariate(4.0, 0.6), 3) for _ in range(97 + 50 * p)] for p in (1, 2, 3)}
    for priority, seconds in values.items():
        for k, s in enumerate(seconds):
            at = T0 + timedelta(minutes=k)
            await make_incident(session, received_at=at, priority=priority, dispatched_at=at + s * S)
    r = await report(session)
    for group in r["groups"]:
        expected = np.percentile(values[int(group["key"])], [50, 90, 95], method="linear")
        got = group["intervals"]["processing"]
        assert got["count"] == len(values[int(group["key"])])
        assert [got["p50"], got["p90"], got["p95"]] == [round(float(v), 1) for v in expected]


async def test_hours_and_days_follow_daylight_saving(session):
    # Clocks go forward in Vaduz at 02:00 on 2031-03-30: 00:30 UTC is 01:30 CET, 01:30 UTC is 03:30 CEST.
    for hour in (0, 1):
        at = datetime(2031, 3, 30, hour, 30, tzinfo=UTC)
        await make_incident(session, received_at=at, dispatched_at=at + 30 * S)
    period = parse_period("2031-03-30", "2031-03-30", "Europe/Vaduz")
    assert (period.end - period.start) == timedelta(hours=23)  # the short day
    hours = [g["key"] for g in (await report(session, GroupBy.hour, period))["groups"]]
    assert hours == ["1", "3"]
