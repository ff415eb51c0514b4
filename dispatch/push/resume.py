"""A unit's socket resuming: the messages it missed, or, when the outbox cannot prove that is all, what the unit
has to do now from PostgreSQL.

A device says the last seq it saw (`hello`). If the outbox holds everything after it (same Redis life, nothing
trimmed), that is replayed, in order. Otherwise (Redis lost the outbox, the device's number is from before,
or a device that knows nothing says 0) the unit is sent `current`: its active assignment as PostgreSQL has
it, or none, which replaces whatever the device holds. The same happens, from the last seq each socket was
sent, to every unit socket of a process whose listener lost Redis: pub/sub keeps nothing for a subscriber
that was away. Its consoles then get a fresh snapshot, which replaces what they show.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
import redis.exceptions
import sqlalchemy.exc

from dispatch.errors import DispatchError
from dispatch.push.consoles import send_snapshots
from dispatch.push.hub import Hub, Socket, seq_of
from dispatch.push.outbox import Outbox
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.service import IncidentQueue
from dispatch.units.board import UnitBoard

if TYPE_CHECKING:
    from dispatch.push.service import Pusher

log = logging.getLogger("dispatch.push")
HOLD_S = 1.0  # a new unit socket holds live messages this long for its device's hello (then sends them anyway)
# What a backend that is away raises, wrapped or raw: statements on the driver connection raise asyncpg's own.
BACKEND_ERRORS = (
    sqlalchemy.exc.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    redis.exceptions.RedisError,
    OSError,
)
CLOSE_TRY_LATER = 1013


def hold_for_hello(sock: Socket) -> None:
    """A new socket holds live messages until its device's hello has been answered (or HOLD_S passed without
    one): a message published meanwhile must not overtake the older ones the hello replays."""
    sock.hold()

    def over() -> None:
        if not sock.greeted:
            sock.release()

    asyncio.get_running_loop().call_later(HOLD_S, over)


@dataclass
class Catchup:
    """Brings sockets up to date: a unit's device from its last seq, a console with a snapshot."""

    hub: Hub
    outbox: Outbox
    pusher: "Pusher"
    queue: IncidentQueue
    board: UnitBoard
    keeper: QueueKeeper

    async def snapshots(self, sockets: list[Socket], *, restore: bool = False) -> None:
        await send_snapshots(sockets, queue=self.queue, board=self.board, keeper=self.keeper, restore=restore)

    async def resume(self, sock: Socket, last_seq: int) -> bool:
        """Brings the socket's device up to date from `last_seq`: True if by replay, False if with `current`."""
        unit_id = sock.unit_id
        assert unit_id is not None, "only a unit's socket resumes"  # the console's never says hello
        sock.greeted = True
        sock.hold()
        try:
            found = await self.outbox.resume(unit_id, last_seq)
            # A replay is in order only if this socket sent nothing newer yet: a hello later than the hold (a slow
            # link, a stalled loop) comes after live messages went, and replaying older ones after them could put
            # an assignment behind the cancel that ended it. Then `current` says what stands.
            if found.continuous and sock.last_seq <= last_seq:
                sock.last_seq = last_seq  # the device's word for what it has: anything above goes, once
                for body in found.missed:
                    sock.offer(body, seq_of(body))
                return True
            # Whatever the device says it saw, `current` and what follows it must go (a number it claims from
            # beyond this Redis life must not make the socket drop them as already sent).
            sock.last_seq = min(sock.last_seq, int(found.head) if found.head else 0)
            await self.pusher.current(unit_id, found.head)
            return False
        finally:
            sock.release()

    async def resume_all(self, concurrency: int = 16) -> None:
        """Every unit socket of this process resumes from the last seq it was sent (the listener was away), and
        every console gets a fresh snapshot. A socket that cannot be brought up to date now is closed (1013): a
        device reconnects and says hello, a console reconnects and gets its snapshot."""
        gate = asyncio.Semaphore(concurrency)

        async def consoles() -> None:
            sockets = list(self.hub.consoles)
            if not sockets:
                return
            try:
                await self.snapshots(sockets, restore=True)
            except (*BACKEND_ERRORS, DispatchError) as exc:
                log.warning("%d consoles could not be sent a snapshot after Redis came back: %r", len(sockets), exc)
                for sock in sockets:
                    sock.close(CLOSE_TRY_LATER)

        async def one(sock: Socket) -> None:
            async with gate:
                try:
                    await self.resume(sock, sock.last_seq)
                except (*BACKEND_ERRORS, DispatchError) as exc:
                    log.warning("unit %s could not resume after Redis came back: %r", sock.unit_id, exc)
                    sock.close(CLOSE_TRY_LATER)

        await asyncio.gather(consoles(), *(one(s) for s in list(self.hub.units.values())))
