"""A disposition that says a crew was there ("treated", "transported") is refused where no unit ever reached the
scene, unless the dispatcher confirms it; the log and the audit keep that it was confirmed."""

from datetime import UTC, datetime

from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents import repository as repo
from tests.builders import make_assignment, make_unit
from tests.test_incident_lifecycle import assert_log_rebuilds_row
from tests.test_intake import FIRE, post_call


async def test_treated_with_no_unit_on_scene_takes_a_confirmation(client, auth, session, redis, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    incident = (await post_call(client, taker, FIRE)).json()["id"]
    url = f"/api/incidents/{incident}/close"

    for disposition in ("treated", "transported"):
        refused = await client.post(url, headers=dispatcher, json={"disposition": disposition})
        assert refused.status_code == 409, refused.text
        problem = refused.json()
        assert "no unit reached the scene" in problem["detail"] and "confirm" in problem["detail"]
        assert problem["disposition"] == disposition and problem["arrived"] is False
    assert (await repo.incident_row(session, incident))["status"] == "pending"
    assert (
        await client.post(url, headers=dispatcher, json={"disposition": "treated", "confirm": "yes"})
    ).status_code == 422

    confirmed = await client.post(url, headers=dispatcher, json={"disposition": "treated", "confirm": True})
    assert confirmed.status_code == 200, confirmed.text
    row = await repo.incident_row(session, incident)
    assert (row["status"], row["disposition"]) == ("closed", "treated")
    closed = (await repo.events(session, incident))[-1]
    assert closed["kind"] == "closed" and closed["payload"]["confirmed_without_arrival"] is True
    await assert_log_rebuilds_row(session, incident)
    audited = await session.scalar(
        text("SELECT after FROM audit_records WHERE action = 'incident.close' AND object_id = :i"), {"i": str(incident)}
    )
    assert audited["disposition"] == "treated" and audited["confirmed_without_arrival"] is True


async def test_a_disposition_that_fits_closes_without_a_confirmation(client, auth, session, redis, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    arrived = (await post_call(client, taker, FIRE)).json()["id"]
    now = datetime.now(UTC)
    # A unit was on scene and has left: the incident's own on_scene_at is not set, the assignment's is.
    await make_assignment(
        session,
        incident_id=arrived,
        unit_id=await make_unit(session),
        slot="engine",
        assigned_at=now,
        status="cleared",
        on_scene_at=now,
    )
    ok = await client.post(f"/api/incidents/{arrived}/close", headers=dispatcher, json={"disposition": "transported"})
    assert ok.status_code == 200, ok.text
    closed = (await repo.events(session, arrived))[-1]
    assert closed["payload"] == {"disposition": "transported", "note": None}
    # A disposition that needs no crew at the scene is never questioned.
    nobody = (await post_call(client, taker, {**FIRE, "caller_number": "+423 791 44 44"})).json()["id"]
    gone = await client.post(f"/api/incidents/{nobody}/close", headers=dispatcher, json={"disposition": "false_alarm"})
    assert gone.status_code == 200, gone.text
