"""The sockets one service process holds, and the Redis listener that feeds them.

Whatever worker process a change happens in, it reaches Redis (the unit's outbox publishes on the push
channel; console changes go on the events channel), and every process forwards what concerns the sockets
it holds. Each socket has a bounded send queue drained by its own task: a consumer too slow to keep up is
closed (4008) rather than allowed to hold memory or delay the others, and resumes from its last seq.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
import redis.exceptions
from starlette.websockets import WebSocket

from dispatch.auth.service import Principal
from dispatch.keys import Keys
from dispatch.push.protocol import CLOSE_REPLACED, CLOSE_SLOW
from dispatch.tasks import stop_if_cancelled

log = logging.getLogger("dispatch.push")
RETRY_S = 0.2  # the listener tries Redis again this often while it is away (a refused connect is cheap)


@dataclass(eq=False)
class Socket:
    ws: WebSocket
    unit_id: int | None  # None for a console
    queue: asyncio.Queue
    who: Principal | None = None  # whose token opened it (the access watcher closes it when that changes)
    last_seq: int = 0  # the highest seq sent on this socket: a message at or below it is not sent again
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    # While the socket resumes (a device's hello, or after the listener lost Redis), the messages the listener
    # forwards wait here: what the outbox replays goes first, in order, and a live message that overtook it is
    # then dropped as already sent rather than sent before the ones it follows. A console's changes wait here
    # while its snapshot is read, and follow it.
    held: list | None = None
    greeted: bool = False  # its device said hello (or the server resumed it): the first hold is not ours to end
    # The change types a console may be sent (None: all of them); see dispatch.push.consoles.CALL_TAKER_SEES.
    sees: frozenset[str] | None = None

    def offer(self, body: bytes, seq: int | None = None, *, live: bool = False) -> None:
        if live and self.held is not None:
            self.held.append((seq, body))
            if len(self.held) > self.queue.maxsize:
                self.close(CLOSE_SLOW)
            return
        try:
            self.queue.put_nowait((seq, body))
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW)

    def hold(self) -> None:
        if self.held is None:
            self.held = []

    def release(self) -> None:
        held, self.held = self.held, None
        for seq, body in held or ():
            self.offer(body, seq)

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self.closed.set()

    async def writer(self) -> None:
        """Sends queued messages in order; unit messages only once each (by seq)."""
        while True:
            seq, body = await self.queue.get()
            if seq is not None:
                if seq <= self.last_seq:
                    continue
                self.last_seq = seq
            await self.ws.send_text(body.decode() if isinstance(body, bytes) else body)


def seq_of(body: bytes) -> int | None:
    """The seq of a unit message, read without parsing all of it (SEND appends it last)."""
    marker = body.rfind(b'"seq":')
    if marker < 0:
        return None
    return int(body[marker + 6 : body.rindex(b"}")])


def change_type(body: bytes) -> str:
    """The `type` of a change message ("" when it has none: shown only to consoles that see everything)."""
    with contextlib.suppress(orjson.JSONDecodeError):
        message = orjson.loads(body)
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            return message["type"]
    return ""


class Hub:
    def __init__(self, redis: aioredis.Redis, keys: Keys, *, queue_size: int = 256, units: bool = True) -> None:
        self._redis = redis
        # Unit messages are heard only where unit sockets may be held: a process without HTTP (`dispatch
        # matcher`) would parse every message to every device for nobody.
        self._channels = (keys.push, keys.events) if units else (keys.events,)
        self._push_bytes = keys.push.encode()
        self.queue_size = queue_size
        self.units: dict[int, Socket] = {}
        self.consoles: set[Socket] = set()
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()  # subscribed: nothing published from now on is missed
        # Called with every change message from any process (the matcher of this process wakes on them).
        self.on_event: list[Callable[[bytes], None]] = []
        # Called when the listener is subscribed again after losing Redis: whatever was published meanwhile
        # never reached this process (pub/sub keeps nothing), so the unit sockets resume from their last seq
        # and the consoles get a fresh snapshot.
        self.on_resubscribed: list[Callable[[], Awaitable[None]]] = []
        self._background: set[asyncio.Task] = set()

    def socket(self, ws: WebSocket, unit_id: int | None, who: Principal | None = None) -> Socket:
        return Socket(ws, unit_id, asyncio.Queue(self.queue_size), who)

    def sockets(self) -> list[Socket]:
        return [*self.units.values(), *self.consoles]

    def add_unit(self, sock: Socket) -> None:
        old = self.units.get(sock.unit_id)
        if old is not None:
            old.close(CLOSE_REPLACED)  # one live socket per unit: the newest
        self.units[sock.unit_id] = sock

    def remove(self, sock: Socket) -> None:
        if sock.unit_id is None:
            self.consoles.discard(sock)
        elif self.units.get(sock.unit_id) is sock:
            del self.units[sock.unit_id]

    def broadcast(self, body: bytes) -> None:
        kind: str | None = None  # read once, and only when some console is shown part of the changes
        for sock in list(self.consoles):
            if sock.sees is not None:
                if kind is None:
                    kind = change_type(body)
                if kind not in sock.sees:
                    continue
            sock.offer(body, live=True)  # held while the console's snapshot is read (dispatch.push.consoles)

    def _deliver(self, channel: bytes, data: bytes) -> None:
        if channel == self._push_bytes:
            unit, _, body = data.partition(b" ")
            resend = unit.endswith(b"!")
            sock = self.units.get(int(unit.rstrip(b"!")))
            if sock is not None:
                sock.offer(body, None if resend else seq_of(body), live=True)
        else:
            self.broadcast(data)
            for listener in self.on_event:
                listener(data)

    async def _listen(self) -> None:
        lost = False
        while True:
            stop_if_cancelled()
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._channels)
                self.ready.set()
                if lost:
                    lost = False
                    for listener in self.on_resubscribed:
                        task = asyncio.create_task(listener(), name="push-resume")
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._deliver(message["channel"], message["data"])
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                stop_if_cancelled()
                self.ready.clear()
                (log.debug if lost else log.warning)("push listener lost Redis, retrying: %s", exc)
                lost = True
                # Soon: what the sockets missed meanwhile (a cancel among it) is sent once the listener is back.
                await asyncio.sleep(RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="push-listener")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._background) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in [*self.units.values(), *self.consoles]:
            sock.close(1001)
