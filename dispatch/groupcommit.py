"""Group commit: statements of concurrent requests written in one transaction, each answered after its COMMIT.

A call is durable when PostgreSQL has flushed its commit to disk, and that flush (a millisecond or two here) is
the same price for one call or thirty. `GroupWriter.fetchrow` queues a statement; a writer takes everything
queued (what arrived while the previous commit was in flight, and what is ready at the next turn of the event
loop), runs it on one connection in one transaction, commits, and only then answers each statement's caller.

A statement that fails must not fail the others: the transaction is rolled back and each statement of the
batch is run again in a transaction of its own, so each caller gets its own row or its own error. An error
of the connection itself (PostgreSQL away, a restart) goes to every caller of the batch: the requests answer
503 and nothing of theirs was told stored (a COMMIT whose answer was lost may have stored them; a retry with
the same Idempotency-Key is then answered with the call already taken).
"""

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.db_errors import is_unavailable

log = logging.getLogger("dispatch.db")
MAX_BATCH = 64


@dataclass
class _Item:
    sql: str
    args: tuple
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupWriter:
    def __init__(self, engine: AsyncEngine, *, writers: int = 2) -> None:
        self.engine, self.writers = engine, writers
        self._queued: list[_Item] = []
        self._running = 0
        self.commits = 0  # transactions committed, and statements written in them (for tests and measurement)
        self.written = 0
        self._tasks: set[asyncio.Task] = set()

    async def fetchrow(self, sql: str, *args) -> asyncpg.Record | None:
        """The statement's first row, once the transaction that wrote it has committed."""
        item = _Item(sql, args)
        self._queued.append(item)
        if self._running < self.writers:
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._write(), name="group-commit")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await item.done

    async def _write(self) -> None:
        try:
            await asyncio.sleep(0)  # the requests ready at this turn of the loop join the batch
            while self._queued:
                batch, self._queued = self._queued[:MAX_BATCH], self._queued[MAX_BATCH:]
                await self._batch(batch)
        finally:
            self._running -= 1

    async def _batch(self, batch: list[_Item]) -> None:
        try:
            async with self.engine.connect() as conn:
                raw = (await conn.get_raw_connection()).driver_connection
                try:
                    rows = await self._together(raw, batch)
                except Exception as exc:  # noqa: BLE001 - each statement alone decides whose error it was
                    if is_unavailable(exc) or len(batch) == 1:
                        raise
                    log.info("a batch of %d statements failed (%r): each is written alone", len(batch), exc)
                    for item in batch:
                        await self._alone(raw, item)
                    return
        except Exception as exc:  # noqa: BLE001 - the connection's own failure: every caller hears it
            for item in batch:
                if not item.done.done():
                    item.done.set_exception(exc)
            return
        for item, row in zip(batch, rows, strict=True):
            if not item.done.done():
                item.done.set_result(row)

    async def _together(self, raw: asyncpg.Connection, batch: list[_Item]) -> list:
        if len(batch) == 1:
            # Alone (a quiet hour): one statement commits by itself, one round trip instead of BEGIN, the
            # statement and COMMIT.
            rows = [await raw.fetchrow(batch[0].sql, *batch[0].args)]
        else:
            async with raw.transaction():
                rows = [await raw.fetchrow(item.sql, *item.args) for item in batch]
        self.commits += 1
        self.written += len(batch)
        return rows

    async def _alone(self, raw: asyncpg.Connection, item: _Item) -> None:
        try:
            [row] = await self._together(raw, [item])
        except Exception as exc:  # noqa: BLE001 - this statement's error is its caller's
            if is_unavailable(exc):
                raise
            if not item.done.done():
                item.done.set_exception(exc)
        else:
            if not item.done.done():
                item.done.set_result(row)
