"""Failed token checks, counted per client address: past the limit, every failed check from it is answered
429 until the window is over.

Tokens are 256 random bits, so guessing one is hopeless; the limit stops a client from trying a list of leaked
or old tokens at speed unnoticed, and keeps its failures from costing Redis a round trip each. A good token
is still let in from a blocked address: behind one NAT (a dispatch floor, field devices on one mobile
address) a single device retrying a revoked token must not lock every crew out. The count lives in Redis, so
every process of a deployment adds to one count per address; a process that has seen an address go over the
limit answers its next failures on its own until the window ends. Only a failure touches Redis: a good token
costs nothing more than it did.
"""

import logging
import math
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dispatch.errors import DispatchError
from dispatch.keys import Keys

log = logging.getLogger("dispatch.auth")
WINDOW_S = 60  # a window starts at an address's first failure, so it never splits a burst in two
MAX_BLOCKED = 10_000  # addresses a process remembers as blocked (an attack from many addresses is bounded)


class TooManyFailedTokens(DispatchError):
    status, code, title = 429, "too_many_failed_tokens", "Too many failed token checks"

    def __init__(self, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"too many wrong, revoked or expired tokens from this address; try again in {seconds} s",
            extra={"retry_after_s": seconds},
            headers={"Retry-After": str(seconds)},
        )


class FailedTokenThrottle:
    def __init__(self, redis: Redis, keys: Keys, *, limit: int, window_s: int = WINDOW_S) -> None:
        self._redis, self._keys, self._limit, self._window_s = redis, keys, limit, window_s
        self._blocked: dict[str, float] = {}  # address -> time.monotonic() at which its window ends

    def _blocked_for(self, who: str) -> float:
        """Seconds this process still knows the address to be over the limit (0: not blocked)."""
        until = self._blocked.get(who)
        if until is None:
            return 0.0
        left = until - time.monotonic()
        if left <= 0:
            del self._blocked[who]
            return 0.0
        return left

    async def failed(self, who: str) -> None:
        """After a token failed: counts it, and raises TooManyFailedTokens once the address is over the limit."""
        if left := self._blocked_for(who):
            raise TooManyFailedTokens(left)
        key = self._keys.rate("auth", who, self._window_s)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self._window_s, nx=True)
                pipe.incr(key)
                pipe.pttl(key)
                _, count, left_ms = await pipe.execute()
        except RedisError as exc:
            # Without Redis the count is unknown: the caller still gets its 401, and good tokens keep working.
            log.warning("failed token from %s not counted: %s", who, exc)
            return
        if count > self._limit:
            left = left_ms / 1000 if left_ms > 0 else self._window_s
            self._block(who, left)
            raise TooManyFailedTokens(left)

    def _block(self, who: str, left: float) -> None:
        now = time.monotonic()
        if len(self._blocked) >= MAX_BLOCKED:
            self._blocked = {k: v for k, v in self._blocked.items() if v > now}
            while len(self._blocked) >= MAX_BLOCKED:  # all still blocked: forget the oldest (Redis remembers)
                del self._blocked[next(iter(self._blocked))]
        self._blocked[who] = now + left
