"""A dispatcher's text to a crew goes through the unit's outbox: numbered, resent until acknowledged, audited,
and the consoles hear of it. Real servers and sockets, as in test_push."""

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from websockets.asyncio.client import connect

from tests import test_push
from tests.test_push import bearer, device, next_of
from tests.test_push_faults import dispatcher_post, received, send

crews, serve = test_push.crews, test_push.serve

pytestmark = pytest.mark.slow


async def test_a_dispatchers_message_is_resent_until_the_crew_acknowledges_it(serve, crews, engine):
    _, addr = await serve(matcher=False, ack_deadline_s=0.5)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")

    posted = await dispatcher_post(
        addr, crews["dispatcher"], f"/api/units/{unit_id}/messages", {"text": "  Take the north gate  "}
    )
    assert posted["text"] == "Take the north gate" and posted["from"] and posted["unit_id"] == unit_id
    message = await next_of(ws, "message")
    assert (message["id"], message["text"], message["from"]) == (posted["id"], "Take the north gate", posted["from"])
    assert message["seq"] > 0
    heard = await next_of(console, "unit.message.sent")
    assert (heard["unit_id"], heard["id"], heard["text"]) == (unit_id, posted["id"], "Take the north gate")

    again = await next_of(ws, "message", timeout=3)  # not acknowledged: the same message again
    assert (again["id"], again["seq"]) == (message["id"], message["seq"])
    await send(ws, {"type": "ack", "of": message["id"], "id": "m1"})
    assert (await next_of(ws, "ok"))["re"] == "m1"
    assert not [m for m in await received(ws, 1.5) if m["type"] == "message"]  # acknowledged: no more

    async with engine.connect() as conn:
        audited = await conn.scalar(
            text("SELECT count(*) FROM audit_records WHERE action = 'unit.message' AND object_id = :u"),
            {"u": str(unit_id)},
        )
    assert audited >= 1
    await ws.close()
    await console.close()


async def test_only_a_dispatcher_writes_to_a_crew(serve, crews):
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    async with AsyncClient(base_url=f"http://{addr}") as client:
        url = f"/api/units/{unit_id}/messages"
        assert (await client.post(url, json={"text": "hi"}, headers=bearer(token))).status_code == 403
        assert (await client.post(url, json={"text": "hi"}, headers=bearer(crews["call_taker"]))).status_code == 403
        empty = await client.post(url, json={"text": "  "}, headers=bearer(crews["dispatcher"]))
        assert empty.status_code == 422
        missing = await client.post(
            "/api/units/999999/messages", json={"text": "x"}, headers=bearer(crews["dispatcher"])
        )
        assert missing.status_code == 404
