"""The audit trail records every write with who, role, address and what changed, one record per read of personal
data, and cannot be edited or deleted (save by the purge, see test_audit_trail.py)."""

import pytest
import sqlalchemy.exc
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch.audit.service import REDACTED, Actor
from dispatch.auth import service as accounts
from dispatch.auth.models import Role
from tests.builders import make_user_with_token
from tests.test_channels_and_resilience import signed
from tests.test_intake import FIRE

NUMBER = "+4237911111"  # FIRE's caller, as stored


def client_from(app, host: str) -> AsyncClient:
    return AsyncClient(transport=ASGITransport(app=app, client=(host, 40000)), base_url="http://test")


async def rows(session, **where) -> list[dict]:
    conditions = " AND ".join(f"{name} = :{name}" for name in where) or "true"
    result = await session.execute(text(f"SELECT * FROM audit_records WHERE {conditions} ORDER BY id"), where)
    return [dict(r) for r in result.mappings()]


async def last_id(session) -> int:
    return await session.scalar(text("SELECT coalesce(max(id), 0) FROM audit_records"))


async def account(session, settings, role: Role) -> tuple[object, dict[str, str]]:
    user, token = await make_user_with_token(session, settings, role=role)
    return user, {"Authorization": f"Bearer {token}"}


def assert_by(record: dict, user, role: str, address: str) -> None:
    assert (record["actor_id"], record["actor"], record["role"], record["address"]) == (
        user.id,
        user.username,
        role,
        address,
    )


async def test_intake_and_each_change_to_an_incident_is_recorded_with_who_and_what(
    app, session, settings, imported_map
):
    user, h = await account(session, settings, Role.dispatcher)
    async with client_from(app, "192.0.2.10") as c:
        taken = await c.post("/api/calls", json=FIRE, headers=h)
        assert taken.status_code == 201, taken.text
        incident = taken.json()["id"]
        assert (await c.patch(f"/api/incidents/{incident}", json={"narrative": "Flammen"}, headers=h)).is_success
        priority = {"priority": 2, "reason": "r"}
        assert (await c.post(f"/api/incidents/{incident}/priority", json=priority, headers=h)).is_success
        assert (await c.post(f"/api/incidents/{incident}/notes", json={"text": "Leiter 2"}, headers=h)).is_success
        closed = await c.post(f"/api/incidents/{incident}/close", json={"disposition": "resolved"}, headers=h)
        assert closed.is_success, closed.text
    got = {r["action"]: r for r in await rows(session, object_type="incident", object_id=str(incident))}
    assert list(got) == ["incident.intake", "incident.correct", "incident.priority", "incident.note", "incident.close"]
    for record in got.values():
        assert_by(record, user, "dispatcher", "192.0.2.10")
    intake = got["incident.intake"]
    assert intake["before"] is None
    assert intake["after"] == {
        "type_code": "FIRE-STRUCT",
        "priority": 1,
        "status": "pending",
        "channel": "phone",
        "call_id": taken.json()["call_id"],
    }
    # Only the fields that changed, as they were and as they are.
    assert (got["incident.correct"]["before"], got["incident.correct"]["after"]) == (
        {"narrative": "Rauch aus dem Dach"},
        {"narrative": "Flammen"},
    )
    assert got["incident.priority"]["before"] == {"priority": 1} and got["incident.priority"]["after"]["priority"] == 2
    assert got["incident.note"]["after"] == {"note": "Leiter 2"}
    assert got["incident.close"]["before"] == {"status": "pending", "disposition": None}
    assert got["incident.close"]["after"] == {
        "status": "closed",
        "disposition": "resolved",
        "note": None,
        "units_stood_down": [],
    }
    # The feedback link owed to the caller: recorded, the number not kept in the trail.
    [message] = [r for r in await rows(session, action="caller_message.add") if r["after"]["incident_id"] == incident]
    assert message["after"]["incident_id"] == incident and message["after"]["to_number"] == REDACTED


