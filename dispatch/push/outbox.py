"""Every unit's outbox in Redis: numbered messages kept for replay, each awaited until acknowledged.

A message to a unit is one Lua script: the unit's next sequence number, the message stored in its outbox
under that number, kept as awaited (with a deadline) until the device acknowledges it, and a publish on the
push channel, which every service process hears and forwards to the unit's socket if it holds it. Every
message of the outbox tells the crew what to do (an assignment, its route or a correction, a cancel, a move,
what it has now): each must be acknowledged, and is sent again at each deadline that passes (see
`dispatch.push.service.AckWatcher`). A newer message ends the wait for those it makes moot (`SUPERSEDES`): a
cancel ends the wait for everything about its incident, so a stood-down crew is never sent its old assignment
again.

Numbers are never given twice, even though Redis keeps nothing on disk. A unit's count lives in Redis; when
it is missing (Redis lost its data, or the unit was never sent anything since), it starts from this Redis's
epoch base, `epoch * 2^32`, where the epoch is drawn once per Redis life from PostgreSQL's `outbox_epoch`
sequence. Every number of a later life is above every number of an earlier one, and every number stays below
2^53 (exact in JSON and JavaScript). The hot path stays one round trip: only the first message to a unit in a
Redis life reads the base, inside the same script, and only the first of all goes to PostgreSQL.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import orjson
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.keys import Keys
from dispatch.push.messages import Message

KEEP = 500  # messages kept per unit for replay
EPOCH_BITS = 32  # a Redis life numbers up to 2^32 messages per unit
STAGES = 6  # deadlines a message is awaited for (an assignment escalates at the second: see AckWatcher)
KEEP_SENT = 32  # assignment ids remembered per unit (a unit has one active assignment at a time)
NEED_EPOCH, HEAD_MOVED, ALREADY_SENT = -1, -2, -3  # SEND's refusals

# KEYS: outbox, seq, deadlines, pending, epoch base, sent assignments. ARGV: unit id, message id, message json
# without seq (an object), deadline ms (0: not awaited), channel, keep, supersede mode ('' | 'incident' | 'move'
# | 'all'), incident id (for 'incident'), expected head ('': any; 'none': no count yet; else the count),
# assignment id to refuse if already sent (''), assignment id to remember as sent ('').
# An assignment goes into a unit's outbox once: the matcher's push, a sweep of any process (dispatch.push.sweep)
# and a `current` that carries it all check and remember its id here, in the same script as the send.
# The message json is completed here with its sequence number, so the number and the stored text agree. Lua
# numbers are doubles: exact to 2^53, and formatted with %.0f (tostring would switch to an exponent).
SEND = f"""
if ARGV[9] ~= '' then
  local head = redis.call('GET', KEYS[2])
  if (head or 'none') ~= ARGV[9] then return {HEAD_MOVED} end
end
if ARGV[10] ~= '' and redis.call('ZSCORE', KEYS[6], ARGV[10]) then return {ALREADY_SENT} end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local base = redis.call('GET', KEYS[5])
  if not base then return {NEED_EPOCH} end
  redis.call('SET', KEYS[2], base)
end
local seq = redis.call('INCR', KEYS[2])
local s = string.format('%.0f', seq)
local mode = ARGV[7]
if mode ~= '' then
  local pending = redis.call('HGETALL', KEYS[4])
  for i = 1, #pending, 2 do
    local old = cjson.decode(pending[i + 1])
    if (mode == 'all' and old['type'] ~= 'message') or (mode == 'move' and old['type'] == 'move')
        or (mode == 'incident' and old['incident_id'] == tonumber(ARGV[8])) then
      redis.call('HDEL', KEYS[4], pending[i])
      for stage = 1, {STAGES} do redis.call('ZREM', KEYS[3], ARGV[1] .. ':' .. stage .. ':' .. pending[i]) end
    end
  end
end
local body = string.sub(ARGV[3], 1, -2) .. ',"seq":' .. s .. '}}'
redis.call('ZADD', KEYS[1], s, body)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[6]) - 1)
if tonumber(ARGV[4]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1] .. ':1:' .. ARGV[2])
  redis.call('HSET', KEYS[4], ARGV[2], body)
end
if ARGV[11] ~= '' then
  redis.call('ZADD', KEYS[6], ARGV[11], ARGV[11])
  redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -{KEEP_SENT} - 1)
