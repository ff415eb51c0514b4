"""WS /ws/unit (a unit's device) and WS /ws/console (dispatchers, commanders): protocol v1, docs/protocol.md.

The token is checked before the socket is accepted: in the `Authorization: Bearer` header, or, from a
browser (which cannot set headers on a websocket), as the subprotocol `bearer.<token>` next to `dispatch.v1`.
"""

import asyncio
import contextlib
import logging
import random
import time

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from dispatch.auth.deps import authenticate_connection, close_handshake, deny_handshake
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.auth.throttle import TooManyFailedTokens
from dispatch.deps import ServicesDep
from dispatch.errors import Conflict, DispatchError, ServiceUnavailable
from dispatch.mapbound import check_position
from dispatch.push import consoles, messages
from dispatch.push import protocol as p
from dispatch.push.hub import Socket
from dispatch.push.outbox import assignment_of
from dispatch.push.presses import answered_once
from dispatch.push.resume import BACKEND_ERRORS, CLOSE_TRY_LATER, hold_for_hello
from dispatch.services import Services
from dispatch.units import conversation
from dispatch.units.models import UnitStatus
from dispatch.units.reports import StatusReports, report_status

router = APIRouter()
log = logging.getLogger("dispatch.push")
SUBPROTOCOL = "dispatch.v1"
HEARTBEAT_S = 25.0  # the server pings this often (each socket at its own phase, never all at once)
IDLE_S = 90.0  # a socket silent this long (no message, no pong) is closed
RATE, BURST = 20.0, 60.0  # inbound messages per second a device may send, and the burst it may save up
CONSOLE_ROLES = (Role.call_taker, Role.dispatcher, Role.commander, Role.admin)  # who may open /ws/console
FLOOD_CLOSE = 200  # this many messages refused for rate in a row close the socket (1008)


async def _principal(ws: WebSocket) -> tuple[Principal | None, str | None]:
    token, chosen = None, None
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    offered = [s.strip() for s in ws.headers.get("sec-websocket-protocol", "").split(",") if s.strip()]
    for sub in offered:
        if sub.startswith("bearer.") and token is None:
            token = sub[7:]
    if SUBPROTOCOL in offered:
        chosen = SUBPROTOCOL
    if not token:
        return None, chosen
    state = ws.app.state.services
    try:
        async with state.sessionmaker() as session:
            return await authenticate_connection(ws, session, token), chosen
    except TooManyFailedTokens as exc:
        await deny_handshake(ws, exc)
        return None, chosen
    except DispatchError:
        return None, chosen
    except BACKEND_ERRORS as exc:
        # PostgreSQL away (a restart): the device is refused with 503 and Retry-After where the server can say
        # so at the handshake, else the socket is closed with 1013 (try again later); it reconnects.
        log.warning("websocket handshake refused, the database is unavailable: %r", exc)
        await deny_handshake(
            ws, ServiceUnavailable("the database is unavailable; connect again shortly", headers={"Retry-After": "2"})
        )
        return None, chosen


def _dump(message: dict) -> bytes:
    return orjson.dumps(message)


def _message_id(raw: str) -> str | None:
    """The device's own id of a message, for the answer's `re`, if the message has one."""
    with contextlib.suppress(orjson.JSONDecodeError):
        message = orjson.loads(raw)
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            return message["id"][:64]
    return None


class Bucket:
    def __init__(self) -> None:
        self.tokens, self.at, self.refused = BURST, time.monotonic(), 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.refused = 0
            return True
        self.refused += 1
        return False


def _finished(work) -> asyncio.Task:
    """The message's work as a task of its own; what it raises after its socket stopped waiting is logged."""
    task = asyncio.ensure_future(work)

    def done(finished: asyncio.Task) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            log.debug("a message finished after its socket closed: %r", finished.exception())

    task.add_done_callback(done)
    return task


