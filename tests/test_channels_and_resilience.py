"""SMS and public reports; and the promise that a call PostgreSQL accepted is never lost, whatever Redis does."""

import hashlib
import hmac

import orjson
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.incidents import repository as repo
from dispatch.queue.service import IncidentQueue
from tests.builders import make_user_with_token
from tests.test_intake import FIRE, post_call


def signed(body: dict, secret: str) -> tuple[bytes, dict]:
    raw = orjson.dumps(body)
    return raw, {
        "X-Signature": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


async def test_sms_is_parsed_for_a_place_and_waits_for_confirmation(app, client, auth, settings, redis, imported_map):
    raw, headers = signed(
        {
            "message_id": "m-1",
            "from": "+41791234567",
            "text": "Hilfe, Unfall mit Verletzten. Landstrasse / Sankt Markusgasse",
        },
        settings.sms_webhook_secret,
    )
    response = await client.post("/api/inbound/sms", content=raw, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "unconfirmed" and "Markusgasse" in body["location"]
    queue = IncidentQueue(redis, prefix=settings.key_prefix)
    assert (await queue.size()) == (0, 0)  # nothing dispatched before a person confirms
    again = await client.post("/api/inbound/sms", content=raw, headers=headers)
    assert again.json()["incident_id"] == body["incident_id"] and again.json()["replayed"] is True
    taker = await auth(Role.call_taker)
    consoles = redis.pubsub()
    await consoles.subscribe(app.state.services.queue_keeper.channel)
    confirmed = await client.post(f"/api/incidents/{body['incident_id']}/confirm", headers=taker)
    assert confirmed.status_code == 200
    assert [e.incident_id for e in await queue.snapshot()] == [body["incident_id"]]
    # The consoles hear of it as a new incident with its priority (a priority-1 one is sounded).
    heard = [await consoles.get_message(timeout=5) for _ in range(2)]  # the subscription's confirmation first
    await consoles.aclose()
    assert heard[1] and orjson.loads(heard[1]["data"]) == {
        "type": "incident.created",
        "incident_id": body["incident_id"],
        "priority": (await client.get(f"/api/incidents/{body['incident_id']}", headers=taker)).json()["priority"],
    }


async def test_sms_with_a_bad_signature_is_refused(client, settings):
    raw, headers = signed({"message_id": "m-2", "from": "+41791234567", "text": "Feuer"}, "wrong secret")
    assert (await client.post("/api/inbound/sms", content=raw, headers=headers)).status_code == 401
    raw, headers = signed({"message_id": "m-3", "text": "Feuer"}, settings.sms_webhook_secret)
    assert (await client.post("/api/inbound/sms", content=raw, headers=headers)).status_code == 422


async def test_public_reports_need_no_login_reveal_nothing_and_are_rate_limited(client, settings, imported_map):
    report = {
        "phone": "+423 600 00 00",
        "location_text": "Städtle 23, Vaduz",
        "type_code": "NOISE",
        "description": "Music very loud since midnight",
    }
    response = await client.post("/api/public/reports", json=report)
    assert response.status_code == 202
    assert set(response.json()) == {"reference", "status", "message"}  # no history, no duplicates
    for n in range(settings.public_reports_per_hour):
        await client.post("/api/public/reports", json={**report, "description": f"still loud {n}"})
    limited = await client.post("/api/public/reports", json={**report, "description": "and again"})
    assert limited.status_code == 429


@pytest.mark.parametrize(
    "report",
    [
        {"location_text": "Städtle 23, Vaduz", "description": "loud music"},  # no phone
        {"phone": "+423 600 00 01", "description": "loud music"},  # nowhere
        {"phone": "+423 600 00 02", "location_text": "Städtle 23", "description": "x"},  # too short
        {"phone": "+423 600 00 03", "location_text": "Städtle 23", "description": "loud music", "type_code": "UNKNOWN"},
        {"phone": "+423 600 00 04", "location_text": "Städtle 23", "description": "loud music", "priority": 1},
    ],
)
async def test_public_reports_are_validated_strictly(client, report):
    assert (await client.post("/api/public/reports", json=report)).status_code == 422


@pytest.fixture
async def committed_taker(settings, engine, imported_map):
    """An account committed for real: these tests run apps that open their own sessions."""
    async with make_sessionmaker(engine)() as session:
        _user, token = await make_user_with_token(session, settings, role=Role.call_taker)
        await session.commit()
    yield {"Authorization": f"Bearer {token}"}
    # These tests commit for real: retire what they left waiting, so other tests see an empty queue.
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE incidents SET status = 'cancelled', closed_at = now() "
                "WHERE status IN ('pending', 'unconfirmed')"
            )
        )


async def run_app(settings):
    app = create_app(settings)
    return app, AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


async def test_a_call_taken_while_redis_is_down_is_queued_when_redis_is_back(settings, committed_taker, redis):
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/15"})
    app, client = await run_app(down)
    async with app.router.lifespan_context(app), client:
        response = await post_call(client, committed_taker, {**FIRE, "caller_number": "+423 700 00 01"})
        assert response.status_code == 201  # PostgreSQL has it: the caller is answered
        assert app.state.services.queue_keeper.owed == 1
    incident_id = response.json()["id"]
    app, client = await run_app(settings)  # Redis is back: the service starts and restores the queue
    async with app.router.lifespan_context(app), client:
        assert incident_id in [e.incident_id for e in await app.state.services.queue.snapshot()]


async def test_a_redis_restart_loses_nothing(settings, committed_taker, redis):
    app, client = await run_app(settings)
    async with app.router.lifespan_context(app), client:
        ids = [
            (await post_call(client, committed_taker, {**FIRE, "caller_number": f"+423 710 00 0{n}"})).json()["id"]
            for n in range(5)
        ]
        lease = await app.state.services.queue.lease("matcher-1")
        assert lease is not None
        await redis.flushdb()  # what a restart of a Redis without persistence leaves
        assert not await app.state.services.queue.is_intact()
        await app.state.services.queue_keeper.reconcile()
        waiting = [e.incident_id for e in await app.state.services.queue.snapshot(1000)]
    assert set(ids) <= set(waiting)


async def test_intake_answers_503_when_postgres_is_away(settings, committed_taker, redis):
    app, client = await run_app(settings)
    async with app.router.lifespan_context(app), client:
        dead = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        real = app.state.services.sessionmaker
        app.state.services.sessionmaker = make_sessionmaker(dead)
        try:
            response = await post_call(client, committed_taker, FIRE)
        finally:
            app.state.services.sessionmaker = real
            await dead.dispose()
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.headers["content-type"] == "application/problem+json"


async def test_pending_incidents_in_postgres_are_what_the_queue_holds(client, auth, session, imported_map):
    taker = await auth(Role.call_taker)
    ids = {(await post_call(client, taker, FIRE)).json()["id"] for _ in range(3)}
    waiting = {row[0] for row in await repo.pending_for_queue(session)}
    assert ids <= waiting
    statuses = await session.execute(
        text("SELECT DISTINCT status::text FROM incidents WHERE id = ANY(:i)"), {"i": list(ids)}
    )
    assert statuses.scalars().all() == ["pending"]
