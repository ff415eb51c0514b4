"""The service's Redis connection pool: redis-py's blocking pool, with a fast way to a free connection.

Every Redis command takes a connection from the pool and gives it back. redis-py's BlockingConnectionPool takes
an asyncio condition, a timeout and a lock, and records pool metrics, for every command, whether or not a
connection is free; at some twenty commands per call that was a tenth of the service's own CPU (py-spy, 20
calls/s). One event loop owns the pool, so a connection that is free can be taken with no lock: nothing else
runs between the look and the take. Only when none is free does it wait, through redis-py's own path, which
bounds the pool and the wait. The connection is still checked before use (`ensure_connection`: connected, and
nothing unread left on it), as redis-py does.

It reads the pool's own lists (`_available_connections`, `_in_use_connections`): pyproject.toml holds redis-py
to the major version they are read from, and tests/test_redis_pool.py checks the behaviour they give.
"""

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection


class FreeFirstPool(BlockingConnectionPool):
    async def get_connection(self, command_name=None, *keys, **options) -> AbstractConnection:  # noqa: ARG002
        if self._available_connections:
            connection = self._available_connections.pop()
            self._in_use_connections.add(connection)
            try:
                await self.ensure_connection(connection)
            except BaseException:
                await self.release(connection)
                raise
            return connection
        return await super().get_connection()