end
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. body)
return seq
"""

# KEYS: deadlines, pending. ARGV: unit id, message id. Reply: the message if it was awaited, else nil.
ACK = f"""
local body = redis.call('HGET', KEYS[2], ARGV[2])
if not body then return false end
redis.call('HDEL', KEYS[2], ARGV[2])
for stage = 1, {STAGES} do redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. stage .. ':' .. ARGV[2]) end
return body
"""

# KEYS: deadlines. ARGV: now ms, limit. Takes the deadlines that passed (so one process handles each).
DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('ZREM', KEYS[1], member) end
return due
"""

# KEYS: outbox, seq. ARGV: the device's last seq. Reply: {count or '', lowest seq kept or '', [messages after]}.
RESUME = """
local head = redis.call('GET', KEYS[2])
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {head or '', first[2] or '', redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')}
"""


ASSIGNMENT_MESSAGE = "assignment-"


def assignment_message_id(assignment_id: int) -> str:
    """An assignment's message is named after the assignment: sent again by anyone (a sweep after Redis lost the
    outbox, a late push) it is the same message to the device, handled once; and an acknowledgement that finds
    no outbox still says which assignment the crew has."""
    return f"{ASSIGNMENT_MESSAGE}{assignment_id}"


def assignment_of(message_id: str) -> int | None:
    """The assignment an acknowledged message id names, if it is an assignment's."""
    number = message_id.removeprefix(ASSIGNMENT_MESSAGE)
    return int(number) if number != message_id and number.isdigit() and len(number) <= 15 else None


def _supersedes(message: Message) -> tuple[str, str]:
    """Which awaited messages of the unit a new one makes moot (mode and incident id for SEND). A cancel: all
    about its incident (the assignment, its route, corrections); an assignment or a move: an earlier move
    order; `current` (what the unit has now, from PostgreSQL): everything but a dispatcher's words, which it
    does not carry (they are sent again after it: `Pusher.current`)."""
    kind = message.get("type")
    if kind == "cancel":
        return "incident", str(message["incident_id"])
    if kind in ("assignment", "move"):
        return "move", ""
    if kind == "current":
        return "all", ""
    return "", ""


def _assignment_ids(message: Message) -> tuple[str, str]:
    """The assignment id SEND refuses if already sent, and the one it remembers as sent: an assignment is both
    (it goes once); a `current` carrying one, or a cancel naming the assignment it ends, is never refused (it
    is the server's word on what the unit has) but makes a later copy of that assignment moot."""
    if message.get("type") == "assignment" and message.get("assignment_id") is not None:
        return str(message["assignment_id"]), str(message["assignment_id"])
    if message.get("type") == "current" and (message.get("assignment") or {}).get("assignment_id") is not None:
        return "", str(message["assignment"]["assignment_id"])
    if message.get("type") == "cancel" and message.get("assignment_id") is not None:
        return "", str(message["assignment_id"])  # a push of the ended assignment arriving after is moot
    return "", ""


# KEYS: pending. ARGV: message id, channel, payload. Publishes only while the message is still awaited.
REPUBLISH = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Sent:
    unit_id: int
    id: str
    seq: int


@dataclass(frozen=True)
class Resume:
    continuous: bool  # the outbox holds everything after the device's last seq: `missed` is all it lacks
    missed: list[bytes]
    head: str | None  # the unit's count as stored (None: no count in this Redis life yet)


def now_ms() -> int:
    return int(time.time() * 1000)


def epoch_of(seq: int) -> int:
    return seq >> EPOCH_BITS


def continuous(last_seq: int, head: int | None, first: int | None) -> bool:
    """Whether the outbox can prove that replaying what it holds after `last_seq` gives the device everything:
    the count exists, `last_seq` is of this Redis life and not ahead of it, and nothing after it was trimmed."""
    if head is None or last_seq > head or epoch_of(last_seq) != epoch_of(head):
        return False
    return last_seq == head or (first is not None and first <= last_seq + 1)


