"""A crew's press sent again with the same id (its answer lost with the socket) is answered as the first time and
has no other effect: a status is not judged again (it would no longer be the next one), a crew's message is
stored and announced once, even after Redis forgot the answers. Real servers and sockets, as in test_push."""

import asyncio

import orjson
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect

from dispatch.keys import Keys
from dispatch.push.answers import Answers
from dispatch.units import conversation
from tests import test_push
from tests.test_matching_flow import FIRE
from tests.test_push import bearer, device, first_assignment, next_of, take_call
from tests.test_push_faults import received, send

crews, serve = test_push.crews, test_push.serve

pytestmark = pytest.mark.slow


async def answer_to(ws, message: dict) -> dict:
    """Sends `message` and returns the `ok` or `error` that answers it, skipping everything else."""
    await send(ws, message)
    while True:
        got = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        if got["type"] in ("ok", "error") and got.get("re") == message["id"]:
            return got


async def test_a_status_sent_again_gets_its_first_answer_and_is_recorded_once(serve, crews, engine):
    _, addr = await serve()
    sockets = {u: await device(addr, t, last_seq=0) for u, t in crews["units"].items()}
    incident_id = await take_call(addr, crews["call_taker"], {**FIRE, "type_code": "FIRE-OTHER"})
    unit_id, assignment = await first_assignment(sockets)
    ws = sockets[unit_id]
    assert (await answer_to(ws, {"type": "ack", "of": assignment["id"], "id": "a1"}))["type"] == "ok"
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")

    en_route = {"type": "status", "status": "en_route", "assignment_id": assignment["assignment_id"], "id": "s1"}
    first = await answer_to(ws, en_route)
    assert first["type"] == "ok" and first["unit"]["status"] == "en_route"
    on_scene = {**en_route, "status": "on_scene", "id": "s2"}
    assert (await answer_to(ws, on_scene))["unit"]["status"] == "on_scene"
    # The socket died before the device had the first answer: sent again, it is answered as the first time,
    # although en_route is no longer the next status (without its id it would be refused as a conflict).
    assert await answer_to(ws, en_route) == first
    assert (await answer_to(ws, {**en_route, "id": "s3"}))["code"] == "conflict"
    refused = {**en_route, "assignment_id": 987654321, "id": "s4"}
    error = await answer_to(ws, refused)
    assert error["type"] == "error" and error["code"] == "conflict" and "987654321" in error["message"]
    assert await answer_to(ws, refused) == error  # a refusal is repeated alike

    async with engine.connect() as conn:
        events = (
            await conn.scalars(
                text("SELECT kind::text FROM incident_events WHERE incident_id = :i ORDER BY id"), {"i": incident_id}
            )
        ).all()
        unit_status = await conn.scalar(text("SELECT status::text FROM units WHERE id = :u"), {"u": unit_id})
    assert events.count("en_route") == 1 and events.count("on_scene") == 1, events
    assert unit_status == "on_scene"
    heard = [m for m in await received(console, 1.0) if m["type"] == "unit.status" and m["unit_id"] == unit_id]
    assert [m["status"] for m in heard] == ["en_route", "on_scene"]
    for socket_ in [*sockets.values(), console]:
        await socket_.close()


async def conversation_rows(engine, unit_id: int) -> list[tuple[str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT text, device_id FROM crew_messages WHERE unit_id = :u ORDER BY id"), {"u": unit_id}
        )
        return [(r.text, r.device_id) for r in rows]


async def test_a_crews_message_sent_again_is_stored_and_announced_once_even_after_redis_forgot(
    serve, crews, engine, redis
):
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")

    words = {"type": "message", "text": "Need police", "id": "t1"}
    first = await answer_to(ws, words)
    assert first == {"type": "ok", "re": "t1"}
    assert (await next_of(console, "unit.message"))["text"] == "Need police"
    assert await answer_to(ws, words) == first
    await redis.flushdb()  # Redis restarted empty: PostgreSQL still knows the message by its device id
    await ws.close()
    ws = await device(addr, token)
    assert await answer_to(ws, words) == first

    assert await conversation_rows(engine, unit_id) == [("Need police", "t1")]
    assert not [m for m in await received(console, 1.0) if m["type"] == "unit.message"]
    # Another press with the same words is another message.
    assert (await answer_to(ws, {**words, "id": "t2"}))["type"] == "ok"
    assert (await next_of(console, "unit.message"))["text"] == "Need police"
    assert await conversation_rows(engine, unit_id) == [("Need police", "t1"), ("Need police", "t2")]
    await ws.close()
    await console.close()


async def test_a_press_outlives_the_socket_replaced_while_it_is_at_work(serve, crews, engine, monkeypatch):
    """The device reconnects (its new socket replaces the old one) while the server stores its message: the work is
    finished and told to the consoles, and the resend on the new socket gets the same answer, nothing twice."""
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    await next_of(console, "snapshot")
    stored, real = asyncio.Event(), conversation.record_from_crew

    async def slow(*args, **kwargs):
        kept = await real(*args, **kwargs)
        stored.set()
        await asyncio.sleep(1.0)  # stored, not yet told to the consoles nor kept as answered
        return kept

    monkeypatch.setattr(conversation, "record_from_crew", slow)
    old = await device(addr, token)
    words = {"type": "message", "text": "Patient is stable", "id": "t9"}
    await send(old, words)
    await asyncio.wait_for(stored.wait(), 10)
    new = await device(addr, token)  # the server closes the old socket (4009) in the middle of the work
    assert await answer_to(new, words) == {"type": "ok", "re": "t9"}
    heard = [m for m in await received(console, 1.5) if m["type"] == "unit.message"]
    assert [(m["unit_id"], m["text"]) for m in heard] == [(unit_id, "Patient is stable")]
    assert await conversation_rows(engine, unit_id) == [("Patient is stable", "t9")]
    await new.close()
    await console.close()


async def test_the_answers_kept_are_bounded_in_number_and_time(settings, redis):
    keys = Keys(settings.key_prefix)
    answers = Answers(redis, keys, keep_max=3)
    for n in range(5):
        await answers.remember(7, f"m{n}", orjson.dumps({"type": "ok", "re": f"m{n}"}))
    kept = [await answers.given(7, f"m{n}") for n in range(5)]
    assert kept[:2] == [None, None] and [orjson.loads(k)["re"] for k in kept[2:]] == ["m2", "m3", "m4"]
    assert await redis.hlen(keys.answers(7)) == 3 and await redis.zcard(keys.answers_at(7)) == 3
    assert 0 < await redis.pttl(keys.answers(7)) <= 24 * 3600 * 1000
    assert await answers.given(8, "m4") is None  # another unit's ids are its own

    brief = Answers(redis, keys, keep_s=1.0)
    await brief.remember(9, "old", b'{"type":"ok","re":"old"}')
    await asyncio.sleep(0.6)
    await brief.remember(9, "mid", b'{"type":"ok","re":"mid"}')
    await asyncio.sleep(0.6)
    assert await brief.given(9, "old") is None  # older than kept: a new message, not a resend
    assert await brief.given(9, "mid") is not None
    await brief.remember(9, "new", b'{"type":"ok","re":"new"}')
    assert sorted(await redis.hkeys(keys.answers(9))) == [b"mid", b"new"]  # the old one dropped by the next write