async def test_cancel_and_merge_are_recorded_on_both_incidents(app, session, settings, imported_map):
    user, h = await account(session, settings, Role.dispatcher)
    async with client_from(app, "192.0.2.11") as c:
        first, second, third = [
            (await c.post("/api/calls", json={**FIRE, "caller_number": f"+423 791 11 2{n}"}, headers=h)).json()["id"]
            for n in range(3)
        ]
        assert (await c.post(f"/api/incidents/{first}/cancel", json={"reason": "false alarm"}, headers=h)).is_success
        assert (await c.post(f"/api/incidents/{second}/merge", json={"into": third}, headers=h)).is_success
    [cancel] = await rows(session, action="incident.cancel", object_id=str(first))
    assert_by(cancel, user, "dispatcher", "192.0.2.11")
    assert cancel["before"] == {"status": "pending"}
    assert cancel["after"] == {"status": "cancelled", "reason": "false alarm", "units_stood_down": []}
    [merge] = await rows(session, action="incident.merge", object_id=str(second))
    assert merge["before"] == {"status": "pending", "duplicate_of_id": None}
    assert merge["after"]["duplicate_of_id"] == third and len(merge["after"]["calls_moved"]) == 1
    [into] = await rows(session, action="incident.merge_into", object_id=str(third))
    assert into["after"] == {"calls_added": merge["after"]["calls_moved"], "merged_from": second}


async def test_sms_and_public_reports_and_their_confirmation_are_recorded(app, session, settings, imported_map):
    raw, headers = signed(
        {"message_id": "audit-1", "from": "+41791230000", "text": "Unfall Landstrasse / Sankt Markusgasse"},
        settings.sms_webhook_secret,
    )
    report = {"phone": "+423 600 00 01", "location_text": "Städtle 23, Vaduz", "description": "Rauch im Keller"}
    async with client_from(app, "192.0.2.20") as gateway, client_from(app, "192.0.2.21") as citizen:
        sms = (await gateway.post("/api/inbound/sms", content=raw, headers=headers)).json()["incident_id"]
        public = (await citizen.post("/api/public/reports", json=report)).json()["reference"]
    [by_sms] = await rows(session, action="incident.intake", object_id=str(sms))
    assert (by_sms["actor_id"], by_sms["actor"], by_sms["role"], by_sms["address"]) == (
        None,
        "sms-gateway",
        "gateway",
        "192.0.2.20",
    )
    assert by_sms["after"]["channel"] == "sms" and by_sms["after"]["status"] == "unconfirmed"
    [by_public] = await rows(session, action="incident.intake", object_id=str(public))
    assert (by_public["actor"], by_public["role"], by_public["address"]) == ("public", "public", "192.0.2.21")
    taker, h = await account(session, settings, Role.call_taker)
    async with client_from(app, "192.0.2.22") as c:
        assert (await c.post(f"/api/incidents/{sms}/confirm", headers=h)).is_success
    [confirm] = await rows(session, action="incident.confirm", object_id=str(sms))
    assert_by(confirm, taker, "call_taker", "192.0.2.22")
    assert (confirm["before"], confirm["after"]) == ({"status": "unconfirmed"}, {"status": "pending"})


async def test_premise_flags_added_retired_and_read(app, session, settings, imported_map):
    user, h = await account(session, settings, Role.dispatcher)
    flag = {"category": "special_needs", "description": "oxygen in use", "lat": 47.1410, "lon": 9.5209}
    async with client_from(app, "192.0.2.30") as c:
        added = (await c.post("/api/premise-flags", json=flag, headers=h)).json()["id"]
        start = await last_id(session)
        near = await c.get("/api/premise-flags", params={"lat": 47.1410, "lon": 9.5209}, headers=h)
        assert len(near.json()) >= 1
        assert [r["action"] for r in await rows(session) if r["id"] > start] == ["premise_flags.read"]
        assert (await c.delete(f"/api/premise-flags/{added}", headers=h)).is_success
    [add] = await rows(session, action="premise_flag.add", object_id=str(added))
    assert_by(add, user, "dispatcher", "192.0.2.30")
    assert add["after"]["description"] == "oxygen in use" and add["after"]["category"] == "special_needs"
    [retire] = await rows(session, action="premise_flag.retire", object_id=str(added))
    assert (retire["before"], retire["after"]) == ({"active": True}, {"active": False})


