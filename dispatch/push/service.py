"""Telling units: assignments, routes, corrections, cancels and moves, each awaited until acknowledged; what a
resuming unit has now; and the deadline watcher.

An assignment a crew never saw is worse than none: the dispatcher believes help is on the way. Each one
must be acknowledged within `ack_deadline_s`; past it, it is sent once more and every console is told; past
a second deadline the unit is taken out of service as not responding, its assignment released, the incident
queued again (the matcher sends the next unit) and the consoles alerted. Every other message to a unit is
awaited too, and sent again at each deadline until acknowledged (STAGES deadlines, then the consoles are
told). A deadline acts only on what it was set for: a newer message ends the wait for those it makes moot
(a cancel for everything about its incident), and PostgreSQL is asked, at each deadline of an assignment,
whether that very assignment still waits for its acknowledgement.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
import redis.exceptions
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.errors import Conflict, DispatchError
from dispatch.matching.eta import RouterHolder
from dispatch.push import messages, team
from dispatch.push.outbox import STAGES, Outbox, Sent, now_ms
from dispatch.push.resume import BACKEND_ERRORS
from dispatch.push.sweep import SWEEP_EVERY_S, Sweep
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import UnitBoard
from dispatch.units.models import UnitStatus
from dispatch.units.reports import StatusReports, report_status

log = logging.getLogger("dispatch.push")
SYSTEM = Principal(user_id=0, username="ack-watch", role=Role.dispatcher, unit_id=None, token_id=0)
NOT_ACKNOWLEDGED = "not acknowledged in time: reassigned"
RETRY_MS = 1000  # a deadline that could not be handled (PostgreSQL or Redis away) is tried again after this


class Pusher:
    def __init__(
        self,
        outbox: Outbox,
        *,
        board: UnitBoard,
        sessions: async_sessionmaker[AsyncSession],
        routers: RouterHolder,
        deadline_s: float,
    ) -> None:
        self.outbox, self.board, self.sessions, self.routers = outbox, board, sessions, routers
        self.deadline_s = deadline_s

    async def assignments(
        self,
        incident_id: int,
        assignments: list[dict],
        etas: dict[int, float | None],
        board: dict | None = None,
        about: dict | None = None,
        routes=None,
    ) -> None:
        """Sends each unit its assignment at once, then its route (`update`): the crew should not wait for the
        route to learn where to go. `about`: the brief, when the caller has it already (the dispatch write
        reads it). `routes`: unit id -> Route or None, when the caller has them (the matcher's search tree);
        otherwise each is a search of its own."""
        board = board if board is not None else {u.id: u for u in await self.board.units()}
        if about is None:
            async with self.sessions() as session:
                about = await messages.brief(session, incident_id)
        if not assignments:
            return
        sent = await self.outbox.send_many(
            [
                (
                    a["unit_id"],
                    messages.assignment(
                        about, assignment_id=a["assignment_id"], slot=a["slot"], eta_s=etas.get(a["unit_id"])
                    ),
                )
                for a in assignments
            ],
            ack_within_s=self.deadline_s,
        )
        lat, lon = about["location"]["lat"], about["location"]["lon"]
        updates = []
        # An assignment the outbox already had (a sweep sent it: this push came late) has had its route too.
        for a in (a for a, s in zip(assignments, sent, strict=True) if s is not None):
            unit = board.get(a["unit_id"])
            found = routes(a["unit_id"]) if routes is not None else None
            route = self._route(unit, lat, lon, found)
            if route is not None:
                updates.append(
                    (
                        a["unit_id"],
                        {
                            "type": "update",
                            "incident_id": incident_id,
                            "assignment_id": a["assignment_id"],
                            "route": route,
                        },
                    )
                )
        if updates:
            await self.outbox.send_many(updates, ack_within_s=self.deadline_s)

    def _route(self, unit, lat: float | None, lon: float | None, found=None) -> dict | None:
        router = self.routers.router if self.routers.ready else None
        if router is None or lat is None or lon is None or unit is None or unit.lat is None or unit.lon is None:
            return None
        return messages.route(router, (unit.lat, unit.lon), (lat, lon), found=found)

    async def unpushed(self, unit_id: int, active: dict, head: str | None) -> Sent | None:
        """An assignment that never reached the unit's outbox (`active`, as messages.current_assignment reads
        it), sent as the matcher would have, then its route; only if the unit's count is still `head` (read
        before PostgreSQL was) and the outbox never took it. None if not sent (see dispatch.push.sweep)."""
        message = {k: v for k, v in active.items() if k != "status"}
        sent = await self.outbox.send_if_head(unit_id, message, head)
        if sent is None:
            return None
        lat, lon = active["location"]["lat"], active["location"]["lon"]
        route = self._route(await self.board.get(unit_id), lat, lon)
        if route is not None:
            await self.outbox.send(
                unit_id,
                {
                    "type": "update",
                    "incident_id": active["incident_id"],
                    "assignment_id": active["assignment_id"],
                    "route": route,
                },
                ack_within_s=self.deadline_s,
            )
        return sent

    async def corrected(self, incident_id: int, changed: dict) -> None:
        """A dispatcher's correction to the crews on the incident (once it is stored): the fields changed, and,
        when the place changed, its new point and label and a new route from where each unit is."""
        units = [u for u in await self.board.units() if u.incident_id == incident_id]
        if not units:
            return
        located: dict = {}
        if changed.keys() & {"location_text", "lat", "lon"}:
            async with self.sessions() as session:
                row = (
                    await session.execute(
                        text("""SELECT ST_Y(location::geometry), ST_X(location::geometry), address_label, municipality
                                FROM incidents WHERE id = :id"""),
                        {"id": incident_id},
                    )
                ).first()
            if row is not None and row[0] is not None:
                located = {"location": {"lat": row[0], "lon": row[1]}, "address": row[2], "municipality": row[3]}
        for unit in units:
            message = {"type": "update", "incident_id": incident_id, "changed": changed, **located}
            if located:
                point = located["location"]
                message["route"] = await asyncio.to_thread(self._route, unit, point["lat"], point["lon"])
            await self.outbox.send(unit.id, message)

    async def team(
        self, incident_id: int, *, changed: int | None = None, left: bool = False, members: list | None = None
    ) -> None:
        """Tells each unit on the incident who is on it now, after one was sent, changed status (`changed`, which
        knows already) or left it (`left`: then even a crew alone on it hears that the others have gone). A unit
        alone on its incident is told nothing: there is no one else to know about. What it tells is secondary to
        the change that caused it, which is stored already: a failure is logged, not raised (the next change,
        or `current` on resume, tells the team again). `members`: the team as the change's own statement read it
        (a status report's), else it is read here."""
        try:
            if members is None:
                async with self.sessions() as session:
                    members = await team.team(session, incident_id)
            if len(members) < 2 and not left:
                return
            message = team.team_update(incident_id, members)
            targets = [m["unit_id"] for m in members if m["unit_id"] != changed]
            if targets:
                await self.outbox.send_many([(unit_id, dict(message)) for unit_id in targets])
        except BACKEND_ERRORS as exc:
            log.warning("the team of incident %s was not told: %r", incident_id, exc)

    async def note(self, incident_id: int, note: dict) -> None:
        """A dispatcher's note to the crews on the incident, once it is stored (a failure as for `team`: the
        note is in the log, and in the brief of every later assignment)."""
        try:
            async with self.sessions() as session:
                members = await team.team(session, incident_id)
            if members:
                message = team.note_update(incident_id, note)
                await self.outbox.send_many([(m["unit_id"], dict(message)) for m in members])
        except BACKEND_ERRORS as exc:
            log.warning("the note on incident %s was not sent to its crews: %r", incident_id, exc)

    async def cancel(self, unit_id: int, incident_id: int, reason: str, *, assignment_id: int | None = None) -> None:
        """Stands the crew down; ends the wait for every message about the incident (no resend, no escalation
        of an assignment the crew no longer has). `assignment_id`: the assignment that ended, so that a push of
        it still on its way (a matcher that committed it just before) is refused by the outbox."""
        await self.outbox.send(
            unit_id, messages.cancel(incident_id, reason, assignment_id), ack_within_s=self.deadline_s
        )

    async def unit_status(self, unit_id: int, status: str, reason: str) -> None:
        """The unit's status as someone else set it (a dispatcher, the acknowledgement watcher): the crew's device
        shows it (out of service above all: no calls come until the crew says it is available)."""
        await self.outbox.send(unit_id, {"type": "unit_status", "status": status, "reason": reason})

    async def move(self, order: dict) -> None:
        """A move-up order with its route from where the unit is (None when no road reaches the post or the
        unit's position is not known): the crew drives it as it would an assignment's."""
        message = messages.move(order["post_id"], order["post"], order["lat"], order["lon"], order["reason"])
        unit = await self.board.get(order["unit_id"])
        message["route"] = await asyncio.to_thread(self._route, unit, order["lat"], order["lon"])
        await self.outbox.send(order["unit_id"], message, ack_within_s=self.deadline_s)

    async def current(self, unit_id: int, head: str | None) -> Sent:
        """Sends the unit what it has to do now, from PostgreSQL (its active assignment, with a route, or none),
        ending the wait for everything sent before but a dispatcher's words (sent again after it). `head`: the
        unit's count when the caller looked at the outbox; if another message went out since, PostgreSQL is read
        again, so that a cancel committed meanwhile is never overtaken by the assignment it cancels."""
        for _ in range(5):
            async with self.sessions() as session:
                active = await messages.current_assignment(session, unit_id)
            if active is not None and active["location"]["lat"] is not None:
                unit = await self.board.get(unit_id)
                active["route"] = self._route(unit, active["location"]["lat"], active["location"]["lon"])
            sent = await self.outbox.send_if_head(unit_id, messages.current(active), head)
            if sent is not None:
                # A dispatcher's words written while the device was away are not in `current`: they follow it.
                for message_id, body in await self.outbox.awaited_words(unit_id):
                    await self.outbox.republish(unit_id, message_id, body)
                return sent
            head = await self.outbox.head(unit_id)
        raise Conflict(f"unit {unit_id}'s outbox kept changing while its current assignment was read; resume again")


# Whether an assignment still waits for its acknowledgement, as PostgreSQL says.
_AWAITING = text("SELECT status = 'assigned' FROM assignments WHERE id = :id AND unit_id = :unit")


class AckWatcher:
    """Runs in every service process; each passed deadline is taken by exactly one of them (Lua). It also runs
    the sweep for assignments that never reached an outbox (each sent once, whichever process finds it)."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        pusher: Pusher,
        statuses: StatusReports,
        publish: Callable[..., Awaitable[None]],
        every_s: float = 0.2,
    ) -> None:
        self.outbox, self.pusher, self.statuses, self.publish = outbox, pusher, statuses, publish
        self.sessions, self.every_s = pusher.sessions, every_s
        self.sweep = Sweep(pusher.sessions, outbox, pusher)
        self._task: asyncio.Task | None = None

    @property
    def deadline_ms(self) -> int:
        return int(self.pusher.deadline_s * 1000)

    async def awaiting(self, unit_id: int, assignment_id: int) -> bool:
        async with self.sessions() as session:
            return bool(await session.scalar(_AWAITING, {"id": assignment_id, "unit": unit_id}))

    async def check(self) -> int:
        handled = 0
        for unit_id, stage, message_id, body in await self.outbox.due():
            try:
                await self._passed(unit_id, stage, message_id, body)
            except Exception as exc:  # noqa: BLE001 - PostgreSQL or Redis away: this deadline is tried again
                stop_if_cancelled()
                log.warning("deadline of message %s to unit %s put off: %r", message_id, unit_id, exc)
                await self.outbox.schedule(unit_id, message_id, now_ms() + RETRY_MS, stage=stage)
            handled += 1
        return handled

    async def _passed(self, unit_id: int, stage: int, message_id: str, body: bytes) -> None:
        message = orjson.loads(body)
        work = messages.awaited_assignment(message)
        if work is not None:
            if not await self.awaiting(unit_id, work["assignment_id"]):
                # Acknowledged on another road (a status), cancelled, reassigned, closed: nothing to wait for.
                await self.outbox.ack(unit_id, message_id)
            elif stage == 1:
                await self.resend(unit_id, message_id, body, stage)
                await self.publish(
                    {
                        "type": "alert",
                        "kind": "ack_late",
                        "unit_id": unit_id,
                        "incident_id": work.get("incident_id"),
                        "message_id": message_id,
                        "detail": "assignment not acknowledged: sent again",
                    }
                )
            else:
                await self.escalate(unit_id, message_id, work)
        elif stage < STAGES:
            await self.resend(unit_id, message_id, body, stage)
        elif await self.outbox.ack(unit_id, message_id) is not None:  # given up on, unless acknowledged now
            await self.not_answering(unit_id)
            await self.publish(
                {
                    "type": "alert",
                    "kind": "not_acknowledged",
                    "unit_id": unit_id,
                    "incident_id": message.get("incident_id"),
                    "message_id": message_id,
                    "detail": f"{message.get('type')} not acknowledged after {stage} tries: the crew may not have it",
                }
            )

    async def not_answering(self, unit_id: int) -> None:
        """The unit's device let a message go unanswered through every resend: until it is heard from again
        (dispatch.push.routes), the matcher sends the unit only when no other can go, and the board says so."""
        if await self.pusher.board.silent(unit_id, now_ms()):
            await self.publish({"type": "unit.reach", "unit_id": unit_id, "silent": True})

    async def resend(self, unit_id: int, message_id: str, body: bytes, stage: int) -> None:
        if await self.outbox.republish(unit_id, message_id, body):  # not if a newer message made it moot
            await self.outbox.schedule(unit_id, message_id, now_ms() + self.deadline_ms, stage=stage + 1)

    async def escalate(self, unit_id: int, message_id: str, work: dict) -> None:
        """Takes the unit out of service as not responding, only if the assignment this deadline was set for is
        still its active one and still unacknowledged (checked under PostgreSQL's locks); the device is then
        told (a cancel, sent with the status change) and the consoles alerted."""
        incident_id = work.get("incident_id")
        try:
            await report_status(
                self.statuses,
                SYSTEM,
                unit_id,
                UnitStatus.out_of_service,
                assignment_id=work["assignment_id"],
                assignment_status="assigned",
                why=NOT_ACKNOWLEDGED,
            )
        except DispatchError as exc:  # a Conflict: acknowledged or ended meanwhile, under PostgreSQL's locks
            await self.outbox.ack(unit_id, message_id)
            log.info("no escalation for unit %s: %s", unit_id, exc.detail)
            return
        # Nothing more to wait for. (A PostgreSQL that could not be asked raised above: the deadline comes again.)
        await self.outbox.ack(unit_id, message_id)
        await self.not_answering(unit_id)
        await self.publish(
            {
                "type": "alert",
                "kind": "escalation",
                "unit_id": unit_id,
                "incident_id": incident_id,
                "message_id": message_id,
                "detail": "assignment never acknowledged: unit set out of service, the next unit is being sent",
            }
        )
        log.warning("unit %s never acknowledged incident %s: reassigned", unit_id, incident_id)

    async def run(self) -> None:
        next_sweep = 0.0
        while True:
            stop_if_cancelled()
            try:
                await self.check()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_EVERY_S
                    await self.sweep.run()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                stop_if_cancelled()
                log.warning("ack watcher waits for Redis: %s", exc)
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
