"""The answers a unit's device was given to its presses (`status`, `message`), kept by the id of its message, so
that a press sent again (its answer lost with the socket: a dead zone, a tunnel) is answered as the first time
and has no other effect (docs/protocol.md, "Device messages"). The device may then send again anything it got
no answer to, and a crew's press reaches the dispatch centre exactly once.

Per unit, a hash (id -> the answer as sent) and a sorted set (id -> when): kept KEEP_S, at most KEEP_MAX a unit,
the oldest dropped first. Redis is the first guard only: a crew's message is also stored once by PostgreSQL
(dispatch.units.conversation), and a status sent again that Redis forgot is judged by the status rules.
"""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from dispatch.keys import Keys

log = logging.getLogger("dispatch.push")
KEEP_S = 24 * 3600  # as long as a device may keep a press queued (protocol.QUEUED_MS)
KEEP_MAX = 2000  # answers kept a unit: a crew presses a few hundred times a day at most

# KEYS: the hash, the sorted set. ARGV: id, answer, now (ms), keep (ms), most kept.
REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[3]) - tonumber(ARGV[4]))
local over = redis.call('ZCARD', KEYS[2]) - #old - tonumber(ARGV[5])
if over > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], #old, #old + over - 1)) do table.insert(old, id) end
end
for i = 1, #old, 500 do
  local part = {unpack(old, i, math.min(i + 499, #old))}
  redis.call('HDEL', KEYS[1], unpack(part))
  redis.call('ZREM', KEYS[2], unpack(part))
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
"""


class Answers:
    def __init__(self, redis: aioredis.Redis, keys: Keys, *, keep_s: float = KEEP_S, keep_max: int = KEEP_MAX) -> None:
        self.redis, self.keys = redis, keys
        self.keep_ms, self.keep_max = int(keep_s * 1000), keep_max
        self._remember = redis.register_script(REMEMBER)
        # The presses this process is at work on, by (unit, id): one outlives its socket (dispatch.push.presses).
        self.working: dict[tuple[int, str], asyncio.Task[bytes]] = {}

    async def given(self, unit_id: int, message_id: str) -> bytes | None:
        """The answer given to this id of the unit's within KEEP_S, or None. Redis away: None (logged), and the
        message is handled as new: PostgreSQL still stores a crew's message once."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.hget(self.keys.answers(unit_id), message_id)
                pipe.zscore(self.keys.answers_at(unit_id), message_id)
                answer, at = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("unit %s: answers not read, message %s handled as new: %r", unit_id, message_id, exc)
            return None
        if answer is None or at is None or at < time.time() * 1000 - self.keep_ms:
            return None
        return answer

    async def remember(self, unit_id: int, message_id: str, answer: bytes) -> None:
        """Kept after the message's effect is stored. Redis away: logged, and the device still gets its answer
        (what it asked is done; a resend that Redis cannot recognise meets the database's guard)."""
        try:
            await self._remember(
                keys=[self.keys.answers(unit_id), self.keys.answers_at(unit_id)],
                args=[message_id, answer, int(time.time() * 1000), self.keep_ms, self.keep_max],
            )
        except (RedisError, OSError) as exc:
            log.warning("unit %s: the answer to %s not kept: %r", unit_id, message_id, exc)
