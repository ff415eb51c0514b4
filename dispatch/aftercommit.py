"""After a lifecycle change is committed: the queue, the unit board and the crews are told.

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

from dispatch.incidents.lifecycle import QueueAction
from dispatch.queue.keeper import REDIS_DOWN
from dispatch.tasks import stop_if_cancelled

log = logging.getLogger("dispatch.incidents")
RETRY_EVERY_S = 0.5
GIVE_UP_S = 600.0  # a Redis away this long is an outage: the board refresh and the devices' resume take over
Step = Callable[[], Awaitable[object]]


def change_message(kind: str, incident_id: int, **extra) -> dict:
    return {"type": kind, "incident_id": incident_id, **extra}


async def _stood_down(state, action: QueueAction, unit_id: int, free: bool, assignment_id: int) -> None:
    if free:
        await state.board.update(unit_id, status="available", incident="", work_priority="")
    else:
        await state.board.update(unit_id, incident="", work_priority="")
    await state.pusher.cancel(unit_id, action.incident_id, action.why, assignment_id=assignment_id)


async def _work_priority(state, action: QueueAction) -> None:
    """The units on a reprioritised incident now work at its new priority (the diversion rules read it)."""
    for unit in await state.board.units():
        if unit.incident_id == action.incident_id:
            await state.board.update(unit.id, work_priority=action.priority)


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


async def tell(state, action: QueueAction, kind: str) -> None:
    """The queue, the board and the crews, after `action` was committed. Never raises for Redis being away."""
    steps: list[Step] = [partial(state.queue_keeper.apply, action, change_message(kind, action.incident_id))]
    steps += [
        partial(_stood_down, state, action, unit_id, free, assignment_id)
        for unit_id, free, assignment_id in action.released
    ]
    if action.action == "reprioritise":
        steps.append(partial(_work_priority, state, action))
    owed = await _run(steps)
    if action.released:
        state.matcher.unit_freed()
    if owed:
        tasks = getattr(state, "after_commit_tasks", None)
        if tasks is None:
            tasks = state.after_commit_tasks = set()
        task = asyncio.create_task(_pay(owed), name="after-commit")
        tasks.add(task)  # held until done, so that it is not collected while it waits
        task.add_done_callback(tasks.discard)