async def next_epoch(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """A new epoch from PostgreSQL (migration 0008): never the same twice."""
    async with sessionmaker() as session:
        epoch = await session.scalar(text("SELECT nextval('outbox_epoch')"))
        await session.commit()
    return int(epoch)


class Outbox:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, *, epochs: Callable[[], Awaitable[int]], ack_within_s: float = 10.0
    ) -> None:
        self._redis = redis
        self.keys = keys
        self.channel = keys.push
        self.deadlines = keys.deadlines  # ZSET: "unit_id:stage:message id" -> deadline (ms)
        self.ack_within_s = ack_within_s
        self._epochs = epochs
        self._epoch_lock = asyncio.Lock()  # one draw per process when Redis comes back empty
        self._send = redis.register_script(SEND)
        self._ack = redis.register_script(ACK)
        self._due = redis.register_script(DUE)
        self._resume = redis.register_script(RESUME)
        self._republish = redis.register_script(REPUBLISH)

    def _keys(self, unit_id: int) -> list[str]:
        k = self.keys
        return [
            k.outbox(unit_id),
            k.seq(unit_id),
            k.deadlines,
            k.pending(unit_id),
            k.outbox_epoch,
            k.sent_assignments(unit_id),
        ]

    def _send_args(
        self,
        unit_id: int,
        message: Message,
        ack_within_s: float | None,
        message_id: str | None = None,
        expect: str = "",
    ) -> tuple[str, list[int | str | bytes]]:
        """The message's id, and the SEND script's arguments (the message gets `id` and `sent_at`)."""
        if message_id is None and message.get("type") == "assignment" and message.get("assignment_id"):
            message_id = assignment_message_id(int(message["assignment_id"]))
        message_id = message_id or uuid.uuid4().hex
        body = orjson.dumps({**message, "id": message_id, "sent_at": now_ms()})
        within = self.ack_within_s if ack_within_s is None else ack_within_s
        deadline = now_ms() + int(within * 1000) if within else 0
        mode, incident = _supersedes(message)
        guard, record = _assignment_ids(message)
        return message_id, [
            unit_id,
            message_id,
            body,
            deadline,
            self.channel,
            KEEP,
            mode,
            incident,
            expect,
            guard,
            record,
        ]

    async def start_epoch(self) -> None:
        """Redis has no epoch base (it lost its data, or never had one): one from PostgreSQL. Processes that
        race here all keep the first one set."""
        async with self._epoch_lock:
            if await self._redis.exists(self.keys.outbox_epoch):
                return  # set meanwhile, by this process or another
            base = await self._epochs() << EPOCH_BITS
            await self._redis.set(self.keys.outbox_epoch, base, nx=True)

    async def send(
        self, unit_id: int, message: Message, *, ack_within_s: float | None = None, message_id: str | None = None
    ) -> Sent | None:
        """Numbers, stores and publishes a message to a unit, awaited for `ack_within_s` (default: the
        outbox's; 0: not awaited). `message` gets `id`, `seq` and `sent_at`. None: an assignment already sent
        (nothing was sent)."""
        return (await self.send_many([(unit_id, message)], ack_within_s=ack_within_s, message_id=message_id))[0]

    async def send_if_head(self, unit_id: int, message: Message, head: str | None) -> Sent | None:
        """`send`, only if the unit's count is still `head` (as `resume` read it): None if another message went
        out meanwhile, whose news the caller's reading may lack (or the message is an assignment already sent)."""
        message_id, args = self._send_args(unit_id, message, None, expect=head or "none")
        for _ in range(2):
            seq = int(await self._send(keys=self._keys(unit_id), args=args))
            if seq == NEED_EPOCH:
                await self.start_epoch()
                continue
            return None if seq in (HEAD_MOVED, ALREADY_SENT) else Sent(unit_id, message_id, seq)
        raise RuntimeError("the outbox has no epoch although one was just set")

    async def send_many(
        self, messages: list[tuple[int, Message]], *, ack_within_s: float | None = None, message_id: str | None = None
    ) -> list[Sent | None]:
        """`send` for several (unit id, message) at once, in one round trip (a dispatch's units); None for an
        assignment already sent."""
        prepared = [
            (unit_id, *self._send_args(unit_id, message, ack_within_s, message_id)) for unit_id, message in messages
        ]
        sent: dict[int, Sent | None] = {}
        for _ in range(2):
            todo = [n for n in range(len(prepared)) if n not in sent]
            pipe = self._redis.pipeline(transaction=False)
            for n in todo:
                unit_id, _, args = prepared[n]
                await self._send(keys=self._keys(unit_id), args=args, client=pipe)
            for n, seq in zip(todo, await pipe.execute(), strict=True):
                if int(seq) == ALREADY_SENT:
                    sent[n] = None
                elif int(seq) != NEED_EPOCH:  # refused: nothing of it was written (a unit's messages alike)
                    sent[n] = Sent(prepared[n][0], prepared[n][1], int(seq))
            if len(sent) == len(prepared):
                return [sent[n] for n in range(len(prepared))]
            await self.start_epoch()  # Redis lost its data: the count starts above everything ever sent
        raise RuntimeError("the outbox has no epoch although one was just set")

    async def ack(self, unit_id: int, message_id: str) -> bytes | None:
        """Takes an acknowledgement, in one round trip: the message it acknowledges, if it was awaited (a
        repeated or late acknowledgement, or one of a message superseded meanwhile, gives None)."""
        acknowledged: bytes | None = await self._ack(
            keys=[self.deadlines, self.keys.pending(unit_id)], args=[unit_id, message_id]
        )
        return acknowledged

    async def restore(self, unit_id: int, message_id: str, body: bytes) -> None:
        """Awaits a message again whose acknowledgement could not be recorded (the database was away): the
        device, told to retry, acknowledges it again."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.hset(self.keys.pending(unit_id), message_id, body)
        pipe.zadd(self.deadlines, {f"{unit_id}:1:{message_id}": now_ms() + int(self.ack_within_s * 1000)})
        await pipe.execute()

    async def resume(self, unit_id: int, last_seq: int) -> Resume:
        """What a device that saw up to `last_seq` missed, and whether the outbox can prove that is all."""
        head, first, missed = await self._resume(keys=self._keys(unit_id)[:2], args=[last_seq])
        head = head.decode() if isinstance(head, bytes) else head
        first = first.decode() if isinstance(first, bytes) else first
        whole = continuous(last_seq, int(head) if head else None, int(float(first)) if first else None)
        return Resume(whole, missed if whole else [], head or None)

    async def head(self, unit_id: int) -> str | None:
        """The unit's count as stored (for `send_if_head`); None if it has none in this Redis life."""
        head = await self._redis.get(self.keys.seq(unit_id))
        return head.decode() if isinstance(head, bytes) else head

    async def not_sent(self, assignments: list[tuple[int, int]]) -> list[tuple[int, int, str | None]]:
        """Of these (unit id, assignment id), those the unit's outbox never took, each with the unit's count as
        stored now (for `send_if_head`); in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        for unit_id, assignment_id in assignments:
            pipe.zscore(self.keys.sent_assignments(unit_id), assignment_id)
            pipe.get(self.keys.seq(unit_id))
        replies = await pipe.execute()
        return [
            (unit_id, assignment_id, head.decode() if isinstance(head, bytes) else head)
            for (unit_id, assignment_id), known, head in zip(assignments, replies[::2], replies[1::2], strict=True)
            if known is None
        ]

    async def awaited_words(self, unit_id: int) -> list[tuple[str, bytes]]:
        """(id, message) of each dispatcher's message to the unit still awaited."""
        pending = cast(dict[bytes, bytes], await self._redis.hgetall(self.keys.pending(unit_id)))
        return [(k.decode(), v) for k, v in pending.items() if orjson.loads(v).get("type") == "message"]

    async def after(self, unit_id: int, seq: int) -> list[bytes]:
        """The stored messages numbered above `seq`, in order."""
        # The client answers bytes (no decode_responses); its types allow for every way it can be set up.
        return cast(list[bytes], await self._redis.zrangebyscore(self.keys.outbox(unit_id), f"({seq}", "+inf"))

    async def schedule(self, unit_id: int, message_id: str, deadline_ms: int, stage: int) -> None:
        await self._redis.zadd(self.deadlines, {f"{unit_id}:{stage}:{message_id}": deadline_ms})

    async def due(self, limit: int = 100) -> list[tuple[int, int, str, bytes]]:
        """(unit id, stage, message id, message) of every deadline that passed and whose message is still
        awaited; each deadline is taken by one process only."""
        members = await self._due(keys=[self.deadlines], args=[now_ms(), limit])
        if not members:
            return []
        parsed = []
        for member in members:
            unit, stage, message_id = (member.decode() if isinstance(member, bytes) else member).split(":", 2)
            parsed.append((int(unit), int(stage), message_id))
        pipe = self._redis.pipeline(transaction=False)
        for unit, _, message_id in parsed:
            pipe.hget(self.keys.pending(unit), message_id)
        bodies = await pipe.execute()
        return [(*p, body) for p, body in zip(parsed, bodies, strict=True) if body is not None]

    async def republish(self, unit_id: int, message_id: str, body: bytes) -> bool:
        """Sends an awaited message again, with its own id and number: a device that has it only acknowledges
        it again. The "!" marks a deliberate resend, which the socket must not drop as already sent. Only if it
        is still awaited, checked in the same script as the publish: a newer message that made it moot (a
        cancel after a route) must not be overtaken by it. False: not awaited any more, nothing sent."""
        return bool(
            await self._republish(
                keys=[self.keys.pending(unit_id)], args=[message_id, self.channel, f"{unit_id}! ".encode() + body]
            )
        )
