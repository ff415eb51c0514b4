"""A call through the live service, end to end: intake, the matcher, the unit's reports, the dispatcher's close.
The report's intervals are the event log's, and the caller is offered a feedback link that works once.

Like tests/test_matching_flow.py this commits for real (the matcher and the report's side-by-side statements
open their own sessions) and puts the units back as it found them.
"""

from datetime import datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from tests.builders import free_everything, make_user_with_token

FIRE = {
    "channel": "phone",
    "caller_number": "+423 790 00 09",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "FIRE-OTHER",
    "narrative": "Rauch aus dem Container",
}  # one engine


@pytest.fixture
async def people(settings, engine, imported_map, redis):
    await free_everything(engine)
    async with make_sessionmaker(engine)() as session:
        headers = {}
        for role in (Role.call_taker, Role.dispatcher, Role.commander, Role.gateway):
            _, token = await make_user_with_token(session, settings, role=role)
            headers[role.value] = {"Authorization": f"Bearer {token}"}
        await session.commit()
    yield headers
    await free_everything(engine)


def seconds(later, earlier) -> float:
    return round((later - earlier).total_seconds(), 1)


async def test_a_live_call_is_reported_as_its_event_log_says(settings, engine, people):
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        taken = await client.post("/api/calls", json=FIRE, headers=people["call_taker"])
        assert taken.status_code == 201, taken.text
        incident_id = taken.json()["id"]
        assert await app.state.services.matcher.run_once()
        log = (await client.get(f"/api/incidents/{incident_id}/events", headers=people["dispatcher"])).json()
        unit_id = next(e["payload"]["unit_id"] for e in log if e["kind"] == "dispatched")
        for status in ("acknowledged", "en_route", "on_scene"):
            answer = await client.post(
                f"/api/units/{unit_id}/status", headers=people["dispatcher"], json={"status": status}
            )
            assert answer.status_code == 200, answer.text
        closed = await client.post(
            f"/api/incidents/{incident_id}/close", headers=people["dispatcher"], json={"disposition": "resolved"}
        )
        assert closed.status_code == 200, closed.text
        assert closed.json()["caller_message"]["to"] == FIRE["caller_number"].replace(" ", "")

        log = (await client.get(f"/api/incidents/{incident_id}/events", headers=people["dispatcher"])).json()
        at = {}
        for event in log:  # the first of each kind; a call is received when its payload says (the replay's rule)
            at.setdefault(event["kind"], datetime.fromisoformat(str(event["payload"].get("received_at", event["at"]))))
        window = {
            "from": (at["received"] - timedelta(seconds=1)).isoformat(),
            "to": (at["closed"] + timedelta(seconds=1)).isoformat(),
            "group_by": "unit",
        }
        report = await client.get("/api/reports/response-times", params=window, headers=people["commander"])
        assert report.status_code == 200, report.text
        overall = report.json()["overall"]["intervals"]
        assert overall["processing"] == {
            "count": 1,
            **dict.fromkeys(("p50", "p90", "p95"), seconds(at["dispatched"], at["received"])),
        }
        assert overall["turnout"]["p50"] == seconds(at["en_route"], at["dispatched"])
        assert overall["travel"]["p50"] == seconds(at["on_scene"], at["en_route"])
        assert overall["response"]["p50"] == seconds(at["on_scene"], at["received"])
        assert overall["on_scene"]["p50"] == seconds(at["cleared"], at["on_scene"])
        assert overall["total"]["p50"] == seconds(at["closed"], at["received"])
        async with engine.connect() as conn:
            call_sign = await conn.scalar(text("SELECT call_sign FROM units WHERE id = :u"), {"u": unit_id})
        assert [g["key"] for g in report.json()["groups"]] == [call_sign]

        # The caller's feedback link, owed to the callback number (the SMS gateway sends it), works once.
        messages = (await client.get("/api/caller-messages", headers=people["gateway"])).json()
        mine = next(m for m in messages if m["incident_id"] == incident_id)
        assert mine["to_number"] == FIRE["caller_number"].replace(" ", "")  # as intake stores it
        link = mine["body"].rsplit(" ", 1)[1]
        assert link.startswith(settings.public_base_url + "/public/feedback/fb_")
        path = link.removeprefix(settings.public_base_url)
        assert (await client.post(path, json={"satisfaction": 5, "comment": "quick"})).status_code == 200
        assert (await client.post(path, json={"satisfaction": 5})).status_code == 410
        report = await client.get(
            "/api/reports/response-times", params={**window, "group_by": "none"}, headers=people["commander"]
        )
        assert report.json()["overall"]["feedback"]["satisfaction"]["5"] == 1
