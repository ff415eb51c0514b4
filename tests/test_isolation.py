"""Two deployments on one Redis (the demo beside the tests, a bench beside staging): pub/sub ignores
database numbers, so every key and channel is under the deployment's prefix, and nothing of one reaches the
other — neither a console change nor a unit's message, although both have a unit 7."""

import asyncio

from dispatch.app import create_app
from dispatch.config import Settings
from dispatch.push.hub import Socket


def _listen(app, unit_id: int) -> tuple[Socket, Socket]:
    """A console and a unit's socket in this deployment's hub (their queues show what they would be sent)."""
    hub = app.state.services.hub
    console, unit = hub.socket(None, None), hub.socket(None, unit_id)
    hub.consoles.add(console)
    hub.add_unit(unit)
    return console, unit


async def _drain(sock: Socket) -> list[bytes]:
    out = []
    while not sock.queue.empty():
        out.append((await sock.queue.get())[1])
    return out


async def _until(sock: Socket, marker: bytes) -> list[bytes]:
    """Everything the socket is offered up to and including a message containing `marker`."""
    seen = []
    async with asyncio.timeout(10):
        while True:
            body = (await sock.queue.get())[1]
            seen.append(body)
            if marker in body:
                return seen


async def test_two_deployments_on_one_redis_hear_nothing_of_each_other(settings: Settings, imported_map, redis):
    north = create_app(settings.model_copy(update={"redis_prefix": "north"}))
    south = create_app(settings.model_copy(update={"redis_prefix": "south"}))
    async with north.router.lifespan_context(north), south.router.lifespan_context(south):
        await asyncio.gather(north.state.services.hub.ready.wait(), south.state.services.hub.ready.wait())
        n_console, n_unit = _listen(north, 7)
        s_console, s_unit = _listen(south, 7)
        await _drain(n_console)

        # South tells its consoles of an alert and its unit 7 of an assignment.
        await south.state.services.queue_keeper.publish(
            {"type": "alert", "kind": "escalation", "unit_id": 7, "detail": "south-only"}
        )
        await south.state.services.outbox.send(7, {"type": "assignment", "incident_id": 1, "detail": "south-only"})
        assert any(b"south-only" in m for m in await _until(s_console, b"south-only"))
        assert any(b"south-only" in m for m in await _until(s_unit, b"south-only"))

        # Then north says something to its own. Redis delivers in order on a connection: had north's listener
        # heard south's channels, south's messages would come before north's own.
        await north.state.services.queue_keeper.publish({"type": "alert", "kind": "ack_late", "detail": "north-marker"})
        await north.state.services.outbox.send(7, {"type": "update", "incident_id": 2, "detail": "north-marker"})
        heard_console = await _until(n_console, b"north-marker")
        heard_unit = await _until(n_unit, b"north-marker")
        assert not any(b"south" in m for m in heard_console + heard_unit)

        # Their keys do not meet either: south's unit 7 has its own outbox, numbered on its own.
        assert [k async for k in redis.scan_iter("south:*")] and [k async for k in redis.scan_iter("north:*")]
        assert not [k async for k in redis.scan_iter("dispatch:*")]
        unit_id = (await north.state.services.board.units())[0].id
        before = await north.state.services.board.get(unit_id)
        await south.state.services.board.update(unit_id, status="out_of_service")
        assert (await north.state.services.board.get(unit_id)).status == before.status != "out_of_service"
