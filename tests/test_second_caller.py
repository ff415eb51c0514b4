"""A further call attached to an incident (POST /api/calls with duplicate_of) shows on the incident: its caller,
number and narrative in GET /api/incidents/{id}'s `calls`, and named in the log's call_added line; reading them
is recorded."""

from sqlalchemy import text

from dispatch.auth.models import Role
from tests.test_intake import FIRE, post_call

SECOND = {
    **FIRE,
    "channel": "phone",
    "caller_name": "Anna Beck",
    "caller_number": "+423 791 22 22",
    "narrative": "Flammen jetzt auch im Nachbarhaus",
}


async def test_the_second_caller_is_on_the_incident_and_in_its_log(client, auth, session, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    first = (await post_call(client, taker, FIRE)).json()
    joined = await post_call(client, taker, {**SECOND, "duplicate_of": first["id"]})
    assert joined.status_code == 201, joined.text
    assert joined.json()["attached_to"] == first["id"]

    answer = await client.get(f"/api/incidents/{first['id']}", headers=dispatcher)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    calls = body["calls"]
    assert [(c["caller_name"], c["caller_number"], c["narrative"], c["channel"]) for c in calls] == [
        (FIRE["caller_name"], "+4237911111", FIRE["narrative"], "phone"),  # numbers as intake normalised them
        (SECOND["caller_name"], "+4237912222", SECOND["narrative"], "phone"),
    ]
    assert calls[0]["received_at"] <= calls[1]["received_at"] and calls[0]["id"] < calls[1]["id"]
    assert body["caller"]["caller_name"] == FIRE["caller_name"]  # the first caller, as before

    added = next(e for e in body["events"] if e["kind"] == "call_added")
    assert added["text"] == "further call by phone from Anna Beck, +4237912222"
    assert added["payload"] == {"call_id": calls[1]["id"], "channel": "phone"}  # the log itself keeps no name

    # The read of both callers is recorded, naming the calls shown; so is the log's, which names the second.
    detail = await session.scalar(
        text("SELECT detail FROM audit_records WHERE action = 'incident.read' AND object_id = :i ORDER BY id DESC"),
        {"i": str(first["id"])},
    )
    assert detail["calls"] == [calls[0]["id"], calls[1]["id"]]
    log = await client.get(f"/api/incidents/{first['id']}/events", headers=taker)
    assert log.status_code == 200
    assert any(e["text"] == added["text"] for e in log.json())
    logged = await session.scalar(
        text("SELECT detail FROM audit_records WHERE action = 'incident_log.read' AND object_id = :i"),
        {"i": str(first["id"])},
    )
    assert logged == {"calls": [calls[1]["id"]]}


async def test_an_anonymous_further_call_is_still_told_and_its_log_read_not_recorded_before_one(
    client, auth, session, imported_map
):
    taker = await auth(Role.call_taker)
    first = (await post_call(client, taker, FIRE)).json()
    # Before any further call, reading the log reads no caller: nothing to record.
    assert (await client.get(f"/api/incidents/{first['id']}/events", headers=taker)).status_code == 200
    assert not await session.scalar(text("SELECT count(*) FROM audit_records WHERE action = 'incident_log.read'"))
    anonymous = {k: v for k, v in SECOND.items() if k not in ("caller_name", "caller_number")}
    joined = await post_call(client, taker, {**anonymous, "channel": "sms", "duplicate_of": first["id"]})
    assert joined.status_code == 201, joined.text
    log = (await client.get(f"/api/incidents/{first['id']}/events", headers=taker)).json()
    assert [e["text"] for e in log if e["kind"] == "call_added"] == ["further call by sms"]
