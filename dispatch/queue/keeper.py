"""Keeps the Redis queue equal to what PostgreSQL says is waiting.

PostgreSQL is the truth: an incident whose status is `pending` is waiting for units, whether or not Redis
heard of it. The keeper applies queue changes after each commit; what Redis did not take (it was down) is
retried; when Redis has lost its data (the sentinel is gone: a restart without persistence) the queue is
rebuilt from PostgreSQL. At start, every pending incident is put back (idempotently).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import orjson
import redis.asyncio as aioredis
import redis.exceptions
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.incidents import repository as repo
from dispatch.incidents.lifecycle import QueueAction
from dispatch.keys import Keys
from dispatch.queue.service import IncidentQueue
from dispatch.tasks import stop_if_cancelled

log = logging.getLogger("dispatch.queue")
RECONCILE_EVERY_S = 1.0
REQUEUE_EVERY = 5  # every 5th round, whatever PostgreSQL says waits is put back if a change to it was lost
TICK_EVERY = 30  # every 30th round, the other Redis state (the unit board) is checked against PostgreSQL
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class QueueKeeper:
    def __init__(
        self, queue: IncidentQueue, redis: aioredis.Redis, sessionmaker: async_sessionmaker[AsyncSession], keys: Keys
    ) -> None:
        self.queue = queue
        self.channel = keys.events  # every console's changes
        self._redis = redis
        self._sessions = sessionmaker
        self._owed: dict[int, QueueAction] = {}  # changes Redis has not taken yet, by incident
        self._task: asyncio.Task | None = None
        # Called after an incident was queued (a matcher in this process looks at once) and after Redis lost
        # its data (whatever else lives in Redis, such as the unit board, is restored from PostgreSQL too).
        self.on_enqueued: list[Callable[[], None]] = []
        self.on_redis_lost: list[Callable[[], Awaitable[None]]] = []
        self.on_tick: list[Callable[[], Awaitable[None]]] = []  # periodic checks of other Redis state

    @property
    def owed(self) -> int:
        return len(self._owed)

    async def apply(self, action: QueueAction, message: dict | None = None) -> bool:
        """Applies a committed change to the queue; if Redis is away, owes it and retries. True if applied."""
        if action.action == "none":
            # Nothing for the queue, but the consoles hear of the change (a corrected place or narrative): they
            # never did, and a panel kept the old address, and the recommendations made without it.
            if message:
                await self.publish(message)
            return True
        try:
            await self._apply(action, message)
        except REDIS_DOWN as exc:
            stop_if_cancelled()
            log.warning("queue write for incident %s deferred: %s", action.incident_id, exc)
            self._owed[action.incident_id] = action
            return False
        self._owed.pop(action.incident_id, None)
        return True

    async def publish(self, *messages: dict) -> None:
        """Tells consoles of changes that do not touch the queue, several in one round trip; lost if Redis is
        away (consoles reload)."""
        try:
            if len(messages) == 1:
                await self._redis.publish(self.channel, orjson.dumps(messages[0]))
            elif messages:
                pipe = self._redis.pipeline(transaction=False)
                for message in messages:
                    pipe.publish(self.channel, orjson.dumps(message))
                await pipe.execute()
        except REDIS_DOWN as exc:
            stop_if_cancelled()
            log.warning("change not published: %s", exc)

    async def _apply(self, action: QueueAction, message: dict | None) -> None:
        publish = (self.channel, orjson.dumps(message)) if message else None
        if action.action == "enqueue":
            await self.queue.enqueue(action.incident_id, action.priority, action.received_at_ms, publish=publish)
            for listener in self.on_enqueued:
                listener()
            return
        if action.action == "reprioritise":
            await self.queue.reprioritise(action.incident_id, action.priority)
        elif action.action == "remove":
            await self.queue.remove(action.incident_id)
        if publish:
            await self._redis.publish(*publish)

    async def reconcile(self, *, full: bool = False) -> int:
        """Pays what is owed; rebuilds from PostgreSQL when Redis lost its data (or `full`). Returns how many
        incidents it (re)queued from PostgreSQL."""
        for action in list(self._owed.values()):
            await self.apply(action)
        intact = await self.queue.is_intact()
        if intact and not full:
            return 0
        async with self._sessions() as session:
            waiting = await repo.pending_for_queue(session)
        if not intact:
            for restore in self.on_redis_lost:
                await restore()
            await self.queue.rebuild(waiting)
            log.warning("queue rebuilt from PostgreSQL: %d waiting incidents", len(waiting))
        # A second, additive pass: anything committed while the rebuild ran is not dropped.
        async with self._sessions() as session:
            waiting = await repo.pending_for_queue(session)
        for incident_id, priority, received_ms in waiting:
            await self.queue.enqueue(incident_id, priority, received_ms)
        return len(waiting)

    async def _watch(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(RECONCILE_EVERY_S)
            stop_if_cancelled()
            rounds += 1
            try:
                # A re-queue refused while another matcher held the lease, or lost with a crash, comes back.
                await self.reconcile(full=rounds % REQUEUE_EVERY == 0)
                if rounds % TICK_EVERY == 0:
                    for tick in self.on_tick:
                        await tick()
            except REDIS_DOWN as exc:
                stop_if_cancelled()
                log.warning("queue reconcile waits for Redis: %s", exc)
            except (OSError, SQLAlchemyError) as exc:
                stop_if_cancelled()
                log.warning("queue reconcile waits for PostgreSQL: %s", exc)

    async def start(self) -> None:
        try:
            await self.reconcile(full=True)
        except REDIS_DOWN as exc:
            log.warning("queue not restored at start, will retry: %s", exc)
        self._task = asyncio.create_task(self._watch(), name="queue-keeper")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