def _refused_for_rate(sock: Socket, bucket: Bucket, raw: str) -> bool:
    """A message over the device's rate is answered `rate_limited`; a flood closes the socket (True)."""
    if bucket.refused >= FLOOD_CLOSE:
        sock.close(1008)
        return True
    sock.offer(
        _dump(
            {
                "type": "error",
                "code": "rate_limited",
                "message": f"at most {RATE:.0f} messages a second",
                "re": _message_id(raw),
            }
        )
    )
    return False


async def _one(sock: Socket, raw: str, parse, handle, in_place) -> None:
    """One message: done in place, or by `handle`; an error is answered on the socket, which stays up."""
    try:
        message = parse(raw)
        if in_place is not None and in_place(message):
            return
        # Shielded: a socket closed meanwhile (replaced, revoked) stops reading at once and its close goes out,
        # but the message in hand is finished rather than cut off in the middle of its database or Redis work (a
        # query cancelled mid-flight, and a cancellation a client library turns into an error of its own, are
        # both avoided).
        await asyncio.shield(_finished(handle(message)))
    except p.BadMessage as exc:
        sock.offer(_dump({"type": "error", "code": "bad_message", "message": str(exc), "re": exc.re}))
    except DispatchError as exc:
        sock.offer(_dump({"type": "error", "code": exc.code, "message": exc.detail, "re": _message_id(raw)}))
    except BACKEND_ERRORS as exc:
        # The database or Redis failed this one message (asyncpg's own errors included: statements on the
        # driver connection raise them unwrapped): the device is told to send it again, and the socket stays up
        # (a lost socket would cost the unit its next assignment's latency).
        log.warning("a socket's message failed: %s", str(exc).splitlines()[0] if str(exc) else repr(exc))
        sock.offer(
            _dump({"type": "error", "code": "retry", "message": "not stored; send it again", "re": _message_id(raw)})
        )


