"""A unit's in-vehicle device and a dispatcher's console, as the field runs them, over asyncio websockets.

The device acknowledges every outbox message at once, and reports the crew's statuses (en route, on scene,
available) naming the assignment the crew is working; a cancel for its incident stops the work, and a
`current` (the server's word on what the crew has, after a resume it could not replay) replaces it. Every message
it sends carries an id, so the server's `ok` or `error` answers it; a `retry` error or a lost socket means
send it again (after reconnecting), as a device with an offline queue does. When the socket drops it
reconnects and resumes with `hello` and the last `seq` it saw.
"""

import asyncio
import contextlib
import random
import time
from collections import Counter

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from benchmarks.faults.figures import DeviceRecord, Received, StatusSent

SEND_FOR_S = 10.0  # a device keeps trying one message this long (through reconnects) before giving it up
ANSWER_S = 5.0
WORK_S = {"en_route": (0.3, 1.0), "on_scene": (0.5, 1.5), "available": (0.5, 2.5)}  # after the previous step
NEXT_STEP = {"assigned": 0, "acknowledged": 0, "en_route": 1, "on_scene": 2}  # where in WORK_S a crew goes on


class Protocol:
    """What the server takes, learned once for the whole fleet: a server that refuses `assignment_id` in a status
    (before that field existed) gets statuses without it; the device still knows which assignment it meant."""

    def __init__(self) -> None:
        self.names_assignment = True


class Gone(Exception):
    """The socket closed, or the answer did not come: send again."""


