"""A dispatcher's text to a crew goes through the unit's outbox: numbered, resent until acknowledged, audited,
kept in the conversation and marked delivered when the device acknowledges it; a crew's text is kept (with the
moment it was written offline) before the consoles hear of it; the conversation is read back by pages, a unit's
device reading only its own. Real servers and sockets, as in test_push."""

import time
from datetime import UTC, datetime

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import connect

from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.units.conversation import MAX_PAGE
from tests import test_push
from tests.test_crew_device import call_sign, two_units
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
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        kept = (await client.get(f"/api/units/{unit_id}/messages")).json()["messages"]
    assert [(m["message_id"], m["direction"], m["text"], m["from"]) for m in kept] == [
        (posted["id"], "to_crew", "Take the north gate", posted["from"])
    ]
    assert kept[0]["delivered_at"] is None  # resent, never acknowledged yet

    await send(ws, {"type": "ack", "of": message["id"], "id": "m1"})
    assert (await next_of(ws, "ok"))["re"] == "m1"
    delivered = await next_of(console, "unit.message.delivered")
    assert (delivered["unit_id"], delivered["id"]) == (unit_id, posted["id"])
    assert not [m for m in await received(ws, 1.5) if m["type"] == "message"]  # acknowledged: no more
    await send(ws, {"type": "ack", "of": message["id"], "id": "m2"})  # again (its `ok` lost, say): told once
    assert (await next_of(ws, "ok"))["re"] == "m2"
    assert not [m for m in await received(console, 1.0) if m["type"] == "unit.message.delivered"]
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        kept = (await client.get(f"/api/units/{unit_id}/messages")).json()["messages"]
    marked = datetime.fromisoformat(kept[0]["delivered_at"])
    assert abs(marked.timestamp() * 1000 - delivered["delivered_at"]) < 1

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


async def test_a_crews_message_is_kept_with_the_moment_it_was_written_before_the_consoles_hear_it(serve, crews):
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")
    written = int(time.time() * 1000) - 7 * 60_000  # offline for seven minutes

    # PostgreSQL away: the device is told to send it again, and no console heard of a message not kept.
    working = app.state.services.sessionmaker
    gone = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none", connect_args={"timeout": 1})
    app.state.services.sessionmaker = make_sessionmaker(gone)
    try:
        await send(ws, {"type": "message", "text": "Need police", "at": written, "id": "t1"})
        refused = await next_of(ws, "error")
        assert (refused["code"], refused["re"]) == ("retry", "t1")
    finally:
        app.state.services.sessionmaker = working
        await gone.dispose()
    assert not [m for m in await received(console, 0.5) if m["type"] == "unit.message"]

    await send(ws, {"type": "message", "text": "Need police", "at": written, "id": "t2"})
    assert (await next_of(ws, "ok"))["re"] == "t2"
    heard = await next_of(console, "unit.message")
    assert (heard["unit_id"], heard["text"], heard["at"]) == (unit_id, "Need police", written)

    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        kept = (await client.get(f"/api/units/{unit_id}/messages")).json()["messages"]
    assert len(kept) == 1, kept  # the refused one was not kept
    assert (kept[0]["id"], kept[0]["direction"], kept[0]["text"]) == (heard["id"], "from_crew", "Need police")
    assert kept[0]["from"] is None and kept[0]["message_id"] is None and kept[0]["delivered_at"] is None
    assert datetime.fromisoformat(kept[0]["device_at"]) == datetime.fromtimestamp(written / 1000, UTC)
    assert datetime.fromisoformat(kept[0]["at"]).timestamp() * 1000 > written
    await ws.close()
    await console.close()


async def _write(session, unit_id: int, direction: str, words: str) -> int:
    return await session.scalar(
        text(
            "INSERT INTO crew_messages (unit_id, direction, text, author, message_id) "
            "VALUES (:u, CAST(:d AS crew_message_direction), :t, :a, :m) RETURNING id"
        ),
        {
            "u": unit_id,
            "d": direction,
            "t": words,
            "a": "Dispatcher" if direction == "to_crew" else None,
            "m": f"m-{words}" if direction == "to_crew" else None,
        },
    )


