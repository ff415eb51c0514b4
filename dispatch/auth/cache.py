"""Tokens checked once and then remembered for a few seconds, per process, with revocation pushed through Redis.

Every request presents a token; reading it from PostgreSQL each time was a round trip per request. A process
keeps what a token gave (its `Principal`) for at most `TTL_S`, and never past the token's own expiry, which is
checked on every use. A revocation must be refused at once by every process, so a cached token is only served
while this process is sure to hear of revocations:

- `revoke` (after the revocation's commit) publishes the account on `<prefix>:tokens` and waits until every
  process that received it says it has dropped the account's tokens (PUBLISH answers how many subscribers got
  it; each answers on a list of the revoker's). When it returns, no process serves the account from its cache.
- A process serves from its cache only while its subscription is up and heard from within `LIVE_S` (it pings
  its own subscription every second): a listener that lost Redis, or is stuck, reads PostgreSQL for every
  request until it is subscribed again, and then starts from an empty cache (what was published meanwhile
  never reached it).
- A token read from PostgreSQL while a revocation was being heard is not cached: each drop moves a generation
  on, and an answer read under an older generation is used once, not remembered.
"""

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

import redis.asyncio as aioredis
import redis.exceptions

from dispatch.auth.service import Principal
from dispatch.keys import Keys
from dispatch.tasks import stop_if_cancelled

log = logging.getLogger("dispatch.auth")
# The longest a token is served without PostgreSQL (its last use is written when it is read), and so the longest
# a change made in PostgreSQL by hand, without `announce_revoked`, goes unseen by HTTP requests.
TTL_S = 10.0
LIVE_S = 2.5  # a subscription not heard from (message or pong) within this is taken for lost
PING_EVERY_S = 1.0
RETRY_S = 0.5
ACK_WAIT_S = 3.0  # how long a revocation waits for the processes that received it to say they dropped it
MAX_ENTRIES = 10_000


def channel(keys: Keys) -> str:
    return f"{keys.prefix}:tokens"


class TokenCache:
    def __init__(self, redis: aioredis.Redis, pubsub_redis: aioredis.Redis, keys: Keys) -> None:
        self._redis, self._pubsub_redis, self._channel = redis, pubsub_redis, channel(keys)
        self._entries: dict[str, tuple[Principal, float, float | None]] = {}  # digest -> (who, until, expires)
        self.generation = 0
        self._subscribed = False
        self._heard = 0.0  # monotonic time the subscription last answered
        self._task: asyncio.Task | None = None
        self.on_revoked: list[Callable[[int], None]] = []  # an account's tokens were revoked (its sockets close)

    @property
    def live(self) -> bool:
        return self._subscribed and time.monotonic() - self._heard < LIVE_S

    def get(self, digest: str) -> Principal | None:
        """The principal remembered for the token's digest, if the cache may be trusted now."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        who, until, expires = entry
        if not self.live or time.monotonic() >= until or (expires is not None and time.time() >= expires):
            self._entries.pop(digest, None)
            return None
        return who

    def put(self, digest: str, who: Principal, expires: float | None, generation: int) -> None:
        """Remembers a token read from PostgreSQL under `generation` (self.generation before the read), unless a
        revocation was heard since or the subscription is not up."""
        if generation != self.generation or not self.live:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[digest] = (who, time.monotonic() + TTL_S, expires)

    def drop_user(self, user_id: int) -> None:
        self.generation += 1
        for digest in [d for d, (who, _, _) in self._entries.items() if who.user_id == user_id]:
            del self._entries[digest]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()

    async def _heard_revoke(self, data: bytes) -> None:
        ack, _, user = data.partition(b" ")
        self.drop_user(int(user))
        for listener in self.on_revoked:
            listener(int(user))
        try:
            await self._redis.rpush(ack, b"1")
        except redis.exceptions.RedisError as exc:
            log.warning("revocation dropped but not acknowledged: %s", exc)

    async def _listen(self) -> None:
        while True:
            stop_if_cancelled()
            pubsub = self._pubsub_redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                pinged = 0.0
                while True:
                    message = await pubsub.get_message(timeout=PING_EVERY_S)
                    now = time.monotonic()
                    if message is not None:
                        self._heard = now
                        if message["type"] == "subscribe":
                            self.clear()  # what was published before never reached this process
                            self._subscribed = True
                        elif message["type"] == "message":
                            await self._heard_revoke(message["data"])
                    if now - pinged >= PING_EVERY_S:
                        await pubsub.ping()
                        pinged = now
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                stop_if_cancelled()
                self._lost()
                log.warning("token revocations not heard, tokens read from PostgreSQL until back: %s", exc)
                await asyncio.sleep(RETRY_S)
            finally:
                self._lost()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _lost(self) -> None:
        self._subscribed = False
        self.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="token-revocations")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def announce_revoked(
    redis: aioredis.Redis, keys: Keys, user_id: int, wait_s: float = ACK_WAIT_S
) -> tuple[int, int]:
    """Tells every process that the account's tokens are revoked (after the revocation's commit) and waits until
    each one that heard it has dropped them: (processes told, processes that said so)."""
    ack = f"{keys.prefix}:tokens:ack:{secrets.token_hex(8)}"
    told = await redis.publish(channel(keys), f"{ack} {user_id}".encode())
    done, deadline = 0, time.monotonic() + wait_s
    try:
        while done < told and (left := deadline - time.monotonic()) > 0:
            if await redis.blpop([ack], timeout=max(0.01, left)) is None:
                break
            done += 1
    finally:
        await redis.delete(ack)
    if done < told:
        log.warning("%d of %d processes did not confirm a revocation within %.0f s", told - done, told, wait_s)
    return told, done