class Device:
    def __init__(
        self,
        unit_id: int,
        token: str,
        url: str,
        protocol: Protocol,
        rng: random.Random,
        on_assignment=lambda incident_id: None,
    ) -> None:
        self.record = DeviceRecord(unit_id)
        self.token, self.url, self.protocol, self.rng = token, url, protocol, rng
        self.on_assignment = on_assignment
        self.ws = None
        self.online = asyncio.Event()
        self.replies: list[tuple[str, asyncio.Future]] = []  # in the order sent: the server answers in order
        self.seen: set[str] = set()
        self.handled: set[str] = set()  # message ids acknowledged (answered `ok`): receiving one again is a duplicate
        self.by_assignment: dict[int, str] = {}  # assignment id -> the message id it came in
        self.max_seq = 0
        self.current: tuple[int, int] | None = None  # (assignment id, incident id) the crew works
        self.errors: Counter = Counter()
        self.n = 0
        self.tasks: set[asyncio.Task] = set()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @property
    def silent(self) -> bool:
        return self.record.silent_from is not None

    async def run(self, stop: asyncio.Event) -> None:
        delay = 0.2
        while not stop.is_set():
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=3,
                    ping_interval=None,
                    close_timeout=1,
                    max_size=2**20,
                ) as ws:
                    self.ws, delay = ws, 0.2
                    self.record.connected.append([time.time(), None])
                    await ws.send(orjson.dumps({"type": "hello", "last_seq": self.max_seq}).decode())
                    self.online.set()
                    async for raw in ws:
                        self._handle(orjson.loads(raw), time.time())
            except (OSError, WebSocketException, TimeoutError):
                pass
            finally:
                self._gone()
            if not stop.is_set():
                await asyncio.sleep(delay)
                delay = min(1.0, delay * 2)
        for task in list(self.tasks):
            task.cancel()

    def _gone(self) -> None:
        self.online.clear()
        self.ws = None
        if self.record.connected and self.record.connected[-1][1] is None:
            self.record.connected[-1][1] = time.time()
        for _, future in self.replies:
            if not future.done():
                future.set_exception(Gone())
        self.replies.clear()

    def _handle(self, message: dict, now: float) -> None:
        kind = message.get("type")
        if kind == "ping":
            self._spawn(self._send({"type": "pong"}))
        elif kind in ("ok", "error"):
            self._answer(message)
        elif "seq" in message or kind in ("assignment", "cancel", "update", "move", "current"):
            self._outbox_message(kind, message, now)

    def _answer(self, message: dict) -> None:
        if message["type"] == "error":
            self.errors[message.get("code", "?")] += 1
        re = message.get("re")
        # An error without `re` (older servers) answers the oldest message waiting: answers come in order.
        for i, (mid, future) in enumerate(self.replies):
            if re is None or mid == re:
                del self.replies[i]
                if not future.done():
                    future.set_result(message)
                return

    def _outbox_message(self, kind: str, message: dict, now: float) -> None:
        mid, seq = message.get("id"), message.get("seq")
        about = message.get("assignment") if kind == "current" else message  # `current`: what the crew has now
        assignment_id = about.get("assignment_id") if about and kind in ("assignment", "current") else None
        incident_id = (about or {}).get("incident_id", message.get("incident_id"))
        self.record.received.append(Received(kind, mid, seq, incident_id, assignment_id, now))
        if mid in self.seen:
            if mid in self.handled:
                self.record.duplicates += 1  # acknowledged already: delivered twice
            elif not self.silent:
                self._spawn(self._acknowledge(message))  # sent again because no acknowledgement was taken yet
            return
        self.seen.add(mid)
        if isinstance(seq, int):
            self.max_seq = max(self.max_seq, seq)
        if self.silent:
            return
        if kind == "assignment":
            if assignment_id in self.by_assignment:
                self.record.duplicates += 1  # the same assignment again, in a message of another id
            else:
                self.by_assignment[assignment_id] = mid
                if self.current is not None:
                    self.record.two_at_once += 1  # no cancel, not finished: the crew now has two
                self._take(assignment_id, incident_id, "assigned")
        elif kind == "current":  # the server's word on what the crew has: it replaces what the device held
            if about is None:
                self.current = None
            elif not self._working(assignment_id):
                self.by_assignment.setdefault(assignment_id, mid)
                self._take(assignment_id, incident_id, about.get("status", "assigned"))
        elif kind == "cancel" and self.current and self.current[1] == incident_id:
            self.current = None  # the crew stops; its work task sees it before the next status
        self._spawn(self._acknowledge(message))  # every outbox message is acknowledged (protocol.md)

    def _take(self, assignment_id: int, incident_id: int, status: str) -> None:
        self.current = (assignment_id, incident_id)
        self.on_assignment(incident_id)
        self._spawn(self._work(assignment_id, status))

    async def _send(self, message: dict) -> None:
        with contextlib.suppress(Exception):
            if self.ws is not None:
                await self.ws.send(orjson.dumps(message).decode())

    async def _request(self, message: dict) -> dict:
        """Sends until answered (through reconnects, for SEND_FOR_S), under one id: the answer, or Gone."""
        self.n += 1
        mid = f"{self.record.unit_id}-{self.n}"
        deadline = time.monotonic() + SEND_FOR_S
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.online.wait(), max(0.01, deadline - time.monotonic()))
            if self.ws is None:
                continue
            future = asyncio.get_running_loop().create_future()
            self.replies.append((mid, future))
            try:
                await self.ws.send(orjson.dumps({**message, "id": mid}).decode())
                answer = await asyncio.wait_for(future, ANSWER_S)
            except (Gone, OSError, WebSocketException, TimeoutError):
                continue
            if answer.get("type") == "error" and answer.get("code") == "retry":
                await asyncio.sleep(0.5)
                continue
            return answer
        raise Gone()

    async def _acknowledge(self, message: dict) -> None:
        about = message.get("assignment") if message["type"] == "current" else message
        if message["type"] == "assignment" or (about and about.get("status") == "assigned"):
            self.record.acked.add(about["assignment_id"])  # sent: the server may take it though the answer is lost
        try:
            answer = await self._request({"type": "ack", "of": message["id"]})
        except Gone:
            return
        if answer["type"] == "ok":
            self.handled.add(message["id"])

    def _working(self, assignment_id: int) -> bool:
        return self.current is not None and self.current[0] == assignment_id

    async def _work(self, assignment_id: int, reached: str) -> None:
        """The crew's statuses after `reached` (where the server says it stands, or `assigned`)."""
        for status in list(WORK_S)[NEXT_STEP.get(reached, 2) :]:
            low, high = WORK_S[status]
            await asyncio.sleep(self.rng.uniform(low, high))
            if not self._working(assignment_id):
                return  # cancelled meanwhile, or another assignment came
            if await self._report(assignment_id, status) != "ok":
                break  # refused (no longer this crew's assignment) or never answered: the crew stops
        if self._working(assignment_id):
            self.current = None

    async def _report(self, assignment_id: int, status: str) -> str:
        # Recorded before it is sent: what the crew reported counts even when the answer never comes.
        sent = StatusSent(assignment_id, status, time.time(), "lost")
        self.record.statuses.append(sent)
        for _ in range(2):
            body = {"type": "status", "status": status}
            if self.protocol.names_assignment:
                body["assignment_id"] = assignment_id
            try:
                answer = await self._request(body)
            except Gone:
                break
            sent.outcome = "ok" if answer["type"] == "ok" else answer.get("code", "error")
            if sent.outcome == "bad_message" and "assignment_id" in answer.get("message", ""):
                self.protocol.names_assignment = False
                continue
            break
        return sent.outcome

    async def position(self, lat: float, lon: float) -> None:
        await self._send(
            {
                "type": "position",
                "lat": lat + self.rng.uniform(-0.002, 0.002),
                "lon": lon + self.rng.uniform(-0.002, 0.002),
            }
        )


class Console:
    """A dispatcher's console: records every alert (ack_late, escalation) with the time it came."""

    def __init__(self, token: str, url: str) -> None:
        self.token, self.url = token, url
        self.alerts: list[dict] = []

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=3,
                    ping_interval=None,
                    close_timeout=1,
                    max_size=2**24,
                ) as ws:
                    async for raw in ws:
                        message = orjson.loads(raw)
                        if message.get("type") == "alert":
                            self.alerts.append({**message, "at": time.time()})
                        elif message.get("type") == "ping":
                            await ws.send(orjson.dumps({"type": "pong"}).decode())
            except (OSError, WebSocketException, TimeoutError):
                pass
            if not stop.is_set():
                await asyncio.sleep(0.5)
