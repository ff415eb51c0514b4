"""What the service holds while it runs, typed: built and started by `start`, stopped by `stop`.

The application's lifespan keeps one `Services` (`app.state.services`); routes take what they need through the
`Annotated` dependencies in `dispatch.deps`, and each class is given the collaborators it uses, never the
whole. The order below is the order of the wiring: who is built from whom.
"""

import asyncio
import contextlib
import gc
import logging
import os
import socket
from dataclasses import dataclass, field
from functools import partial

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dispatch.aftercommit import AfterCommit
from dispatch.auth.cache import TokenCache
from dispatch.auth.throttle import FailedTokenThrottle
from dispatch.config import Settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.geocoding.service import GeocoderHolder
from dispatch.groupcommit import GroupWriter
from dispatch.incidents.types import incident_types
from dispatch.keys import Keys
from dispatch.matching.core import Policy
from dispatch.matching.coverage_view import CoverageView
from dispatch.matching.dispatching import DispatchService
from dispatch.matching.eta import RouterHolder
from dispatch.matching.service import board_units
from dispatch.matching.worker import Matcher
from dispatch.push.access import AccessWatcher, close_sockets_of
from dispatch.push.answers import Answers
from dispatch.push.hub import Hub
from dispatch.push.outbox import Outbox, next_epoch
from dispatch.push.resume import Catchup
from dispatch.push.service import AckWatcher, Pusher
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.service import IncidentQueue
from dispatch.redis_pool import FreeFirstPool
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import BoardUnit, UnitBoard
from dispatch.units.reports import FLUSH_S, PositionSampler, StatusReports

log = logging.getLogger("dispatch")

# The cyclic garbage collector's full pass walks every object the process holds: with ten thousand sockets it
# stalled the event loop for up to 1.8 s (measured with `dispatch bench --trackers 10000`), and with the default
# thresholds it ran every few seconds under 2,000 messages a second. Young objects are collected as before,
# in passes of at most some 100,000; the full pass waits for a hundred of those rather than ten (and, by
# CPython's rule, until the long-lived heap has grown by a quarter).
GC_THRESHOLDS = (10_000, 10, 100)


@dataclass
class Services:
    settings: Settings
    keys: Keys
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    pubsub_redis: aioredis.Redis
    geocoder: GeocoderHolder
    routers: RouterHolder
    queue: IncidentQueue
    queue_keeper: QueueKeeper
    board: UnitBoard
    outbox: Outbox
    pusher: Pusher
    statuses: StatusReports
    positions: PositionSampler
    hub: Hub
    catchup: Catchup
    dispatcher: DispatchService
    matcher: Matcher
    after_commit: AfterCommit
    ack_watcher: AckWatcher
    access_watcher: AccessWatcher
    throttle: FailedTokenThrottle
    tokens: TokenCache
    calls_writer: GroupWriter
    answers: Answers
    tasks: list[asyncio.Task] = field(default_factory=list)
    map_layers: tuple[int, bytes, bytes] | None = None  # the map's layers as served: (import id, JSON, gzipped)
    coverage: CoverageView = field(default_factory=CoverageView)  # the map's coverage layer, computed seldom

    async def read_units(self) -> list[BoardUnit]:
        async with self.sessionmaker() as session:
            return await board_units(session)

    async def sync_board(self) -> None:
        await self.board.sync(self.read_units)

    async def restore_board(self) -> None:
        await self.board.load(await self.read_units())