async def test_accounts_tokens_and_a_tokens_use_once_a_minute(app, session, settings):
    cli = Actor.cli()
    user = await accounts.create_user(session, username="audit-new", role=Role.commander, actor=cli)
    token = await accounts.issue_token(session, user=user, secret_key=settings.secret_key, actor=cli)
    [added] = await rows(session, action="user.add", object_id=str(user.id))
    assert (added["actor"], added["role"], added["address"]) == (cli.username, "cli", "local")
    assert added["after"]["role"] == "commander" and added["after"]["username"] == "audit-new"
    # Other tests may have committed tokens of their own: this account's is the one asked about.
    [issued] = [r for r in await rows(session, action="token.add") if r["after"]["user_id"] == user.id]
    assert issued["after"]["prefix"] == token[:12] and issued["after"]["user_id"] == user.id
    token_id = issued["object_id"]
    async with client_from(app, "192.0.2.40") as c:
        for _ in range(3):
            assert (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).is_success
    # Written with last_used_at, once a minute: three requests, one record.
    [used] = await rows(session, action="token.use", object_id=token_id)
    assert_by(used, user, "commander", "192.0.2.40")
    assert await accounts.revoke_tokens(session, username="audit-new", actor=cli) == 1
    [revoked] = await rows(session, action="token.revoke", object_id=token_id)
    assert revoked["before"] == {"revoked_at": None} and revoked["after"]["revoked_at"] is not None


async def test_reading_an_incident_with_its_caller_is_one_record(app, session, settings, imported_map):
    _, taker_h = await account(session, settings, Role.call_taker)
    user, h = await account(session, settings, Role.dispatcher)
    async with client_from(app, "192.0.2.50") as c:
        incident = (await c.post("/api/calls", json=FIRE, headers=taker_h)).json()["id"]
        assert (await c.get("/api/me", headers=h)).is_success  # the token's first use, recorded before
        start = await last_id(session)
        view = await c.get(f"/api/incidents/{incident}", headers=h)
        assert view.json()["caller"]["caller_number"] == NUMBER
    [read] = [r for r in await rows(session) if r["id"] > start]
    assert read["action"] == "incident.read" and read["object_id"] == str(incident)
    assert_by(read, user, "dispatcher", "192.0.2.50")
    assert read["before"] is None and read["after"] is None and "caller_calls" in read["detail"]


async def test_caller_and_premise_history_reads_are_one_record_each(app, session, settings, imported_map):
    user, h = await account(session, settings, Role.call_taker)
    async with client_from(app, "192.0.2.51") as c:
        assert (await c.post("/api/calls", json=FIRE, headers=h)).status_code == 201
        start = await last_id(session)
        assert (await c.post("/api/calls/check", json=FIRE, headers=h)).is_success
        without_number = {k: v for k, v in FIRE.items() if k not in ("caller_number", "caller_name")}
        assert (await c.post("/api/calls/check", json=without_number, headers=h)).is_success
    caller, premise = [r for r in await rows(session) if r["id"] > start]
    assert caller["action"] == "caller_history.read" and caller["object_type"] == "caller"
    assert caller["object_id"] == NUMBER and caller["detail"]["caller_calls"] >= 1
    assert_by(caller, user, "call_taker", "192.0.2.51")
    assert premise["action"] == "premise_history.read" and premise["object_type"] == "premise"
    assert premise["detail"]["premise_incidents"] >= 1


async def test_feedback_answers_and_the_caller_outbox_reads_are_one_record_each(app, session, settings):
    user, h = await account(session, settings, Role.commander)
    gateway, gh = await account(session, settings, Role.gateway)
    async with client_from(app, "192.0.2.60") as c:
        assert (await c.get("/api/me", headers=h)).is_success and (await c.get("/api/me", headers=gh)).is_success
        start = await last_id(session)
        answers = await c.get("/api/reports/feedback", params={"from": "2031-03-01", "to": "2031-03-31"}, headers=h)
        assert answers.status_code == 200
        assert (await c.get("/api/caller-messages", headers=gh)).status_code == 200
    feedback, outbox = [r for r in await rows(session) if r["id"] > start]
    assert feedback["action"] == "feedback.read" and feedback["detail"]["rows"] == len(answers.json())
    assert_by(feedback, user, "commander", "192.0.2.60")
    assert outbox["action"] == "caller_message.read"
    assert_by(outbox, gateway, "gateway", "192.0.2.60")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_records SET actor = 'someone else'", "DELETE FROM audit_records", "TRUNCATE audit_records"],
)
async def test_the_trail_refuses_update_delete_and_truncate(session, statement):
    await session.execute(
        text("INSERT INTO audit_records (actor, role, action, object_type) VALUES ('a', 'system', 'x.y', 'x')")
    )
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))


async def test_a_forged_purge_cannot_delete_a_recent_record(session):
    await session.execute(
        text("INSERT INTO audit_records (actor, role, action, object_type) VALUES ('a', 'system', 'x.y', 'x')")
    )
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("SELECT set_config('dispatch.audit_purge_before', '2999-01-01', true)"))
            await session.execute(text("DELETE FROM audit_records"))
