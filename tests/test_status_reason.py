"""A dispatcher setting a unit's status by hand gives a reason for out of service and for taking a unit off its job
before it reached the scene; the audit keeps it, the crew's device and the consoles are told it."""

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from tests.builders import free_everything, make_assignment, make_incident, make_user_with_token


@pytest.fixture
async def fleet(settings, engine, imported_map, redis):
    """Committed (the status report opens sessions of its own): Engine 1 sent to an incident, Engine 2 on scene at
    another, a dispatcher's and Engine 1's tokens."""
    await free_everything(engine)
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as s:
        ids = dict((await s.execute(text("SELECT call_sign, id FROM units WHERE call_sign LIKE 'Engine _'"))).all())
        one, two = ids["Engine 1"], ids["Engine 2"]
        for unit, status, assignment in ((one, "dispatched", "assigned"), (two, "on_scene", "on_scene")):
            incident = await make_incident(s, received_at=now, status="dispatched", dispatched_at=now)
            await make_assignment(
                s, incident_id=incident, unit_id=unit, slot="engine", assigned_at=now, status=assignment
            )
            await s.execute(
                text("UPDATE units SET status = CAST(:s AS unit_status) WHERE id = :u"), {"s": status, "u": unit}
            )
        _, dispatcher = await make_user_with_token(s, settings, role=Role.dispatcher)
        _, crew = await make_user_with_token(s, settings, role=Role.unit, unit_call_sign="Engine 3")
        await s.commit()
    yield {"one": one, "two": two, "three": ids["Engine 3"], "dispatcher": dispatcher, "crew": crew}
    await free_everything(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE unit_id IS NOT NULL)")
        )
        await conn.execute(text("DELETE FROM users WHERE unit_id IS NOT NULL"))


async def test_a_dispatcher_gives_a_reason_that_the_audit_the_crew_and_the_consoles_get(settings, engine, fleet, redis):
    app = create_app(settings)
    dispatcher = {"Authorization": f"Bearer {fleet['dispatcher']}"}
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):

        async def status(unit: int, body: dict, headers=dispatcher):
            return await client.post(f"/api/units/{unit}/status", headers=headers, json=body)

        one, two, three = fleet["one"], fleet["two"], fleet["three"]
        # Without a reason: out of service, or off a job not yet reached, is refused and changes nothing.
        refused = await status(three, {"status": "out_of_service"})
        assert refused.status_code == 422 and "reason" in refused.json()["detail"]
        off_job = await status(one, {"status": "available"})
        assert off_job.status_code == 422 and "reason" in off_job.json()["detail"]
        for blank in ("", "   ", "x" * 501):
            assert (await status(one, {"status": "available", "reason": blank})).status_code == 422
        assert (await app.state.services.board.get(one)).status == "dispatched"
        # Freeing a unit done at its scene is the end of its job, as its crew would press it; a crew needs none.
        assert (await status(two, {"status": "available"})).status_code == 200
        crew = {"Authorization": f"Bearer {fleet['crew']}"}
        assert (await status(three, {"status": "out_of_service"}, headers=crew)).status_code == 200
        assert (await status(three, {"status": "available"}, headers=crew)).status_code == 200

        pubsub = redis.pubsub()
        await pubsub.subscribe(app.state.services.keys.events)
        taken_off = await status(one, {"status": "out_of_service", "reason": "pump failure"})
        assert taken_off.status_code == 200, taken_off.text
        # The crew: a cancel and its unit's status, both with the dispatcher's words.
        told = [orjson.loads(m) for m in await app.state.services.outbox.after(one, 0)]
        assert next(m for m in told if m["type"] == "cancel")["reason"] == "pump failure"
        unit_status = next(m for m in told if m["type"] == "unit_status")
        assert (unit_status["status"], unit_status["reason"]) == ("out_of_service", "pump failure")
        # The consoles.
        heard = None
        while heard is None or heard["type"] != "unit.status":
            message = await asyncio.wait_for(pubsub.get_message(ignore_subscribe_messages=True, timeout=5), 6)
            heard = orjson.loads(message["data"]) if message else None
        assert heard["unit_id"] == one and heard["reason"] == "pump failure"
        await pubsub.aclose()
    # The audit.
    async with engine.connect() as conn:
        audited = (
            await conn.execute(
                text("""SELECT after FROM audit_records WHERE action = 'unit.status' AND object_id = :u
                        ORDER BY id DESC LIMIT 1"""),
                {"u": str(one)},
            )
        ).scalar_one()
    assert audited["status"] == "out_of_service" and audited["reason"] == "pump failure"
