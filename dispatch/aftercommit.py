"""Work after a commit, in one mechanism: the queue, the unit board, the crews and the matcher are told of a
change only once PostgreSQL has it, and never of one that rolled back.

A service that changes an incident says what must follow (`AfterCommit.later(session, action, kind)`); the
request's session dependency (`dispatch.deps.get_session`) commits, then runs what the session holds, before
the response is sent; a rollback drops it. Workers with sessions of their own call `commit` the same way.

PostgreSQL has the change once the commit returns, so what follows must never turn it into an error: a 503
"nothing was stored" for a close that was stored made dispatchers close twice. Each step that Redis refuses
(it is away, or restarting) is owed and tried again every half second until it goes; the queue keeper owes its
own writes the same way, and a crew's device that missed its cancel while Redis was away is also told what
stands (`current`) when it resumes.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.incidents.lifecycle import QueueAction
from dispatch.queue.keeper import REDIS_DOWN, QueueKeeper
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import UnitBoard

if TYPE_CHECKING:
    from dispatch.push.service import Pusher

log = logging.getLogger("dispatch.incidents")
RETRY_EVERY_S = 0.5
GIVE_UP_S = 600.0  # a Redis away this long is an outage: the board refresh and the devices' resume take over
Step = Callable[[], Awaitable[object]]
PENDING = "after_commit"  # the key in a session's `info` under which its owed work waits for the commit


def change_message(kind: str, incident_id: int, **extra) -> dict:
    return {"type": kind, "incident_id": incident_id, **extra}


async def _run(steps: list[Step]) -> list[Step]:
    """Runs each step; returns those Redis refused."""
    owed = []
    for step in steps:
        try:
            await step()
        except REDIS_DOWN as exc:
            stop_if_cancelled()
            log.warning("after a commit, a step waits for Redis: %s", exc)
            owed.append(step)
    return owed


async def _pay(owed: list[Step]) -> None:
    waited = 0.0
    while owed and waited < GIVE_UP_S:
        await asyncio.sleep(RETRY_EVERY_S)
        waited += RETRY_EVERY_S
        owed = await _run(owed)
    if owed:
        log.error("after a commit, %d steps given up after %.0f s without Redis", len(owed), waited)


class AfterCommit:
    def __init__(self, *, keeper: QueueKeeper, board: UnitBoard, pusher: "Pusher") -> None:
        self.keeper, self.board, self.pusher = keeper, board, pusher
        self.on_freed: list[Callable[[], None]] = []  # a unit came free (the matcher looks at parked incidents)
        self._owed: set[asyncio.Task] = set()

    def later(self, session: AsyncSession, action: QueueAction, kind: str, *, units_told: bool = False) -> None:
        """What must follow once the session's transaction commits: `action` for the queue and the crews, and
        the change message `kind` for the consoles, with a `unit.status` for each unit it released unless the
        caller tells them itself (`units_told`)."""
        self.then(session, partial(self.tell, action, kind, units_told=units_told))

    @staticmethod
    def then(session: AsyncSession, step: Step) -> None:
        """Any other work owed once the session's transaction commits (in the order it was asked for)."""
        session.info.setdefault(PENDING, []).append(step)

    async def commit(self, session: AsyncSession) -> None:
        """Commits the session, then runs what its changes owe. A step that Redis refuses is owed and tried
        again (see `tell`); the change stands whatever follows."""
        await session.commit()
        await self.run(session)

    @staticmethod
    async def run(session: AsyncSession) -> None:
        """What the session's committed changes owe, now (`commit` does both; intake times them apart)."""
        for step in session.info.pop(PENDING, []):
            await step()

    @staticmethod
    def discard(session: AsyncSession) -> None:
        """The transaction rolled back: nothing it said must follow."""
        session.info.pop(PENDING, None)

    async def _stood_down(
        self, action: QueueAction, unit_id: int, free: bool, assignment_id: int, *, units_told: bool
    ) -> None:
        # The consoles hear of a unit taken off an incident (a cancel, a close, a merge) from the step that takes
        # it off the board, in the same round trip: a console that never heard it would show the unit on the
        # incident until reloaded.
        announce = None
        if not units_told:
            before = await self.board.get(unit_id)
            told: dict = {"type": "unit.status", "unit_id": unit_id, "incident_id": None}
            if before is not None:
                told.update(call_sign=before.call_sign, previous=before.status)
            status = "available" if free else before.status if before is not None else None
            if status is not None:
                announce = (self.keeper.channel, orjson.dumps(told | {"status": status}))
        if free:
            await self.board.update(unit_id, announce=announce, status="available", incident="", work_priority="")
        else:
            await self.board.update(unit_id, announce=announce, incident="", work_priority="")
        await self.pusher.cancel(unit_id, action.incident_id, action.why, assignment_id=assignment_id)

    async def _work_priority(self, action: QueueAction) -> None:
        """The units on a reprioritised incident now work at its new priority (the diversion rules read it)."""
        for unit in await self.board.units():
            if unit.incident_id == action.incident_id:
                await self.board.update(unit.id, work_priority=action.priority)

    async def tell(self, action: QueueAction, kind: str, *, units_told: bool = False) -> None:
        """The queue, the board and the crews, after `action` was committed."""
        # A new incident's priority goes with it: a console sounds a priority-1 call the moment it is queued.
        extra = {"priority": action.priority} if kind == "incident.created" and action.priority else {}
        steps: list[Step] = [partial(self.keeper.apply, action, change_message(kind, action.incident_id, **extra))]
        steps += [
            partial(self._stood_down, action, unit_id, free, assignment_id, units_told=units_told)
            for unit_id, free, assignment_id in action.released
        ]
        if action.action == "reprioritise":
            steps.append(partial(self._work_priority, action))
        owed = await _run(steps)
        if action.released:
            for listener in self.on_freed:
                listener()
        if owed:
            task = asyncio.create_task(_pay(owed), name="after-commit")
            self._owed.add(task)  # held until done, so that it is not collected while it waits
            task.add_done_callback(self._owed.discard)

    async def stop(self) -> None:
        for task in list(self._owed):
            task.cancel()
        await asyncio.gather(*self._owed, return_exceptions=True)
