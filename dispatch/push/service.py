"""Telling units: assignments with an acknowledgement deadline, cancels and moves; and the deadline watcher.

An assignment a crew never saw is worse than none: the dispatcher believes help is on the way. Each one
must be acknowledged within `ack_deadline_s`; past it, it is sent once more and every console is told; past
a second deadline the unit is taken out of service as not responding, its assignment released, the incident
queued again (the matcher sends the next unit) and the consoles alerted.
"""

import asyncio
import logging

import orjson

from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.errors import DispatchError
from dispatch.push import messages
from dispatch.push.outbox import Outbox, now_ms
from dispatch.tasks import stop_if_cancelled
from dispatch.units.models import UnitStatus
from dispatch.units.reports import report_status

log = logging.getLogger("dispatch.push")
SYSTEM = Principal(user_id=0, username="ack-watch", role=Role.dispatcher, unit_id=None, token_id=0)


class Pusher:
    def __init__(self, state, outbox: Outbox) -> None:
        self.state = state
        self.outbox = outbox

    @property
    def deadline_s(self) -> float:
        return self.state.settings.ack_deadline_s

    async def assignments(self, incident_id: int, assignments: list[dict], etas: dict[int, float | None],
                          board: dict | None = None, about: dict | None = None, routes=None) -> None:
        """Sends each unit its assignment at once, then its route (`update`): the crew should not wait for the
        route to learn where to go. `about`: the brief, when the caller has it already (the dispatch write
        reads it). `routes`: unit id -> Route or None, when the caller has them (the matcher's search tree);
        otherwise each is a search of its own."""
        board = board if board is not None else {u.id: u for u in await self.state.board.units()}
        if about is None:
            async with self.state.sessionmaker() as session:
                about = await messages.brief(session, incident_id)
        if not assignments:
            return
        await self.outbox.send_many(
            [(a["unit_id"], messages.assignment(about, assignment_id=a["assignment_id"], slot=a["slot"],
                                                eta_s=etas.get(a["unit_id"]))) for a in assignments],
            ack_within_s=self.deadline_s)
        router = self.state.routers.router if self.state.routers.ready else None
        lat, lon = about["location"]["lat"], about["location"]["lon"]
        if router is None or lat is None:
            return
        updates = []
        for a in assignments:
            unit = board.get(a["unit_id"])
            if unit is None or unit.lat is None:
                continue
            found = routes(a["unit_id"]) if routes is not None else None
            route = messages.route(router, (unit.lat, unit.lon), (lat, lon), found=found)
            if route is not None:
                updates.append((a["unit_id"], {"type": "update", "incident_id": incident_id,
                                               "assignment_id": a["assignment_id"], "route": route}))
        if updates:
            await self.outbox.send_many(updates)

    async def cancel(self, unit_id: int, incident_id: int, reason: str) -> None:
        await self.outbox.send(unit_id, messages.cancel(incident_id, reason))

    async def move(self, order: dict) -> None:
        await self.outbox.send(order["unit_id"], messages.move(order["post_id"], order["post"], order["lat"],
                                                               order["lon"], order["reason"]))


class AckWatcher:
    """Runs in every service process; each passed deadline is taken by exactly one of them (Lua)."""

    def __init__(self, state, outbox: Outbox, every_s: float = 0.2) -> None:
        self.state, self.outbox, self.every_s = state, outbox, every_s
        self._task: asyncio.Task | None = None

    async def check(self) -> int:
        handled = 0
        for unit_id, stage, message_id in await self.outbox.due():
            body = await self.outbox.message(unit_id, message_id)
            if body is None:
                continue  # acknowledged meanwhile, or aged out of the outbox
            message = orjson.loads(body)
            if stage == 1:
                await self.outbox.republish(unit_id, body)
                await self.outbox.schedule(unit_id, message_id, now_ms() + int(self.state.settings.ack_deadline_s
                                                                               * 1000), stage=2)
                await self.state.queue_keeper.publish({
                    "type": "alert", "kind": "ack_late", "unit_id": unit_id,
                    "incident_id": message.get("incident_id"), "message_id": message_id,
                    "detail": "assignment not acknowledged: sent again"})
            else:
                await self.escalate(unit_id, message_id, message)
            handled += 1
        return handled

    async def escalate(self, unit_id: int, message_id: str, message: dict) -> None:
        await self.outbox.ack(unit_id, message_id)  # nothing more to wait for
        incident_id = message.get("incident_id")
        try:
            await report_status(self.state, SYSTEM, unit_id, UnitStatus.out_of_service)
        except DispatchError as exc:
            log.warning("escalation for unit %s: %s", unit_id, exc.detail)
        await self.outbox.send(unit_id, messages.cancel(incident_id, "not acknowledged in time: reassigned"))
        await self.state.queue_keeper.publish({
            "type": "alert", "kind": "escalation", "unit_id": unit_id, "incident_id": incident_id,
            "message_id": message_id,
            "detail": "assignment never acknowledged: unit set out of service, the next unit is being sent"})
        log.warning("unit %s never acknowledged incident %s: reassigned", unit_id, incident_id)

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            try:
                await self.check()
            except Exception:
                stop_if_cancelled()
                log.exception("ack watcher")
            await asyncio.sleep(self.every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="ack-watcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
