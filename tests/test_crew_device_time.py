"""A status or a message the crew entered while offline is sent later with the moment it was pressed (`at`, the
device's clock): the server keeps it beside its own time, and refuses one that cannot be true."""

import time

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from websockets.asyncio.client import connect

from tests import test_push
from tests.test_push import bearer, device, next_of
from tests.test_push_faults import assign, send

crews, serve = test_push.crews, test_push.serve

pytestmark = pytest.mark.slow


async def _events(engine, incident_id: int, kind: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM incident_events WHERE incident_id = :i AND kind = :k ORDER BY id"),
            {"i": incident_id, "k": kind},
        )
        return [r[0] for r in rows]


async def test_statuses_sent_late_keep_the_moment_the_crew_pressed_them(serve, crews, engine):
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    incident_id = await assign(addr, crews, unit_id)
    job = await next_of(ws, "assignment")
    await send(ws, {"type": "ack", "of": job["id"]})
    pressed = int(time.time() * 1000) - 90_000  # a minute and a half ago, in a dead zone
    await send(
        ws, {"type": "status", "status": "en_route", "assignment_id": job["assignment_id"], "at": pressed, "id": "s1"}
    )
    assert (await next_of(ws, "ok"))["re"] == "s1"
    [en_route] = await _events(engine, incident_id, "en_route")
    assert en_route["device_at"].startswith(time.strftime("%Y-%m-%dT", time.gmtime(pressed / 1000)))
    # The server's own time stays the event's time; the device's is beside it.
    async with engine.connect() as conn:
        lag = await conn.scalar(
            text(
                "SELECT extract(epoch FROM at - (payload->>'device_at')::timestamptz) FROM incident_events "
                "WHERE incident_id = :i AND kind = 'en_route'"
            ),
            {"i": incident_id},
        )
    assert 85 < lag < 120

    ahead = int(time.time() * 1000) + 3_600_000
    await send(
        ws, {"type": "status", "status": "on_scene", "assignment_id": job["assignment_id"], "at": ahead, "id": "s2"}
    )
    refused = await next_of(ws, "error")
    assert refused["re"] == "s2" and refused["code"] == "bad_message" and "ahead" in refused["message"]
    assert await _events(engine, incident_id, "on_scene") == []

    # Over HTTP the same, and freeing the unit ends the assignment with the crew's moment too.
    async with AsyncClient(base_url=f"http://{addr}") as client:
        done = await client.post(
            f"/api/units/{unit_id}/status",
            json={"status": "on_scene", "assignment_id": job["assignment_id"], "at": pressed + 60_000},
            headers=bearer(token),
        )
        assert done.status_code == 200, done.text
        stale = await client.post(
            f"/api/units/{unit_id}/status",
            json={"status": "available", "assignment_id": job["assignment_id"], "at": 1_000},
            headers=bearer(token),
        )
        assert stale.status_code == 422 and "24 h" in stale.json()["detail"]
        freed = await client.post(
            f"/api/units/{unit_id}/status",
            json={"status": "available", "assignment_id": job["assignment_id"], "at": pressed + 120_000},
            headers=bearer(token),
        )
        assert freed.status_code == 200, freed.text
    [on_scene] = await _events(engine, incident_id, "on_scene")
    [cleared] = await _events(engine, incident_id, "cleared")
    assert "device_at" in on_scene and "device_at" in cleared
    await ws.close()


async def test_a_message_written_offline_reaches_the_dispatchers_with_its_moment(serve, crews):
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")
    written = int(time.time() * 1000) - 30_000
    await send(ws, {"type": "message", "text": "Road blocked by a fallen tree", "at": written})
    heard = await next_of(console, "unit.message")
    assert (heard["unit_id"], heard["text"], heard["at"]) == (unit_id, "Road blocked by a fallen tree", written)
    await ws.close()
    await console.close()
