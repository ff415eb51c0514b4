"""What a route does after its commit (the queue, the board, the crews' cancels) never turns a stored change
into an error: with Redis away, a close is answered 200 (it is stored; a 503 saying "nothing was stored" made
dispatchers close twice), and the crew's cancel goes out once Redis is back."""

import asyncio
from datetime import UTC, datetime

import orjson
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from benchmarks.bench.servers import PrivateRedis
from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from tests.builders import free_everything, make_assignment, make_incident, make_user_with_token


async def test_a_close_while_redis_is_away_is_answered_as_stored_and_the_crew_told_later(
    settings, engine, imported_map
):
    await free_everything(engine)
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as s:
        unit_id = await s.scalar(text("SELECT id FROM units WHERE call_sign = 'Engine 1'"))
        _, token = await make_user_with_token(s, settings, role=Role.dispatcher)
        incident = await make_incident(s, received_at=now, status="dispatched", dispatched_at=now)
        assignment = await make_assignment(
            s, incident_id=incident, unit_id=unit_id, slot="engine", assigned_at=now, status="acknowledged"
        )
        await s.execute(text("UPDATE units SET status = 'acknowledged' WHERE id = :u"), {"u": unit_id})
        await s.commit()
    redis = PrivateRedis().start()
    app = create_app(settings.model_copy(update={"redis_url": redis.url}))
    try:
        async with (
            app.router.lifespan_context(app),
            AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
        ):
            redis.kill()
            closed = await client.post(
                f"/api/incidents/{incident}/close",
                json={"disposition": "resolved"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert closed.status_code == 200, closed.text
            async with engine.connect() as conn:
                assert (
                    await conn.scalar(text("SELECT status::text FROM incidents WHERE id = :i"), {"i": incident})
                    == "closed"
                )
            redis.start()
            async with asyncio.timeout(20):
                while True:
                    try:
                        sent = [orjson.loads(m) for m in await app.state.services.outbox.after(unit_id, 0)]
                    except OSError:
                        sent = []
                    if any(m["type"] == "cancel" and m.get("assignment_id") == assignment for m in sent):
                        break
                    await asyncio.sleep(0.3)
    finally:
        redis.close()
        await free_everything(engine)
