"""A unit's device reporting over HTTP follows the websocket's rule: a status about an assignment names it, and
one for an assignment that is no longer the unit's is refused, changing nothing."""

from datetime import UTC, datetime

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from tests.builders import free_everything, make_assignment, make_incident, make_user_with_token


async def test_a_device_status_over_http_names_its_assignment(settings, engine, imported_map, redis):
    await free_everything(engine)
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as s:  # committed: the status report opens sessions of its own
        unit_id = await s.scalar(text("SELECT id FROM units WHERE call_sign = 'Engine 1'"))
        _, token = await make_user_with_token(s, settings, role=Role.unit, unit_call_sign="Engine 1")
        old_incident = await make_incident(s, received_at=now, status="cancelled")
        old = await make_assignment(
            s, incident_id=old_incident, unit_id=unit_id, slot="engine", assigned_at=now, status="cancelled"
        )
        incident = await make_incident(s, received_at=now, status="dispatched", dispatched_at=now)
        current = await make_assignment(
            s, incident_id=incident, unit_id=unit_id, slot="engine", assigned_at=now, status="assigned"
        )
        await s.execute(text("UPDATE units SET status = 'dispatched' WHERE id = :u"), {"u": unit_id})
        await s.commit()
    crew = {"Authorization": f"Bearer {token}"}
    url = f"/api/units/{unit_id}/status"
    app = create_app(settings)  # on committed data: every request in a session of its own, as in production
    try:
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
        ):
            await check(client, url, crew, old, current, engine, unit_id)
    finally:
        await free_everything(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE unit_id IS NOT NULL)")
            )
            await conn.execute(text("DELETE FROM users WHERE unit_id IS NOT NULL"))


async def check(client, url, crew, old, current, engine, unit_id) -> None:
    unnamed = await client.post(url, headers=crew, json={"status": "en_route"})
    assert unnamed.status_code == 422 and "assignment_id" in unnamed.json()["detail"]
    stale = await client.post(url, headers=crew, json={"status": "en_route", "assignment_id": old})
    assert stale.status_code == 409, stale.text
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT status::text FROM units WHERE id = :u"), {"u": unit_id}) == "dispatched"
    named = await client.post(url, headers=crew, json={"status": "en_route", "assignment_id": current})
    assert named.status_code == 200 and named.json()["status"] == "en_route"