async def test_the_conversation_is_read_back_newest_first_by_pages_and_by_its_own_unit_only(
    client, session, auth, imported_map
):
    mine, other = await two_units(session)
    written = [await _write(session, mine, "to_crew" if n % 2 else "from_crew", f"line {n}") for n in range(7)]
    await _write(session, other, "to_crew", "another unit's")
    dispatcher = await auth(Role.dispatcher)

    pages, before = [], None
    while True:
        query = {"limit": 3} | ({} if before is None else {"before": before})
        page = await client.get(f"/api/units/{mine}/messages", params=query, headers=dispatcher)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["unit_id"] == mine and len(body["messages"]) <= 3
        pages.append([m["id"] for m in body["messages"]])
        before = body["next_before"]
        if before is None:
            break
    assert pages == [written[6:3:-1], written[3:0:-1], written[0:1]]
    whole = (await client.get(f"/api/units/{mine}/messages", headers=dispatcher)).json()
    assert [m["text"] for m in whole["messages"]] == [f"line {n}" for n in range(6, -1, -1)]
    assert whole["next_before"] is None
    to_crew = next(m for m in whole["messages"] if m["direction"] == "to_crew")
    assert to_crew["from"] == "Dispatcher" and to_crew["message_id"] == f"m-{to_crew['text']}"

    # A unit's device reads its own conversation, never another unit's; commanders read any; call-takers none.
    crew = await auth(Role.unit, unit_call_sign=await call_sign(session, mine))
    own = await client.get(f"/api/units/{mine}/messages", headers=crew)
    assert own.status_code == 200 and len(own.json()["messages"]) == len(written)
    theirs = await client.get(f"/api/units/{other}/messages", headers=crew)
    assert theirs.status_code == 403 and "own unit" in theirs.json()["detail"]
    commander = await client.get(f"/api/units/{other}/messages", headers=await auth(Role.commander))
    assert [m["text"] for m in commander.json()["messages"]] == ["another unit's"]
    call_taker = await client.get(f"/api/units/{mine}/messages", headers=await auth(Role.call_taker))
    assert call_taker.status_code == 403

    # Bad pages are refused in words; an unknown unit is not found.
    for bad in ({"limit": 0}, {"limit": MAX_PAGE + 1}, {"before": 0}, {"before": "x"}):
        refused = await client.get(f"/api/units/{mine}/messages", params=bad, headers=dispatcher)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    missing = await client.get("/api/units/999999999/messages", headers=dispatcher)
    assert missing.status_code == 404


async def test_a_message_is_marked_delivered_though_postgresql_or_the_outbox_failed_at_the_acknowledgement(
    serve, crews, redis
):
    app, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")
    path = f"/api/units/{unit_id}/messages"

    # PostgreSQL away as the device acknowledges: told to retry, the message awaited again; the retry marks it.
    first = await dispatcher_post(addr, crews["dispatcher"], path, {"text": "Refuel at station 2"})
    assert (await next_of(ws, "message"))["id"] == first["id"]
    working = app.state.services.sessionmaker
    gone = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none", connect_args={"timeout": 1})
    app.state.services.sessionmaker = make_sessionmaker(gone)
    try:
        await send(ws, {"type": "ack", "of": first["id"], "id": "a1"})
        refused = await next_of(ws, "error")
        assert (refused["code"], refused["re"]) == ("retry", "a1")
    finally:
        app.state.services.sessionmaker = working
        await gone.dispose()
    await send(ws, {"type": "ack", "of": first["id"], "id": "a2"})
    assert (await next_of(ws, "ok"))["re"] == "a2"
    assert (await next_of(console, "unit.message.delivered"))["id"] == first["id"]

    # Redis lost the outbox before the acknowledgement: PostgreSQL knows the message by its id.
    second = await dispatcher_post(addr, crews["dispatcher"], path, {"text": "Then back to quarters"})
    assert (await next_of(ws, "message"))["id"] == second["id"]
    await redis.flushdb()
    await send(ws, {"type": "ack", "of": second["id"], "id": "b1"})
    assert (await next_of(ws, "ok"))["re"] == "b1"
    heard = await next_of(console, "unit.message.delivered")
    assert (heard["unit_id"], heard["id"]) == (unit_id, second["id"])

    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        kept = (await client.get(path)).json()["messages"]
    assert [(m["message_id"], m["delivered_at"] is not None) for m in kept] == [
        (second["id"], True),
        (first["id"], True),
    ]
    await ws.close()
    await console.close()
