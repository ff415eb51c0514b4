"""Order on a unit's socket: an assignment never reaches a crew after the cancel that ends it — neither replayed
after a live cancel (a hello that comes late), nor pushed late by a matcher after a dispatcher stood it down."""

import asyncio

import orjson

from dispatch.app import create_app
from dispatch.push import resume as resuming


class Device:
    """The socket's peer as the server's writer sees it: what was sent, in order."""

    def __init__(self) -> None:
        self.got: list[dict] = []

    async def send_text(self, text: str) -> None:
        self.got.append(orjson.loads(text))


async def test_a_hello_later_than_the_hold_never_replays_an_assignment_after_its_live_cancel(
    settings, redis, imported_map
):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.services
        await state.hub.ready.wait()
        unit_id = (await state.board.units())[0].id
        # While the device was away: an assignment (an incident PostgreSQL no longer has open for the unit).
        sent = await state.outbox.send(unit_id, {"type": "assignment", "incident_id": 909, "assignment_id": 90901})
        device = Device()
        sock = state.hub.socket(device, unit_id)
        resuming.hold_for_hello(sock)
        state.hub.add_unit(sock)
        writer = asyncio.create_task(sock.writer())
        await state.pusher.cancel(unit_id, 909, "incident closed")  # live, while the socket waits for hello
        async with asyncio.timeout(10):
            while not any(m["type"] == "cancel" for m in device.got):  # the hold ran out: the cancel went
                await asyncio.sleep(0.05)
        await state.catchup.resume(sock, sent.seq - 1)  # the hello, late: the device says it lacks both
        await asyncio.sleep(0.5)
        writer.cancel()
        kinds = [m["type"] for m in device.got]
        after_cancel = kinds[kinds.index("cancel") :]
        assert "assignment" not in after_cancel, kinds


async def test_a_matchers_late_push_of_an_assignment_already_stood_down_is_not_sent(settings, redis, imported_map):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.services
        unit_id = (await state.board.units())[0].id
        # The matcher committed assignment 777 and is slow to push it; a dispatcher stands the unit down first.
        await state.pusher.cancel(unit_id, 77, "incident cancelled", assignment_id=777)
        late = await state.outbox.send_many(
            [(unit_id, {"type": "assignment", "incident_id": 77, "assignment_id": 777})]
        )
        assert late == [None]
        outbox = [orjson.loads(m) for m in await state.outbox.after(unit_id, 0)]
        assert [m["type"] for m in outbox] == ["cancel"] and outbox[0]["assignment_id"] == 777


async def test_a_resend_made_moot_by_a_newer_message_is_not_sent(settings, redis, imported_map):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.services
        unit_id = (await state.board.units())[0].id
        route = await state.outbox.send(unit_id, {"type": "update", "incident_id": 55, "route": None})
        body = next(m for m in await state.outbox.after(unit_id, 0) if orjson.loads(m)["id"] == route.id)
        await state.pusher.cancel(unit_id, 55, "incident closed")  # the route is moot from now on
        listener = redis.pubsub()
        await listener.subscribe(state.keys.push)
        await listener.get_message(timeout=1)
        assert await state.outbox.republish(unit_id, route.id, body) is False  # its deadline came: not sent
        await redis.publish(state.keys.push, b"marker")
        heard = []
        async with asyncio.timeout(5):
            while b"marker" not in heard:
                message = await listener.get_message(timeout=1)
                if message:
                    heard.append(message["data"])
        assert heard == [b"marker"]
        await listener.aclose()
