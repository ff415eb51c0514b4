"""The live panel (today since local midnight) and the HTML report as a download."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.reports import today
from dispatch.reports.routes import report_sessions
from dispatch.reports.targets import Target, Targets, load_targets
from tests.builders import make_assignment, make_incident, make_unit

T0 = datetime(2031, 1, 15, 7, 30, tzinfo=UTC)  # 08:30 in Vaduz
NOW = datetime(2031, 1, 15, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture
def one_session(app):
    app.dependency_overrides[report_sessions] = lambda: None


async def responded(session, at, response, priority=1, **kw) -> int:
    return await make_incident(
        session, received_at=at, priority=priority, dispatched_at=at + 20 * S, on_scene_at=at + response * S, **kw
    )


async def test_today_counts_calls_priority_one_against_its_target_and_units(session):
    yesterday = datetime(2031, 1, 14, 22, 59, tzinfo=UTC)  # 23:59 local: not today
    await responded(session, yesterday, 100)
    after_midnight = datetime(2031, 1, 14, 23, 1, tzinfo=UTC)  # 00:01 local: today
    await responded(session, after_midnight, 300)
    await responded(session, T0, 400)
    await responded(session, T0 + timedelta(hours=1), 600)  # over the 480 s target
    await responded(session, T0, 200, priority=2)
    await make_incident(session, received_at=T0, priority=3, status="cancelled")  # a call, with no response owed
    dup = await make_incident(session, received_at=T0, priority=1, status="cancelled")
    await session.execute(text("UPDATE incidents SET duplicate_of_id = id - 1 WHERE id = :d"), {"d": dup})
    before = await today.today(session, tz="Europe/Vaduz", targets=load_targets(), now=NOW)
    waiting = await make_incident(session, received_at=T0, status="dispatched", dispatched_at=T0 + 30 * S)
    engine = await make_unit(session, kind="engine")
    await make_assignment(
        session, incident_id=waiting, unit_id=engine, slot="engine", assigned_at=T0, status="en_route"
    )
    for status in ("available", "returning", "en_route", "at_hospital", "out_of_service"):
        unit = await make_unit(session, kind="ambulance")
        await session.execute(
            text("UPDATE units SET status = CAST(:s AS unit_status) WHERE id = :u"), {"s": status, "u": unit}
        )
    await session.execute(text("UPDATE units SET status = 'en_route' WHERE id = :u"), {"u": engine})
    r = await today.today(session, tz="Europe/Vaduz", targets=load_targets(), now=NOW)
    assert (r["since"], r["as_of"]) == ("2031-01-15T00:00:00+01:00", "2031-01-15T13:00:00+01:00")
    assert r["calls"] == 6 and r["by_priority"] == {"1": 4, "2": 1, "3": 1}
    # Priority 1 on scene: 300, 400, 600 s; p90 at 1.8: 400 + 0.8 x 200. Within 480 s: two.
    assert r["p1"] == {"responses": 3, "p50": 400.0, "p90": 560.0, "target_s": 480.0, "met": 2, "waiting": 1}
    assert r["open"] == before["open"] + 1
    assert {k: r["units"][k] - before["units"][k] for k in r["units"]} == {
        "total": 6,
        "committed": 3,  # the engine en route, an ambulance en route, one at hospital
        "available": 2,  # available and returning
        "out_of_service": 1,
        "on_exercise": 0,
    }


def test_the_priority_one_target_is_response_p1_or_the_first_for_priority_one_alone():
    targets = load_targets()
    assert today.p1_target(targets).key == "response-p1"
    own = Targets(
        target=[
            Target(key="r12", name="r", interval="response", priorities=[1, 2], seconds=600, fraction=0.9, source="x"),
            Target(key="r1", name="r", interval="response", priorities=[1], seconds=420, fraction=0.9, source="x"),
        ]
    )
    assert today.p1_target(own).seconds == 420
    assert today.p1_target(Targets(target=own.target[:1])) is None


async def test_the_today_route_answers_commanders_only(client, auth, session):
    r = await client.get("/api/reports/today", headers=await auth(Role.commander))
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"since", "as_of", "calls", "open", "by_priority", "exercise", "p1", "units"}
    assert datetime.fromisoformat(r.json()["since"]).hour == 0
    assert r.json()["p1"]["target_s"] == 480.0
    assert (await client.get("/api/reports/today", headers=await auth(Role.admin))).status_code == 200
    for role in (Role.dispatcher, Role.call_taker):
        assert (await client.get("/api/reports/today", headers=await auth(role))).status_code == 403


async def test_the_html_report_downloads_with_its_charts(client, auth, session, one_session):
    await responded(session, T0, 400)
    commander = await auth(Role.commander)
    r = await client.get(
        "/api/reports/report.html", params={"from": "2031-01-15", "to": "2031-01-16"}, headers=commander
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == 'attachment; filename="response-times-2031-01-15-2031-01-16.html"'
    assert r.text.startswith("<!doctype html>") and r.text.count("data:image/png;base64,") == 3
    assert "<h2>By priority</h2>" in r.text and "<h2>By unit</h2>" in r.text
    r = await client.get(
        "/api/reports/report.html", params={"from": "2031-01-15T08:00", "to": "2031-01-15T20:00"}, headers=commander
    )
    assert r.headers["content-disposition"] == 'attachment; filename="response-times-2031-01-15-2031-01-15.html"'


@pytest.mark.parametrize(
    "params, words",
    [
        ({"from": "2031-01-15", "to": "2031-01-01"}, "must be after"),
        ({"from": "2020-01-01", "to": "2031-01-01"}, "at most 5 years"),
        ({"from": "soon", "to": "2031-01-01"}, "'from' must be a date"),
    ],
)
async def test_the_html_report_refuses_bad_periods(client, auth, one_session, params, words):
    r = await client.get("/api/reports/report.html", params=params, headers=await auth(Role.commander))
    assert r.status_code == 422 and words in r.json()["detail"]


async def test_the_html_report_is_for_commanders(client, auth, one_session):
    params = {"from": "2031-01-15", "to": "2031-01-16"}
    r = await client.get("/api/reports/report.html", params=params, headers=await auth(Role.dispatcher))
    assert r.status_code == 403


def test_the_cli_takes_station_and_weekday(settings, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from dispatch.cli import app
    from dispatch.config import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    out = tmp_path / "r.html"
    try:
        args = ["report", "--from", "2031-01-01", "--to", "2031-01-31", "--out", str(out)]
        result = CliRunner().invoke(app, [*args, "--group-by", "station,weekday"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    station, weekday = out.read_text().split("<h2>By station</h2>")[1].split("<h2>By weekday</h2>")
    assert station.count("<table>") == 1 and "<th>station</th>" in station  # unit intervals only
    assert weekday.count("<table>") == 2
