"""An acknowledgement that reaches a server whose Redis lost the outbox meanwhile still counts."""

import asyncio

import pytest

from tests import test_push
from tests.test_push import device, next_of
from tests.test_push_faults import ack, assign, db_one, received

crews, serve = test_push.crews, test_push.serve

pytestmark = pytest.mark.slow


async def test_an_assignment_acknowledged_after_redis_lost_its_outbox_is_still_acknowledged(
    serve, crews, redis, engine
):
    """The crew got the assignment; Redis restarted before the device's ack arrived. The ack must still count
    (else the sweep sends it again as a new message and the deadline escalates a crew that has the job), and
    the assignment sent again is the same message to the device (the same id)."""
    _, addr = await serve(auto_dispatch_priorities=[])
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    await assign(addr, crews, unit_id)
    got = await next_of(ws, "assignment")
    await redis.flushdb()  # Redis restarted, empty, before the ack
    await ack(ws, got)
    async with asyncio.timeout(10):
        while (await db_one(engine, "SELECT status::text FROM assignments WHERE id = :a", a=got["assignment_id"]))[
            0
        ] != "acknowledged":
            await asyncio.sleep(0.2)
    again = [m for m in await received(ws, 4) if m["type"] == "assignment"]
    assert all(m["id"] == got["id"] for m in again)
    await ws.close()
