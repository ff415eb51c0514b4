"""Who may do what: demo tokens only outside production, the dispatcher's role for anything that stands units
down or changes a priority, the caller outbox for the SMS gateway alone, and a token's last use recorded."""

from datetime import UTC, datetime

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch import demo
from dispatch.app import create_app
from dispatch.auth import service
from dispatch.auth.deps import get_session
from dispatch.auth.models import Role
from dispatch.auth.tokens import demo_token, is_demo_token, new_token
from dispatch.config import Environment
from dispatch.errors import InvalidInput
from dispatch.setup import SetupError
from tests.builders import make_assignment, make_user_with_token
from tests.test_intake import FIRE, post_call

PRODUCTION_SECRET = "a-production-secret-that-is-long-enough-0123456789"
FALL = {
    **FIRE,
    "caller_number": "+423 792 22 22",
    "location_text": "Landstrasse 10, Schaan",
    "type_code": "FALL",
    "narrative": "fell down the stairs",
}


@pytest.fixture
async def production(settings, session, redis):
    """A client of the service as it runs in production (on the test database and the test's transaction)."""
    prod = settings.model_copy(
        update={
            "env": Environment.production,
            "secret_key": PRODUCTION_SECRET,
            "sms_webhook_secret": "an-sms-secret-of-the-gateway",
        }
    )
    app = create_app(prod)

    async def test_session():
        yield session
        await session.flush()

    app.dependency_overrides[get_session] = test_session
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Demo tokens.


async def test_demo_tokens_are_refused_in_production(production, session):
    user = await service.create_user(session, username="dispatcher", role=Role.dispatcher)
    token = await service.issue_token(
        session, user=user, secret_key=PRODUCTION_SECRET, name="demo", token=demo_token("dispatcher", PRODUCTION_SECRET)
    )
    own = await service.issue_token(session, user=user, secret_key=PRODUCTION_SECRET)
    refused = await production.get("/api/me", headers=bearer(token))
    assert refused.status_code == 401
    assert "demo" in refused.json()["detail"]
    assert (await production.get("/api/me", headers=bearer(own))).status_code == 200


async def test_demo_tokens_work_outside_production(client, session, settings):
    user = await service.create_user(session, username="calltaker", role=Role.call_taker)
    token = await service.issue_token(
        session,
        user=user,
        secret_key=settings.secret_key,
        name="demo",
        token=demo_token("calltaker", settings.secret_key),
    )
    assert (await client.get("/api/me", headers=bearer(token))).json()["role"] == "call_taker"


async def test_demo_tokens_are_recognisable_and_their_name_is_kept_for_them(session, settings):
    assert is_demo_token(demo_token("admin", settings.secret_key))
    assert not any(is_demo_token(new_token()) for _ in range(200))
    user = await service.create_user(session, username="someone", role=Role.dispatcher)
    with pytest.raises(InvalidInput, match="demo"):
        await service.issue_token(session, user=user, secret_key=settings.secret_key, name="demo")


async def test_the_demo_writes_no_accounts_and_no_token_file_in_production(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "TOKENS_FILE", tmp_path / "demo-tokens.json")
    prod = settings.model_copy(update={"env": Environment.production, "secret_key": PRODUCTION_SECRET})
    with pytest.raises(SetupError, match="production"):
        await demo.ensure_demo_accounts(prod)
    with pytest.raises(SetupError, match="production"):
        demo.write_tokens_file(prod, {"people": {}, "units": {}})
    assert not (tmp_path / "demo-tokens.json").exists()


# Merging and priorities.


async def _on_the_way(session, incident_id: int) -> int:
    """A unit assigned to the incident (as the matcher would have done): its id."""
    unit_id = await session.scalar(
        text("SELECT id FROM units WHERE kind = 'engine' AND status = 'available' ORDER BY id LIMIT 1")
    )
    await make_assignment(
        session,
        incident_id=incident_id,
        unit_id=unit_id,
        slot="engine",
        assigned_at=datetime.now(UTC),
        status="assigned",
    )
    await session.execute(text("UPDATE units SET status = 'dispatched' WHERE id = :u"), {"u": unit_id})
    await session.execute(text("UPDATE incidents SET status = 'dispatched' WHERE id = :i"), {"i": incident_id})
    return unit_id


async def _events(client, headers, incident_id: int) -> list[dict]:
    return (await client.get(f"/api/incidents/{incident_id}/events", headers=headers)).json()


async def test_a_call_taker_may_not_merge_away_an_incident_with_units(client, auth, session, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    fire = (await post_call(client, taker, FIRE)).json()["id"]
    fall = (await post_call(client, taker, FALL)).json()["id"]
    unit_id = await _on_the_way(session, fire)
    before = await _events(client, dispatcher, fire)

    refused = await client.post(f"/api/incidents/{fire}/merge", headers=taker, json={"into": fall})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"incident {fire} has 1 unit on it, which a merge would stand down: merging it takes a dispatcher"
    )
    assert (
        await session.scalar(text("SELECT status::text FROM assignments WHERE incident_id = :i"), {"i": fire})
        == "assigned"
    )
    assert (await client.get(f"/api/incidents/{fire}", headers=taker)).json()["status"] == "dispatched"

    merged = await client.post(f"/api/incidents/{fire}/merge", headers=dispatcher, json={"into": fall})
    assert merged.status_code == 200, merged.text
    # Both keep their history: the merged one all it had, then its unit stood down and the merge; the other
    # the calls it took over, each naming where it came from.
    after = await _events(client, dispatcher, fire)
    assert after[: len(before)] == before
    assert [e["kind"] for e in after[len(before) :]] == ["unassigned", "merged"]
    assert after[-1]["payload"]["into"] == fall and after[-1]["payload"]["units_stood_down"] == [unit_id]
    taken_over = [e for e in await _events(client, dispatcher, fall) if e["kind"] == "call_added"]
    assert [e["payload"]["merged_from"] for e in taken_over] == [fire]


