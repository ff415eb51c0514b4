"""Every unit's outbox in Redis: numbered messages kept until acknowledged, with acknowledgement deadlines.

A message to a unit is one Lua script: the unit's next sequence number, the message stored in its outbox
under that number, a deadline if it must be acknowledged, and a publish on the push channel, which every
service process hears and forwards to the unit's socket if it holds it. A device that reconnects says the
last sequence number it saw and is sent everything after it, once. An unacknowledged assignment is resent
once when its deadline passes, and escalated when the second deadline passes (see `deadlines`).
"""

import time
import uuid
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from dispatch.keys import Keys

KEEP = 500  # messages kept per unit for replay


# KEYS: outbox, seq, deadlines, pending. ARGV: unit id, message id, message json without seq (an object),
# deadline ms (0: no acknowledgement needed), channel, keep.
# The message json is completed here with its sequence number, so the number and the stored text agree.
SEND = """
local seq = redis.call('INCR', KEYS[2])
local body = string.sub(ARGV[3], 1, -2) .. ',"seq":' .. seq .. '}'
redis.call('ZADD', KEYS[1], seq, body)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[6]) - 1)
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1] .. ':1:' .. ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[2], seq)
end
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. body)
return seq
"""

# KEYS: outbox, seq, deadlines, pending. ARGV: unit id, message id. Reply: 0 if no ack was awaited for it;
# else the message as stored, or 1 if it has aged out of the outbox.
ACK = """
local seq = redis.call('HGET', KEYS[4], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
local waited = redis.call('ZREM', KEYS[3], ARGV[1] .. ':1:' .. ARGV[2], ARGV[1] .. ':2:' .. ARGV[2])
if waited == 0 then return 0 end
if seq then
  local found = redis.call('ZRANGEBYSCORE', KEYS[1], seq, seq)
  if found[1] then return found[1] end
end
return 1
"""

# KEYS: deadlines. ARGV: now ms, limit. Takes the deadlines that passed (so one process handles each).
DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""


@dataclass(frozen=True)
class Sent:
    unit_id: int
    id: str
    seq: int


def now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self.keys = keys
        self.channel = keys.push
        self.deadlines = keys.deadlines  # ZSET: "unit_id:stage:message id" -> deadline (ms); stage 1 then 2
        self._send = redis.register_script(SEND)
        self._ack = redis.register_script(ACK)
        self._due = redis.register_script(DUE)

    def _keys(self, unit_id: int) -> list[str]:
        k = self.keys
        return [k.outbox(unit_id), k.seq(unit_id), k.deadlines, k.pending(unit_id)]

    def _send_args(self, unit_id: int, message: dict, ack_within_s: float | None,
                   message_id: str | None = None) -> tuple[str, list]:
        """The message's id, and the SEND script's arguments (the message gets `id` and `sent_at`)."""
        message_id = message_id or uuid.uuid4().hex
        body = orjson.dumps({**message, "id": message_id, "sent_at": now_ms()})
        deadline = now_ms() + int(ack_within_s * 1000) if ack_within_s else 0
        return message_id, [unit_id, message_id, body, deadline, self.channel, KEEP]

    async def send(self, unit_id: int, message: dict, *, ack_within_s: float | None = None,
                   message_id: str | None = None) -> Sent:
        """Numbers, stores and publishes a message to a unit. `message` gets `id`, `seq` and `sent_at`."""
        message_id, args = self._send_args(unit_id, message, ack_within_s, message_id)
        seq = await self._send(keys=self._keys(unit_id), args=args)
        return Sent(unit_id, message_id, int(seq))

    async def send_many(self, messages: list[tuple[int, dict]], *, ack_within_s: float | None = None) -> list[Sent]:
        """`send` for several (unit id, message) at once, in one round trip (a dispatch's units)."""
        pipe = self._redis.pipeline(transaction=False)
        ids = []
        for unit_id, message in messages:
            message_id, args = self._send_args(unit_id, message, ack_within_s)
            await self._send(keys=self._keys(unit_id), args=args, client=pipe)
            ids.append(message_id)
        seqs = await pipe.execute()
        return [Sent(unit_id, i, int(seq)) for (unit_id, _), i, seq in zip(messages, ids, seqs, strict=True)]

    async def ack(self, unit_id: int, message_id: str) -> tuple[bool, bytes | None]:
        """Takes an acknowledgement, in one round trip: (whether one was awaited, the message it acknowledges
        when it was and the outbox still holds it)."""
        reply = await self._ack(keys=self._keys(unit_id), args=[unit_id, message_id])
        if isinstance(reply, bytes):
            return True, reply
        return bool(reply), None

    async def after(self, unit_id: int, seq: int) -> list[bytes]:
        """The stored messages numbered above `seq`, in order: what a reconnecting device missed."""
        return await self._redis.zrangebyscore(self._keys(unit_id)[0], f"({seq}", "+inf")

    async def message(self, unit_id: int, message_id: str) -> bytes | None:
        seq = await self._redis.hget(self._keys(unit_id)[3], message_id)
        if seq is None:
            return None
        found = await self._redis.zrangebyscore(self._keys(unit_id)[0], int(seq), int(seq))
        return found[0] if found else None

    async def schedule(self, unit_id: int, message_id: str, deadline_ms: int, stage: int) -> None:
        await self._redis.zadd(self.deadlines, {f"{unit_id}:{stage}:{message_id}": deadline_ms})

    async def due(self, limit: int = 100) -> list[tuple[int, int, str]]:
        """(unit id, stage, message id) of every deadline that passed, each taken by one process only."""
        members = await self._due(keys=[self.deadlines], args=[now_ms(), limit])
        out = []
        for member in members:
            unit, stage, message_id = (member.decode() if isinstance(member, bytes) else member).split(":", 2)
            out.append((int(unit), int(stage), message_id))
        return out

    async def republish(self, unit_id: int, body: bytes) -> None:
        """Sends a stored message again, with its own id and number: a device that has it drops it. The "!"
        marks a deliberate resend, which the socket must not drop as already sent."""
        await self._redis.publish(self.channel, f"{unit_id}! ".encode() + body)