async def start(settings: Settings, *, sockets: bool = True) -> Services:
    """`sockets`: False where no unit or console socket is ever held (a matcher process of its own)."""
    keys = Keys(settings.key_prefix)
    engine = make_async_engine(settings)
    sessions = make_sessionmaker(engine)
    # A bounded pool that makes a command wait for a connection (up to 2 s) rather than fail: a thousand
    # devices reporting at once must queue for Redis, not get errors. A free connection is taken at once
    # (dispatch.redis_pool).
    redis = aioredis.Redis.from_pool(
        FreeFirstPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_size,
            timeout=2,
            socket_timeout=2,
            socket_connect_timeout=2,
        )
    )
    # Pub/sub holds its connection open and idle: a client of its own, without the read timeout.
    pubsub_redis = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, health_check_interval=30)
    geocoder = GeocoderHolder(settings.libpq_url, engine)
    await geocoder.start()
    routers = RouterHolder(settings.libpq_url, engine, settings.route_cache_dir)
    await routers.start()
    queue = IncidentQueue(redis, prefix=keys.prefix, lease_s=settings.queue_lease_s)
    keeper = QueueKeeper(queue, redis, sessions, keys)
    board = UnitBoard(redis, keys)
    outbox = Outbox(redis, keys, ack_within_s=settings.ack_deadline_s, epochs=lambda: next_epoch(sessions))
    pusher = Pusher(outbox, board=board, sessions=sessions, routers=routers, deadline_s=settings.ack_deadline_s)
    statuses = StatusReports(
        sessions, board, keys, requeue=keeper.apply, cancel=pusher.cancel, team=pusher.team, told=pusher.unit_status
    )
    hub = Hub(pubsub_redis, keys, queue_size=settings.ws_send_queue, units=sockets)
    catchup = Catchup(hub, outbox, pusher, queue, board, keeper)
    dispatcher = DispatchService(
        board=board,
        sessions=sessions,
        routers=routers,
        keys=keys,
        publish=keeper.publish,
        requeue=keeper.apply,
        delete_keys=redis.delete,
        policy=Policy(settings.match_policy),
        pusher=pusher,
    )
    matcher = Matcher(
        owner=f"{socket.gethostname()}:{os.getpid()}",
        queue=queue,
        board=board,
        redis=redis,
        sessions=sessions,
        routers=routers,
        types=incident_types(),
        settings=settings,
        publish=keeper.publish,
        dispatcher=dispatcher,
        pusher=pusher,
    )
    after_commit = AfterCommit(keeper=keeper, board=board, pusher=pusher)
    tokens = TokenCache(redis, pubsub_redis, keys)
    services = Services(
        settings=settings,
        keys=keys,
        engine=engine,
        sessionmaker=sessions,
        redis=redis,
        pubsub_redis=pubsub_redis,
        geocoder=geocoder,
        routers=routers,
        queue=queue,
        queue_keeper=keeper,
        board=board,
        outbox=outbox,
        pusher=pusher,
        statuses=statuses,
        positions=PositionSampler(board, sessions),
        hub=hub,
        catchup=catchup,
        dispatcher=dispatcher,
        matcher=matcher,
        after_commit=after_commit,
        ack_watcher=AckWatcher(outbox, pusher=pusher, statuses=statuses, publish=keeper.publish),
        access_watcher=AccessWatcher(hub, sessions, forget=tokens.drop_user),
        throttle=FailedTokenThrottle(redis, keys, limit=settings.failed_auth_per_minute),
        answers=Answers(redis, keys),
        tokens=tokens,
        calls_writer=GroupWriter(engine),
    )
    # Who hears of what: a unit free again, a new call, a listener back after Redis was away.
    statuses.on_freed.append(matcher.unit_freed)
    after_commit.on_freed.append(matcher.unit_freed)
    hub.on_resubscribed.append(catchup.resume_all)
    hub.on_event.append(matcher.heard)
    keeper.on_redis_lost.append(services.restore_board)
    keeper.on_tick.append(services.sync_board)
    keeper.on_enqueued.append(matcher.wake)
    services.tokens.on_revoked.append(partial(close_sockets_of, hub))
    services.tokens.start()
    hub.start()
    services.ack_watcher.start()
    services.access_watcher.start()
    services.tasks += [
        asyncio.create_task(relay_positions(services.positions, keeper), name="position-relay"),
        asyncio.create_task(flush_positions(services.positions), name="position-flush"),
    ]
    await keeper.start()
    try:
        await services.sync_board()  # at every start: units seeded or changed while no process ran are picked up
    except (OSError, RedisError) as exc:
        log.warning("unit board not loaded at start, will retry with the queue: %s", exc)
    if settings.matcher:
        matcher.start()
    gc.set_threshold(*GC_THRESHOLDS)
    return services


# A step of the shutdown that takes longer than this is given up, with a warning that names it: a process asked
# to stop stops, whatever one of its parts waits on (a connection that never answers, a lock).
STOP_STEP_S = 10.0


async def stop(services: Services) -> None:
    async def all_tasks() -> None:
        for task in services.tasks:
            task.cancel()
        await asyncio.gather(*services.tasks, return_exceptions=True)

    async def last_fixes() -> None:
        with contextlib.suppress(Exception):  # the last fixes, if Redis and PostgreSQL are still there
            await services.positions.flush()

    steps = [
        ("matcher", services.matcher.stop),
        ("tasks", all_tasks),
        ("positions", last_fixes),
        ("after-commit", services.after_commit.stop),
        ("ack watcher", services.ack_watcher.stop),
        ("access watcher", services.access_watcher.stop),
        ("hub", services.hub.stop),
        ("token cache", services.tokens.stop),
        ("pub/sub Redis", services.pubsub_redis.aclose),
        ("routers", services.routers.stop),
        ("queue keeper", services.queue_keeper.stop),
        ("geocoder", services.geocoder.stop),
        ("Redis", services.redis.aclose),
        ("PostgreSQL engine", services.engine.dispose),
    ]
    for name, step in steps:
        try:
            await asyncio.wait_for(step(), STOP_STEP_S)
        except TimeoutError:
            log.warning("stopping: %s did not stop within %g s, left", name, STOP_STEP_S)


async def relay_positions(positions: PositionSampler, keeper: QueueKeeper, every_s: float = 1.0) -> None:
    """Positions reach consoles once a second in one message, not one message per fix."""
    while True:
        await asyncio.sleep(every_s)
        batch = positions.take_batch()
        if batch:
            await keeper.publish({"type": "positions", "units": batch})
        stop_if_cancelled()


async def flush_positions(positions: PositionSampler) -> None:
    """Held position fixes to the board and PostgreSQL every FLUSH_S; a failed flush is logged and the next
    one carries on (a fix is superseded by the next one within seconds anyway)."""
    while True:
        await asyncio.sleep(FLUSH_S)
        try:
            await positions.flush()
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a Redis or PostgreSQL hiccup
            stop_if_cancelled()
            log.warning("position flush failed: %r", exc)
        stop_if_cancelled()