async def test_a_call_taker_may_not_lower_a_priority_by_merging(client, auth, imported_map):
    taker = await auth(Role.call_taker)
    fire = (await post_call(client, taker, FIRE)).json()["id"]  # priority 1
    fall = (await post_call(client, taker, FALL)).json()["id"]  # priority 2
    refused = await client.post(f"/api/incidents/{fire}/merge", headers=taker, json={"into": fall})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"incident {fire} is priority 1 and incident {fall} priority 2: merging "
        "it into a less urgent one takes a dispatcher"
    )
    # The other way round (a fall reported again as part of the fire) is the call-taker's to merge.
    assert (await client.post(f"/api/incidents/{fall}/merge", headers=taker, json={"into": fire})).status_code == 200


async def test_a_type_change_that_changes_the_priority_takes_a_dispatcher(client, auth, session, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    fall = (await post_call(client, taker, FALL)).json()["id"]  # priority 2
    refused = await client.patch(f"/api/incidents/{fall}", headers=taker, json={"type_code": "FIRE-STRUCT"})
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"type FIRE-STRUCT is priority 1 and incident {fall} priority 2: changing the priority takes a dispatcher"
    )
    detail = (await client.get(f"/api/incidents/{fall}", headers=taker)).json()
    assert (detail["type_code"], detail["priority"]) == ("FALL", 2)
    assert [e["kind"] for e in detail["events"]] == ["received", "queued"]
    # The same priority: a correction the call-taker makes.
    assert (
        await client.patch(f"/api/incidents/{fall}", headers=taker, json={"type_code": "OVERDOSE"})
    ).status_code == 200
    assert (
        await client.patch(f"/api/incidents/{fall}", headers=dispatcher, json={"type_code": "FIRE-STRUCT"})
    ).status_code == 200
    assert (await client.get(f"/api/incidents/{fall}", headers=taker)).json()["priority"] == 1


# The caller outbox.


async def test_only_the_sms_gateway_reads_and_marks_the_caller_outbox(client, auth, session, settings, imported_map):
    taker, dispatcher = await auth(Role.call_taker), await auth(Role.dispatcher)
    fire = (await post_call(client, taker, FIRE)).json()["id"]
    closed = await client.post(f"/api/incidents/{fire}/close", headers=dispatcher, json={"disposition": "resolved"})
    assert closed.status_code == 200
    assert "/public/feedback/" not in closed.text and "fb_" not in closed.text
    assert closed.json()["caller_message"] == {
        "kind": "feedback",
        "to": "+4237911111",
        "text": "feedback link offered to the caller",
    }

    for role in (Role.dispatcher, Role.commander, Role.call_taker, Role.admin):
        staff = await auth(role)
        assert (await client.get("/api/caller-messages", headers=staff)).status_code == 403, role
    gateway = await auth(Role.gateway)
    owed = [m for m in (await client.get("/api/caller-messages", headers=gateway)).json() if m["incident_id"] == fire]
    assert len(owed) == 1 and settings.public_base_url + "/public/feedback/fb_" in owed[0]["body"]
    for role in (Role.commander, Role.dispatcher):
        refused = await client.post(f"/api/caller-messages/{owed[0]['id']}/sent", headers=await auth(role))
        assert refused.status_code == 403, role
    assert (await client.post(f"/api/caller-messages/{owed[0]['id']}/sent", headers=gateway)).status_code == 200
    # The gateway's account sends messages and does nothing else.
    assert (await client.get("/api/incidents", headers=gateway)).status_code == 403


# The token's last use.


async def _last_used(session, token_prefix: str):
    return await session.scalar(text("SELECT last_used_at FROM api_tokens WHERE prefix = :p"), {"p": token_prefix})


async def test_a_tokens_last_use_is_written_at_most_once_a_minute(app, client, session, settings):
    forget = app.state.services.tokens.clear  # as the cache's few seconds passing: the token is read again
    _, token = await make_user_with_token(session, settings, role=Role.dispatcher)
    assert await _last_used(session, token[:12]) is None
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
    first = await _last_used(session, token[:12])
    assert first is not None
    await session.execute(
        text("UPDATE api_tokens SET last_used_at = last_used_at - interval '50 seconds' WHERE prefix = :p"),
        {"p": token[:12]},
    )
    forget()
    await client.get("/api/me", headers=bearer(token))
    assert (first - await _last_used(session, token[:12])).total_seconds() == 50  # not written again
    await session.execute(
        text("UPDATE api_tokens SET last_used_at = last_used_at - interval '20 seconds' WHERE prefix = :p"),
        {"p": token[:12]},
    )
    forget()
    await client.get("/api/me", headers=bearer(token))
    assert await _last_used(session, token[:12]) >= first  # a minute on: written
