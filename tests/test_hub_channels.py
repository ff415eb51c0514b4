"""A process that holds no sockets (a matcher of its own) hears the change messages, not every unit message."""

import asyncio

from dispatch.keys import Keys
from dispatch.push.hub import Hub

KEYS = Keys("hub-test")


async def test_a_hub_without_sockets_listens_to_the_changes_only(redis):
    with_sockets, without = Hub(redis, KEYS), Hub(redis, KEYS, units=False)
    heard: list[bytes] = []
    without.on_event.append(heard.append)
    with_sockets.start()
    without.start()
    try:
        await asyncio.wait_for(asyncio.gather(with_sockets.ready.wait(), without.ready.wait()), 5)
        counts = dict(await redis.pubsub_numsub(KEYS.push, KEYS.events))
        assert counts == {KEYS.push.encode(): 1, KEYS.events.encode(): 2}
        await redis.publish(KEYS.events, b'{"type":"incident.created"}')
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [b'{"type":"incident.created"}']
    finally:
        await with_sockets.stop()
        await without.stop()