async def _serve(ws: WebSocket, sock: Socket, parse, handle, in_place=None) -> None:
    """Runs the socket: its writer, its heartbeat, and its reader until either side closes. Each message is
    parsed (`parse`), then done by `in_place` if that takes it (True: a message with no input or output to
    wait for, a position fix, thousands a second: no task for it), else by `handle` in a task of its own."""
    hub = ws.app.state.services.hub
    last_heard = time.monotonic()
    bucket = Bucket()

    async def heartbeat() -> None:
        await asyncio.sleep(random.uniform(0, HEARTBEAT_S))  # spread the sockets' pings over the period
        while True:
            if time.monotonic() - last_heard > IDLE_S:
                sock.close(p.CLOSE_IDLE)
                return
            # Every socket, talking or not: a device may take the server's silence for a dead link (a client
            # with a read timeout stops reading after 30 s of it).
            sock.offer(_dump({"type": "ping", "at": int(time.time() * 1000)}))
            await asyncio.sleep(HEARTBEAT_S)

    async def reader() -> None:
        nonlocal last_heard
        while True:
            raw = await ws.receive_text()
            last_heard = time.monotonic()
            if not bucket.take():
                if _refused_for_rate(sock, bucket, raw):
                    return
                continue
            await _one(sock, raw, parse, handle, in_place)

    tasks = [asyncio.create_task(sock.writer()), asyncio.create_task(heartbeat()), asyncio.create_task(reader())]
    closed = asyncio.create_task(sock.closed.wait())
    try:
        done, _ = await asyncio.wait([*tasks, closed], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if (
                task is not closed
                and not task.cancelled()
                and task.exception() is not None
                and not isinstance(task.exception(), (WebSocketDisconnect, RuntimeError))
            ):
                log.warning("socket task failed: %r", task.exception())
    finally:
        for task in [*tasks, closed]:
            task.cancel()
        await asyncio.gather(*tasks, closed, return_exceptions=True)
        hub.remove(sock)
        if sock.close_code is not None:
            # A slow consumer may not even take the close frame: give up on it after a moment.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=sock.close_code), 5)


async def _refused_version(ws: WebSocket) -> bool:
    """A device that offers only other versions of the protocol (`dispatch.v0`) is told so and closed with
    CLOSE_VERSION; accepted with the subprotocol it offered, since a browser drops a socket whose answer names
    none of its own, and its app would see only a failed connection."""
    offered = [s.strip() for s in ws.headers.get("sec-websocket-protocol", "").split(",") if s.strip()]
    versions = p.offered_versions(offered)
    if not versions or p.VERSION in versions:
        return False
    await ws.accept(subprotocol=next(s for s in offered if s.startswith(p.SUBPROTOCOL_PREFIX)))
    await ws.send_text(_dump(p.unsupported(versions[0])).decode())
    await ws.close(code=p.CLOSE_VERSION, reason=f"protocol {p.VERSION} only")
    return True


async def _admitted_unit(ws: WebSocket) -> tuple[Principal, int] | None:
    """The unit's principal and id, the socket accepted; None when it was refused (and closed)."""
    who, chosen = await _principal(ws)
    if who is None or who.role != Role.unit or who.unit_id is None:
        await close_handshake(ws, 1008, "a unit's token is required")
        return None
    if await _refused_version(ws):
        return None
    await ws.accept(subprotocol=chosen)
    return who, who.unit_id


@router.websocket("/ws/unit")
async def unit_socket(ws: WebSocket, state: ServicesDep) -> None:
    admitted = await _admitted_unit(ws)
    if admitted is None:
        return
    who, unit_id = admitted
    sock = state.hub.socket(ws, unit_id, who)
    hold_for_hello(sock)
    state.hub.add_unit(sock)
    on_board = await state.board.get(unit_id)
    sock.offer(
        _dump(
            {
                "type": "welcome",
                "protocol": p.VERSION,
                "unit_id": unit_id,
                "call_sign": on_board.call_sign if on_board is not None else None,
                "status": on_board.status if on_board is not None else None,
                "ack_deadline_s": state.settings.ack_deadline_s,
            }
        )
    )

    def in_place(message: p.AnyUnitMessage) -> bool:
        if not isinstance(message, p.Position):
            return False
        check_position(state.geocoder, message.lat, message.lon)  # refused with an error naming it
        state.positions.hold(who, unit_id, message.lat, message.lon)  # positions stream: no answer each time
        return True

    async def handle(message: p.AnyUnitMessage) -> None:
        reply: dict = {"type": "ok", "re": message.id} if message.id else {}
        if isinstance(message, (p.Hello, p.Ack, p.Status, p.Text)):
            await _heard(state, unit_id)
        if isinstance(message, p.Hello):
            await _hello(ws, sock, state, message)
        elif isinstance(message, p.Ack):
            await _ack(state, who, unit_id, message.of)
        elif isinstance(message, (p.Status, p.Text)):
            answer = await answered_once(state, who, unit_id, message)
            reply = {}
            if answer is not None:  # answered only when the device gave its message an id to answer to
                sock.offer(answer)
        elif isinstance(message, p.Ping):
            reply = {"type": "pong", "re": message.id}
        if reply:
            sock.offer(_dump(reply))

    await _serve(ws, sock, p.parse_unit, handle, in_place)


async def _heard(state: Services, unit_id: int) -> None:
    """The device answered (it said hello, acknowledged, reported): a unit marked as not answering is
    reachable again (dispatch.push.service.AckWatcher.not_answering), and the consoles are told."""
    if await state.board.heard(unit_id):
        await state.queue_keeper.publish({"type": "unit.reach", "unit_id": unit_id, "silent": False})


async def _hello(ws: WebSocket, sock: Socket, state: Services, message: p.Hello) -> None:
    """Resumes the device; one of another protocol version is told so and closed (docs/protocol.md, Versions)."""
    if message.protocol != p.VERSION:
        # Said before the close (not queued behind the socket's other messages, which the close drops).
        await ws.send_text(_dump({**p.unsupported(message.protocol), "re": message.id}).decode())
        sock.close(p.CLOSE_VERSION)
        return
    await state.catchup.resume(sock, message.last_seq)


async def _ack(state: Services, who: Principal, unit_id: int, of: str) -> None:
    """The device has the outbox message `of`: an assignment becomes acknowledged, a dispatcher's message
    delivered. Raises what the backends raise, the message awaited again (the device is told to retry)."""
    stored = await state.outbox.ack(unit_id, of)
    if stored is not None:
        acknowledged = orjson.loads(stored)
        try:
            await _acknowledged(state.statuses, who, unit_id, acknowledged)
            if acknowledged.get("type") == "message":
                await _delivered(state, unit_id, of)
        except BACKEND_ERRORS:
            await state.outbox.restore(unit_id, of, stored)  # the device's retry finds it again
            raise
    elif (assignment_id := assignment_of(of)) is not None:
        # Not awaited in the outbox: acknowledged already, or Redis lost the outbox after the device got
        # it. The id says which assignment; PostgreSQL takes it only if it is still the unit's, unanswered.
        await _acknowledged(state.statuses, who, unit_id, {"type": "assignment", "assignment_id": assignment_id})
    else:
        # Maybe a dispatcher's message whose outbox Redis lost: PostgreSQL knows it by its id, and marks
        # it delivered only once (a repeated acknowledgement finds it marked and says nothing).
        await _delivered(state, unit_id, of)


async def _delivered(state: Services, unit_id: int, message_id: str) -> None:
    """The crew's device has a dispatcher's message: kept with the message, and the consoles told once."""
    marked = await conversation.mark_delivered(state.sessionmaker, unit_id=unit_id, message_id=message_id)
    if marked is not None:
        await state.queue_keeper.publish(
            {
                "type": "unit.message.delivered",
                "unit_id": unit_id,
                "id": message_id,
                "delivered_at": int(marked.at.timestamp() * 1000),
            }
        )


async def _acknowledged(statuses: StatusReports, who: Principal, unit_id: int, message: dict) -> None:
    """The crew has the assignment: it becomes acknowledged, if it is still the unit's and not acknowledged yet
    (PostgreSQL checks both under its locks; later stages stay as they are)."""
    work = messages.awaited_assignment(message)
    if work is None:
        return
    with contextlib.suppress(Conflict):  # acknowledged already (a status came first), or ended meanwhile
        await report_status(
            statuses,
            who,
            unit_id,
            UnitStatus.acknowledged,
            assignment_id=work["assignment_id"],
            assignment_status="assigned",
        )


@router.websocket("/ws/console")
async def console_socket(ws: WebSocket, state: ServicesDep) -> None:
    who, chosen = await _principal(ws)
    # Call-takers too: a call-taker's panel must not go stale while a caller is on the line (what each role is
    # sent: dispatch.push.consoles.CALL_TAKER_SEES).
    if who is None or who.role not in CONSOLE_ROLES:
        await close_handshake(ws, 1008, "a call-taker's, dispatcher's or commander's token is required")
        return
    if await _refused_version(ws):
        return
    await ws.accept(subprotocol=chosen)
    sock = state.hub.socket(ws, None, who)
    sock.sees = consoles.sees(who.role)
    state.hub.consoles.add(sock)
    try:
        await state.catchup.snapshots([sock])
    except BACKEND_ERRORS as exc:
        log.warning("console snapshot failed, the console is asked to come back: %r", exc)
        state.hub.remove(sock)
        await ws.close(code=CLOSE_TRY_LATER)
        return

    async def handle(message: p.AnyConsoleMessage) -> None:
        if isinstance(message, p.Ping):
            sock.offer(_dump({"type": "pong", "re": message.id}))

    await _serve(ws, sock, p.parse_console, handle)
