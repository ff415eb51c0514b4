"""The citizen side: a feedback link offered when an incident closes, used once; the public monthly page."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dispatch.audit.service import Actor
from dispatch.auth.models import Role
from dispatch.incidents import lifecycle
from dispatch.reports import feedback, service
from dispatch.reports.service import GroupBy, parse_period
from dispatch.reports.targets import load_targets
from tests.builders import make_incident

S = timedelta(seconds=1)
BY = Actor.system("tests")


async def closed_with_link(session, settings, **kwargs) -> tuple[int, str]:
    at = kwargs.pop("received_at", datetime(2031, 3, 3, 9, 0, tzinfo=UTC))
    incident_id = await make_incident(
        session,
        received_at=at,
        status="on_scene",
        callback_number="+423 791 22 33",
        dispatched_at=at + 30 * S,
        on_scene_at=at + 400 * S,
        **kwargs,
    )
    await lifecycle.close(session, incident_id, disposition="treated", note=None, actor="dispatcher:test", by=BY)
    await feedback.offer(session, incident_id, settings=settings, by=BY)
    body = await session.scalar(text("SELECT body FROM caller_messages WHERE incident_id = :id"), {"id": incident_id})
    return incident_id, body.rsplit("/public/feedback/", 1)[1]


async def test_closing_offers_a_single_use_link_kept_only_as_a_hash(client, session, settings, auth):
    incident_id, token = await closed_with_link(session, settings)
    stored = (
        await session.execute(
            text("SELECT token_hash, expires_at FROM feedback_requests WHERE incident_id = :id"), {"id": incident_id}
        )
    ).one()
    assert token.startswith("fb_") and token not in stored.token_hash and len(stored.token_hash) == 64
    assert stored.expires_at - datetime.now(UTC) > timedelta(days=13)
    # The SMS gateway's account reads what is owed to the caller, and marks it sent.
    gateway = await auth(Role.gateway)
    messages = (await client.get("/api/caller-messages", headers=gateway)).json()
    mine = [m for m in messages if m["incident_id"] == incident_id]
    assert mine and mine[0]["to_number"] == "+423 791 22 33" and token in mine[0]["body"]
    sent = await client.post(f"/api/caller-messages/{mine[0]['id']}/sent", headers=gateway)
    assert sent.status_code == 200
    assert all(
        m["incident_id"] != incident_id for m in (await client.get("/api/caller-messages", headers=gateway)).json()
    )

    form = await client.get(f"/public/feedback/{token}")
    assert form.status_code == 200 and "How did we do?" in form.text
    first = await client.post(
        f"/public/feedback/{token}", json={"satisfaction": 2, "comment": "slow on the phone", "complaint": True}
    )
    assert first.status_code == 200 and first.json()["recorded"] is True
    again = await client.post(f"/public/feedback/{token}", json={"satisfaction": 5})
    assert again.status_code == 410
    assert again.json()["detail"] == "this feedback link has been used already; thank you for your answer"
    assert (await client.get(f"/public/feedback/{token}")).status_code == 410


async def test_reports_count_satisfaction_and_complaints(client, session, settings, auth):
    answers = [(5, False), (4, False), (1, True)]
    for k, (score, complaint) in enumerate(answers):
        _, token = await closed_with_link(session, settings, received_at=datetime(2031, 3, 3, 9, k, tzinfo=UTC))
        assert (
            await client.post(f"/public/feedback/{token}", json={"satisfaction": score, "complaint": complaint})
        ).status_code == 200
    await closed_with_link(session, settings, received_at=datetime(2031, 3, 4, 9, 0, tzinfo=UTC))  # not answered
    report = await service.response_times(
        session,
        period=parse_period("2031-03-01", "2031-03-31", "Europe/Vaduz"),
        group_by=GroupBy.day,
        targets=load_targets(),
    )
    assert report["overall"]["feedback"] == {
        "offered": 4,
        "answered": 3,
        "satisfaction_mean": 3.33,
        "satisfaction": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1},
        "complaints": 1,
    }
    by_day = {g["key"]: g["feedback"] for g in report["groups"]}
    assert (by_day["2031-03-03"]["answered"], by_day["2031-03-04"]["offered"]) == (3, 1)
    commander = await auth(Role.commander)
    listed = await client.get(
        "/api/reports/feedback", params={"from": "2031-03-01", "to": "2031-03-31"}, headers=commander
    )
    assert [a["satisfaction"] for a in listed.json()] == [1, 4, 5]  # newest first
    complaints = await client.get(
        "/api/reports/feedback",
        params={"from": "2031-03-01", "to": "2031-03-31", "complaints": True},
        headers=commander,
    )
    assert [(a["satisfaction"], a["complaint"]) for a in complaints.json()] == [(1, True)]
    assert (
        await client.get("/api/reports/feedback", params={"from": "2031-03-01", "to": "March"}, headers=commander)
    ).status_code == 422

    # The same over time, every day of the period present (a day no caller was asked is zeros, not missing).
    series = await client.get(
        "/api/reports/feedback/series", params={"from": "2031-03-02", "to": "2031-03-05"}, headers=commander
    )
    assert series.status_code == 200
    days = {g["key"]: g["feedback"] for g in series.json()["groups"]}
    assert list(days) == ["2031-03-02", "2031-03-03", "2031-03-04", "2031-03-05"]
    assert (
        days["2031-03-03"]["answered"],
        days["2031-03-03"]["complaints"],
        days["2031-03-03"]["satisfaction_mean"],
    ) == (
        3,
        1,
        3.33,
    )
    assert days["2031-03-04"]["offered"] == 1 and days["2031-03-02"] == days["2031-03-05"] == {
        "offered": 0,
        "answered": 0,
        "satisfaction_mean": None,
        "satisfaction": {str(s): 0 for s in range(1, 6)},
        "complaints": 0,
    }
    assert series.json()["overall"]["answered"] == 3
    months = await client.get(
        "/api/reports/feedback/series",
        params={"from": "2031-01-15", "to": "2031-03-31", "by": "month"},
        headers=commander,
    )
    assert [g["key"] for g in months.json()["groups"]] == ["2031-01", "2031-02", "2031-03"]
    for params in (
        {"from": "2031-03-01", "to": "2031-03-31", "by": "hour"},
        {"from": "2031-03-05", "to": "2031-03-01"},
    ):
        assert (await client.get("/api/reports/feedback/series", params=params, headers=commander)).status_code == 422
    dispatcher = await auth(Role.dispatcher)
    assert (
        await client.get(
            "/api/reports/feedback/series", params={"from": "2031-03-01", "to": "2031-03-31"}, headers=dispatcher
        )
    ).status_code == 403


async def test_bad_unknown_and_expired_links(client, session, settings):
    assert (await client.get("/public/feedback/fb_not_a_link_at_all")).status_code == 404
    incident_id, token = await closed_with_link(session, settings)
    for body in ({"satisfaction": 6}, {"satisfaction": 0}, {}, {"satisfaction": 3, "comment": "x" * 2001}):
        assert (await client.post(f"/public/feedback/{token}", json=body)).status_code == 422
    await session.execute(
        text("UPDATE feedback_requests SET expires_at = now() - interval '1 day' WHERE incident_id = :id"),
        {"id": incident_id},
    )
    expired = await client.post(f"/public/feedback/{token}", json={"satisfaction": 4})
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]


async def test_no_link_without_a_number_and_none_for_cancelled(session, settings):
    at = datetime(2031, 3, 5, 9, 0, tzinfo=UTC)
    silent = await make_incident(session, received_at=at, status="on_scene", on_scene_at=at)
    await lifecycle.close(session, silent, disposition="treated", note=None, actor="t", by=BY)
    await feedback.offer(session, silent, settings=settings, by=BY)
    cancelled = await make_incident(session, received_at=at, status="pending", callback_number="+423 000 00 00")
    await lifecycle.cancel(session, cancelled, reason="caller rang off", actor="t", by=BY)
    count = await session.scalar(
        text("SELECT count(*) FROM caller_messages WHERE incident_id IN (:a, :b)"), {"a": silent, "b": cancelled}
    )
    assert count == 0


async def test_the_public_page_shows_monthly_percentiles_and_hides_small_cells(client, session):
    now = datetime.now(UTC).replace(microsecond=0)
    # Places of their own: other tests commit incidents of today in the real municipalities.
    for k, seconds in enumerate((300, 360, 420, 480, 600)):  # five: p50 420, p90 480 + 0.6 x 120 = 552
        at = now - timedelta(minutes=30 + k)
        await make_incident(
            session,
            received_at=at,
            municipality="Testdorf",
            dispatched_at=at + 40 * S,
            on_scene_at=at + seconds * S,
            callback_number="+423 555 00 00",
        )
    at = now - timedelta(minutes=20)
    await make_incident(session, received_at=at, municipality="Testweiler", on_scene_at=at + 200 * S)
    r = await client.get("/public/response-times")
    assert r.status_code == 200
    rows = {m["municipality"]: m for m in r.json()["months"]}
    assert rows["Testdorf"]["all_priorities"] == {"p50_s": 420, "p90_s": 552}
    assert rows["Testdorf"]["priority_1"] == {"p50_s": 420, "p90_s": 552}
    assert rows["Testweiler"]["responses"] == 1
    assert rows["Testweiler"]["all_priorities"] == {"p50_s": None, "p90_s": None}
    assert "+423" not in r.text and "caller" not in r.text
    page = await client.get("/public/response-times", params={"format": "html"})
    assert page.status_code == 200 and ">Testdorf</h2>" in page.text and "7 min" in page.text
    assert (await client.get("/public/response-times", params={"months": 0})).status_code == 422
