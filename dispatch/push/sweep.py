"""Assignments PostgreSQL holds that never reached the unit's outbox: found and sent by a sweep.

A dispatch is written in PostgreSQL, then pushed to each unit's outbox in Redis. A matcher killed between the
two, or a push that Redis failed while the device's socket stayed up (so no resume follows), leaves an
assignment `assigned` with no message and no acknowledgement deadline: the crew is never told, nobody is
alerted, and the dispatcher believes help is on the way. So every service process sweeps, every SWEEP_EVERY_S
(from the ack watcher's loop): assignments still unacknowledged after GRACE_S (far longer than a normal push
takes) whose id the unit's outbox never took are sent, then their route, as the matcher would have sent them;
from then on they are awaited, resent and escalated like any other.

Exactly once, across processes and against a push that was only late: the outbox's SEND script takes an
assignment once by its id, checked and remembered in the same script as the send (dispatch.push.outbox).
Remembering what was sent, rather than looking for a message still awaited, also keeps the sweep from sending
again an assignment whose acknowledgement is on its way to PostgreSQL, or one that a cancel has just made
moot. And the send is refused if the unit's outbox moved since before PostgreSQL was read (`send_if_head`):
a cancel committed after that read is never overtaken by the assignment it cancels; the next sweep looks
again. (After Redis lost its data nothing is remembered: the sweep then sends what still waits again, with a
new deadline, beside the `current` that resuming sockets get.)
"""

import logging

from sqlalchemy import text

from dispatch.errors import DispatchError
from dispatch.push import messages
from dispatch.push.outbox import Outbox
from dispatch.push.resume import BACKEND_ERRORS

log = logging.getLogger("dispatch.push")
GRACE_S = 2.0  # an assignment younger than this may still be on its way from the matcher: not swept yet
SWEEP_EVERY_S = 1.0

# One query, on the partial unique index of active assignments (`status = 'assigned'` implies its predicate).
_UNACKNOWLEDGED = text("""SELECT unit_id, id FROM assignments
WHERE status = 'assigned' AND assigned_at < now() - make_interval(secs => :grace)""")


class Sweep:
    def __init__(self, sessionmaker, outbox: Outbox, pusher) -> None:
        self._sessions, self.outbox, self.pusher = sessionmaker, outbox, pusher
        self._failing = False  # a backend away is logged once, not at every sweep

    async def run(self) -> int:
        """One sweep; how many assignments it sent. A backend that is away puts it off to the next sweep."""
        try:
            sent = await self.sweep()
        except (*BACKEND_ERRORS, DispatchError) as exc:
            if not self._failing:
                log.warning("assignment sweep put off: %r", exc)
            self._failing = True
            return 0
        self._failing = False
        return sent

    async def sweep(self) -> int:
        async with self._sessions() as session:
            waiting = [
                (unit_id, assignment_id)
                for unit_id, assignment_id in await session.execute(_UNACKNOWLEDGED, {"grace": GRACE_S})
            ]
        if not waiting:
            return 0
        sent = 0
        # The count is read before PostgreSQL is read again: a message sent to the unit in between refuses ours.
        for unit_id, assignment_id, head in await self.outbox.not_sent(waiting):
            async with self._sessions() as session:
                active = await messages.current_assignment(session, unit_id)
            if active is None or active["assignment_id"] != assignment_id or active["status"] != "assigned":
                continue  # acknowledged, ended or replaced since the first read
            if await self.pusher.unpushed(unit_id, active, head) is not None:
                sent += 1
                log.warning("assignment %s never reached unit %s's outbox: sent now", assignment_id, unit_id)
        return sent
