"""The matcher: takes the most urgent waiting incident under a lease, decides, reserves, records, tells.

Any number of matchers may run (one in each service process, or `dispatch matcher` on its own): the queue's
lease keeps two from working on one incident, the board's all-or-none reservation keeps two from taking one
unit, and PostgreSQL's unique index on active assignments guards the write. A matcher that dies mid-way
loses nothing: its lease expires and the incident is matched again; a reservation whose write failed is
undone.

The lease on an incident being worked on is short (`queue_lease_s`, 1.5 s) and renewed by the live matcher
every third of it: a matcher that dies (kill -9, a lost host) stops renewing, and another takes the incident
within `queue_lease_s` of its last renewal, plus one idle poll (`takeover_bound_s`). A long lease would keep
the incident waiting for a dead matcher that long (30 s, before).

Per priority, the matcher either dispatches (auto) or only recommends and keeps the incident leased while the
dispatcher decides; the lease then expires on its own every `recommend_refresh_s`, and the recommendation is
worked out again with the units as they are by then.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial

import redis.asyncio as aioredis
import redis.exceptions
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.config import Settings
from dispatch.incidents.lifecycle import QueueAction
from dispatch.incidents.types import IncidentTypes
from dispatch.keys import Keys
from dispatch.matching.core import Decision, Policy, decide
from dispatch.matching.coverage import MoveUps
from dispatch.matching.dispatching import DispatchService
from dispatch.matching.eta import DriveTimes, RouterHolder, nearest, relevant, routable, unit_etas
from dispatch.matching.service import (
    MatchIncident,
    match_incident,
    missing_count,
    set_units_missing,
)
from dispatch.queue.service import IncidentQueue, Lease
from dispatch.statuses import DISPATCHABLE_INCIDENT
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import UnitBoard

log = logging.getLogger("dispatch.matching")
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
IDLE_POLL_S = 0.25  # a matcher woken by nobody still looks this often (expired leases, other processes)
RENEWALS_PER_LEASE = 3  # a lease is renewed this often within its length: two renewals may come late
CONFLICT_BACKOFF_S = 0.5
RECALL_EVERY_S = 0.2  # parked incidents are looked at again at most this often when units come free
RECOMMENDED_KEPT_S = 3600  # an unchanged wait is told again after this long: a reminder, not a repeat

Publish = Callable[..., Awaitable[None]]  # one or more change messages
Requeue = Callable[[QueueAction], Awaitable[object]]


PASSED_SHOWN = 30  # the units passed over that a dispatcher is shown, nearest first


def decision_view(decision: Decision, incident: MatchIncident, mode: str, etas: dict | None = None) -> dict:
    etas = etas or {}
    passed = sorted(decision.passed, key=lambda p: (etas.get(p.unit_id, float("inf")), p.unit_id))
    return {
        "incident_id": incident.id,
        "priority": incident.priority,
        "policy": decision.policy.value,
        "mode": mode,
        "complete": decision.complete,
        "picks": [asdict(p) for p in decision.picks],
        "unfilled": [asdict(s) for s in decision.unfilled],
        "alternatives": [asdict(a) for a in decision.alternatives],
        "passed": [
            {
                "unit_id": p.unit_id,
                "call_sign": p.call_sign,
                "reason": p.reason,
                "eta_s": round(etas[p.unit_id], 1) if p.unit_id in etas else None,
            }
            for p in passed[:PASSED_SHOWN]
        ],
        "passed_more": max(0, len(passed) - PASSED_SHOWN),
    }


def takeover_bound_s(settings: Settings) -> float:
    """The longest an incident leased by a matcher that died waits before another matcher has it: the lease
    it renewed last runs out, and another matcher looks at its next idle poll (or sooner, woken)."""
    return settings.queue_lease_s + IDLE_POLL_S


class Matcher:
    def __init__(
        self,
        *,
        owner: str,
        queue: IncidentQueue,
        board: UnitBoard,
        redis: aioredis.Redis,
        sessions: async_sessionmaker[AsyncSession],
        routers: RouterHolder,
        types: IncidentTypes,
        settings: Settings,
        publish: Publish,
        dispatcher: DispatchService,
        pusher=None,
    ) -> None:
        self.owner = owner
        self.queue, self.board, self.redis = queue, board, redis
        self.sessions, self.routers, self.types = sessions, routers, types
        self.settings = settings
        self.dispatcher = dispatcher  # reserve, write, tell: shared with a dispatcher's manual assignment
        self.rules, self.policy = dispatcher.rules, dispatcher.policy
        self.keys = Keys(settings.key_prefix)
        dispatcher.on_dispatched.append(self.plan_move_ups_soon)
        self._publish = publish
        self.pusher = pusher  # tells the units' devices (None: nobody listens, as in some tests)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.moveups = (
            MoveUps(
                routers=routers,
                sessions=sessions,
                board=board,
                redis=redis,
                keys=self.keys,
                publish=publish,
                target_s=settings.coverage_target_s,
                auto=settings.auto_move_up,
                pusher=pusher,
            )
            if settings.move_up and self.policy == Policy.default
            else None
        )
        self._moveup_due = 0.0  # monotonic time of the next move-up planning
        self._recall_wanted, self._next_recall = False, 0.0

    def plan_move_ups_soon(self) -> None:
        """The map of free units changed: plan move-ups at the next quiet moment."""
        self._moveup_due = 0.0

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def unit_freed(self) -> None:
        """A unit came free: the incidents parked waiting for one are looked at again (at most every
        RECALL_EVERY_S, so a busy minute's many freed units do not make the matcher decide them over and over)."""
        self._recall_wanted = True
        self._wake.set()

    def heard(self, event: bytes) -> None:
        """A change message from any process (through Redis): a new call, or a unit free again, wakes this
        matcher at once, even when the process that took the call runs no matcher. Bytes are searched, not
        parsed: every change of the whole centre passes here."""
        if b'"type":"incident.created"' in event or b'"type":"incident.reprioritised"' in event:
            self.wake()
        elif b'"type":"unit.status"' in event and (
            b'"status":"available"' in event or b'"status":"returning"' in event
        ):
            self.unit_freed()

    async def _recall_parked(self) -> None:
        if self._recall_wanted and time.monotonic() >= self._next_recall:
            self._recall_wanted = False
            self._next_recall = time.monotonic() + RECALL_EVERY_S
            await self.queue.recall()

    async def run_once(self) -> bool:
        """Handles the most urgent waiting incident, if any; True if there was one."""
        if not self.routers.ready:
            return False
        lease = await self.queue.lease(self.owner, lease_s=self.settings.queue_lease_s)
        if lease is None:
            return False
        async with self.holding(lease.incident_id):
            try:
                await self.handle(lease)
            except REDIS_DOWN:
                raise  # the lease will expire by itself; the loop waits for Redis
            except Exception:
                log.exception("matching incident %s failed; it goes back to the queue", lease.incident_id)
                await self.queue.release(lease.incident_id, self.owner)
        return True

    @contextlib.asynccontextmanager
    async def holding(self, incident_id: int):
        """Keeps this matcher's lease on the incident alive while the block runs (deciding, writing, telling),
        however long that takes; when the process dies, the renewals stop with it."""
        renewer = asyncio.create_task(self._renew(incident_id), name=f"lease-{incident_id}")
        try:
            yield
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)

    async def _renew(self, incident_id: int) -> None:
        lease_s = self.settings.queue_lease_s
        while True:
            await asyncio.sleep(lease_s / RENEWALS_PER_LEASE)
            try:
                if not await self.queue.renew(incident_id, self.owner, lease_s):
                    return  # finished or released meanwhile, or lost (then `dispatch` finds out and backs off)
            except REDIS_DOWN as exc:
                stop_if_cancelled()
                log.warning("lease on incident %s not renewed: %s", incident_id, exc)

    async def _incident(self, incident_id: int) -> MatchIncident | None:
        async with self.sessions() as session:
            return await match_incident(session, incident_id, self.types)

    async def handle(self, lease: Lease) -> None:
        # The incident from PostgreSQL and the board from Redis, side by side: one wait instead of two.
        incident, board = await asyncio.gather(self._incident(lease.incident_id), self.board.units())
        if incident is None or incident.status not in DISPATCHABLE_INCIDENT:
            await self.queue.finish(lease.incident_id, self.owner)  # cancelled or closed meanwhile
            return
        if not incident.remaining():
            await self._settle(incident, 0)
            await self.queue.finish(lease.incident_id, self.owner)
            return
        units, etas, decision = await self.advise(incident, board)
        auto = self.auto_for(incident)
        if not auto or not decision.picks:
            await self._recommended(incident, decision)
        if not auto:
            # Waits for a dispatcher: back in the queue, with fresh recommendations, when the lease runs out.
            await self._settle(incident, missing_count(incident.remaining()))
            await self.queue.extend(lease.incident_id, self.owner, self.settings.recommend_refresh_s)
            return
        if not decision.picks:
            # Waits for a unit to come free: parked, recalled as soon as one does (or at the retry time).
            await self._settle(incident, missing_count(incident.remaining()))
            await self.queue.park(lease.incident_id, self.owner, self.settings.match_retry_s)
            return
        done = await self.dispatcher.dispatch(
            incident,
            decision,
            actor=f"matcher:{self.owner}",
            mode="auto",
            hold=partial(self.queue.extend, incident.id, self.owner, self.settings.queue_lease_s),
            units=units,
            routes=etas.route,
        )
        if done is not None:
            await self._sent_silent(incident, [u for u in units if u.silent and u.id in decision.unit_ids])
        if done is None:
            # The board or the plan changed under us: decide again in a moment (a short wait, so a board that
            # disagrees with PostgreSQL cannot spin the matcher).
            await self.queue.extend(lease.incident_id, self.owner, CONFLICT_BACKOFF_S)
        elif done.units_missing == 0:
            await self.queue.finish(lease.incident_id, self.owner)
        else:
            # Sent what was free; the rest waits for a unit to come free, and the consoles are told what it lacks.
            await self._recommended(incident, decision)
            await self.queue.park(lease.incident_id, self.owner, self.settings.match_retry_s)

    async def _sent_silent(self, incident: MatchIncident, units: list) -> None:
        """A unit whose device is not answering went because no other could (core.SILENT): the dispatcher must
        reach its crew another way."""
        for unit in units:
            await self._publish(
                {
                    "type": "alert",
                    "kind": "sent_not_answering",
                    "unit_id": unit.id,
                    "incident_id": incident.id,
                    "detail": f"{unit.call_sign} sent, no other unit could go, but its device is not answering: "
                    "reach the crew another way",
                }
            )

    async def _recommended(self, incident: MatchIncident, decision: Decision) -> None:
        """The consoles are told that it waits for a dispatcher, or for a unit; they ask for the ranking. Told
        when what it lacks changes, not on every pass (each `recommend_refresh_s`, each recall of a parked
        incident): one key per incident holds what was said last, shared by every matcher, and a dispatch to the
        incident drops it (DispatchService), so the next wait is told as `first` again."""
        missing = sorted(s.capability for s in decision.unfilled for _ in range(s.count))
        said = ",".join(missing) or "-"
        before = await self.redis.set(self.keys.recommended(incident.id), said, ex=RECOMMENDED_KEPT_S, get=True)
        if before in (said, said.encode()):
            return
        await self._publish(
            {
                "type": "incident.recommended",
                "incident_id": incident.id,
                "complete": decision.complete,
                "units": [p.unit_id for p in decision.picks],
                "missing": missing,
                "first": before is None,
            }
        )

    async def advise(self, incident: MatchIncident, board: list | None = None) -> tuple[list, DriveTimes, Decision]:
        """The decision for an incident as things are now: (the units considered, their drive times, decision).
        The matcher acts on it; the recommendations route shows it. `board`: the units, if just read."""
        needs = {s.capability for s in incident.remaining()}
        board = board if board is not None else await self.board.units()
        units = relevant(board, needs)
        may_go = routable(units, incident.priority, self.rules.divert_from_priority)
        # The nearest few by air for each capability are ranked by road; the area rule counts the whole fleet.
        candidates = nearest(may_go, incident.lat, incident.lon, needs)
        etas = unit_etas(self.routers.router, incident.lat, incident.lon, candidates, self.settings.eta_cutoff_s)
        free = self.board.free_counts()
        decision = decide(
            incident.as_core(),
            [u.as_candidate() for u in candidates],
            etas,
            policy=self.policy,
            rules=self.rules,
            free=free,
        )
        return candidates, etas, decision

    def auto_for(self, incident: MatchIncident) -> bool:
        """Dispatched without a dispatcher: its priority is set to, and it has a location to send units to."""
        return incident.priority in self.settings.auto_dispatch_priorities and incident.lat is not None

    async def _settle(self, incident: MatchIncident, missing: int) -> None:
        async with self.sessions() as session:
            await set_units_missing(session, incident.id, missing)
            await session.commit()

    async def plan_move_ups(self) -> list[dict]:
        """Move-up when it is due (after dispatches, and every `move_up_every_s`); the orders issued."""
        if self.moveups is None or time.monotonic() < self._moveup_due:
            return []
        self._moveup_due = time.monotonic() + self.settings.move_up_every_s
        return await self.moveups.run()

    async def run(self) -> None:
        while True:
            stop_if_cancelled()
            # Cleared before looking, not after: a wake-up that comes while this loop looks is not lost.
            self._wake.clear()
            try:
                await self._recall_parked()
                if await self.run_once():
                    continue
                await self.plan_move_ups()  # only when no incident waits: calls come first
            except REDIS_DOWN as exc:
                stop_if_cancelled()
                log.warning("matcher waits for Redis: %s", exc)
            except Exception:
                stop_if_cancelled()
                log.exception("matcher loop error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL_S)

    def start(self) -> None:
        """Several loops, so that one incident's round trips do not hold up the next (leases keep them apart)."""
        self._tasks = [
            asyncio.create_task(self.run(), name=f"matcher-{self.owner}-{i}")
            for i in range(self.settings.matcher_concurrency)
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
