"""The service's Redis pool (dispatch.redis_pool): a free connection is taken at once and reused; with none
free, a command waits for one (bounded, as redis-py's blocking pool does); a connection Redis has closed is
replaced before it is used."""

import asyncio

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from dispatch.redis_pool import FreeFirstPool


def _client(settings, size: int, timeout: float = 2.0) -> tuple[aioredis.Redis, FreeFirstPool]:
    pool = FreeFirstPool.from_url(settings.redis_url, max_connections=size, timeout=timeout, socket_timeout=15)
    return aioredis.Redis.from_pool(pool), pool


async def test_commands_one_after_another_share_one_connection(settings, redis):
    client, pool = _client(settings, 4)
    try:
        for i in range(50):
            await client.set("pool:k", i)
        assert int(await client.get("pool:k")) == 49
        assert len(pool._available_connections) + len(pool._in_use_connections) == 1
        assert not pool._in_use_connections  # every command gave its connection back
    finally:
        await client.aclose()


async def test_with_no_connection_free_a_command_waits_for_one_and_the_pool_stays_bounded(settings, redis):
    client, pool = _client(settings, 2)
    try:
        # Two blocking reads hold both connections; a third command waits until one of them is answered.
        held = [asyncio.create_task(client.blpop([f"pool:list{i}"], timeout=10)) for i in range(2)]
        await asyncio.sleep(0.3)
        assert len(pool._in_use_connections) == 2
        third = asyncio.create_task(client.set("pool:third", 1))
        await asyncio.sleep(0.3)
        assert not third.done()  # waiting, not refused, and no third connection made
        await redis.rpush("pool:list0", "x")
        await asyncio.wait_for(third, 5)
        assert await redis.get("pool:third") == b"1"
        await redis.rpush("pool:list1", "x")
        await asyncio.gather(*held)
        assert len(pool._available_connections) + len(pool._in_use_connections) <= 2
    finally:
        await client.aclose()


async def test_the_wait_for_a_connection_is_bounded(settings, redis):
    client, _pool = _client(settings, 1, timeout=0.3)
    try:
        held = asyncio.create_task(client.blpop(["pool:never"], timeout=2))
        await asyncio.sleep(0.2)
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.get("pool:k")
        await held
    finally:
        await client.aclose()


async def test_a_connection_redis_closed_is_replaced_before_use(settings, redis):
    client, pool = _client(settings, 2)
    try:
        own = await client.client_id()
        # Only the pool's connection: the server is shared with the other workers' tests, whose connections stay.
        await redis.client_kill_filter(_id=own)
        await asyncio.sleep(0.1)
        assert await client.ping()  # the closed connection was noticed and opened again
        assert len(pool._available_connections) + len(pool._in_use_connections) == 1
    finally:
        await client.aclose()
