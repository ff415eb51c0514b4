"""What a console is shown of the whole centre, the `snapshot`: on connect, and again, unasked, after this
process's Redis listener was away (pub/sub keeps nothing for a subscriber that was away, so every change made
meanwhile was missed). The console replaces its queue and units with it."""

import asyncio
import logging

import orjson

from dispatch.auth.models import Role
from dispatch.push import protocol as p
from dispatch.push.hub import Socket
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.service import IncidentQueue
from dispatch.units.board import UnitBoard

log = logging.getLogger("dispatch.push")
QUEUE_LIMIT = 500  # incidents in a snapshot's queue, most urgent first

# What a call-taker's console is sent of the changes (a dispatcher's, a commander's and an admin's: all). The
# queue and every incident change, so that the call-taker's panel is never stale while the caller is still on
# the line; the units' assignments, statuses and positions, to tell a caller that help is coming and how far
# it is (GET /api/units gives a call-taker the same). Not the crews' conversations (`unit.message*`: read over
# HTTP by dispatchers, commanders and the crew only, so not here either), nor the alerts and move-ups, which are
# a dispatcher's to act on. The snapshot, pings and answers are sent to every console.
CALL_TAKER_SEES = frozenset(
    {
        "incident.created",
        "incident.updated",
        "incident.noted",
        "incident.reprioritised",
        "incident.merged",
        "incident.cancelled",
        "incident.closed",
        "incident.dispatched",
        "incident.recommended",
        "unit.assigned",
        "unit.status",
        "positions",
    }
)


def sees(role: Role) -> frozenset[str] | None:
    """The change types a console of this role is sent; None: every one."""
    return CALL_TAKER_SEES if role == Role.call_taker else None


async def snapshot(queue: IncidentQueue, board: UnitBoard) -> bytes:
    """The queue and the unit board as Redis has them now."""
    entries, units = await asyncio.gather(queue.snapshot(limit=QUEUE_LIMIT), board.units())
    return orjson.dumps(
        {
            "type": "snapshot",
            "protocol": p.VERSION,
            "queue": [
                {
                    "incident_id": e.incident_id,
                    "priority": e.priority,
                    "received_at_ms": e.received_at_ms,
                    "leased": e.leased_by is not None,
                }
                for e in entries
            ],
            "units": [
                {
                    "id": u.id,
                    "call_sign": u.call_sign,
                    "status": u.status,
                    "lat": u.lat,
                    "lon": u.lon,
                    "incident_id": u.incident_id,
                    "silent": u.silent,
                }
                for u in units
            ],
        }
    )


async def send_snapshots(
    sockets: list[Socket], *, queue: IncidentQueue, board: UnitBoard, keeper: QueueKeeper, restore: bool = False
) -> None:
    """Sends these console sockets a snapshot. Changes published while it is read wait and follow it, so none
    is overtaken by a picture older than itself. `restore`: first put the queue and the board back from
    PostgreSQL if Redis lost them (a snapshot of an emptied Redis would blank every console). Raises what the
    backends raise; the sockets then hold nothing back."""
    for sock in sockets:
        sock.hold()
    try:
        if restore:
            await keeper.reconcile()
        body = await snapshot(queue, board)
        for sock in sockets:
            sock.offer(body)
    finally:
        for sock in sockets:
            sock.release()
