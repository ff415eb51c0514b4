"""The one way a dispatch is made: reserve the units on the board, write the assignments, tell everyone.

The matcher's loop (lease, decide, park) calls it with its own decision; a dispatcher's manual assignment
calls it with the units they named, after `manual_decision` checked them by the same status sets the matcher
uses. Either way the board's all-or-none reservation keeps two writers from taking one unit, PostgreSQL's
`dispatch_write` checks the plan under the incident's lock, and a write that fails gives the units back.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.exceptions
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.errors import Conflict, InvalidInput
from dispatch.incidents.lifecycle import QueueAction
from dispatch.keys import Keys
from dispatch.matching.core import Decision, Pick, Policy, Rules
from dispatch.matching.eta import RouterHolder, unit_etas
from dispatch.matching.service import Dispatched, MatchIncident, board_units, write_dispatch
from dispatch.statuses import DIVERTIBLE_UNIT, FREE_UNIT
from dispatch.tasks import stop_if_cancelled
from dispatch.units.board import BoardUnit, UnitBoard

log = logging.getLogger("dispatch.matching")
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

Publish = Callable[..., Awaitable[None]]  # one or more change messages
Requeue = Callable[[QueueAction], Awaitable[object]]
Hold = Callable[[], Awaitable[bool]]  # renews the caller's lease on the incident: False if it was lost


class Tells(Protocol):
    """What a dispatch needs of the push service (dispatch.push.service.Pusher), which matching does not import."""

    async def cancel(
        self, unit_id: int, incident_id: int, reason: str, *, assignment_id: int | None = None
    ) -> None: ...

    async def team(self, incident_id: int, *, changed: int | None = None, left: bool = False) -> None: ...

    async def assignments(
        self,
        incident_id: int,
        assignments: list[dict[str, Any]],
        etas: dict[int, float | None],
        board: dict[int, Any] | None = None,
        about: dict[str, Any] | None = None,
        routes: Any = None,
    ) -> None: ...


@dataclass
class DispatchService:
    board: UnitBoard
    sessions: async_sessionmaker[AsyncSession]
    routers: RouterHolder
    keys: Keys
    publish: Publish
    requeue: Requeue
    delete_keys: Callable[..., Awaitable[object]]  # Redis DEL: the units' move proposals, moot once dispatched
    policy: Policy = Policy.default
    rules: Rules = field(default_factory=Rules)
    pusher: "Tells | None" = None  # tells the units' devices (None: nobody listens, as in some tests)
    on_dispatched: list[Callable[[], None]] = field(default_factory=list)

    async def dispatch(
        self,
        incident: MatchIncident,
        decision: Decision,
        *,
        actor: str,
        mode: str,
        by: Actor | None = None,
        hold: Hold | None = None,
        units: list[BoardUnit] | None = None,
        routes: object = None,
    ) -> Dispatched | None:
        """Reserves the decision's units, writes it, tells everyone. None if a unit was no longer free, the
        plan was filled meanwhile, or (with `hold`) the caller's lease ran out while deciding."""
        chosen = {p.unit_id for p in decision.picks}
        units = units if units is not None else await self.board.units()
        before = [u for u in units if u.id in chosen]
        divert = self.rules.divert_from_priority if any(p.diverted_from for p in decision.picks) else 0
        reserving = self.board.reserve(
            incident.id,
            incident.priority,
            [p.unit_id for p in decision.picks],
            divert_from=divert,
            now_ms=int(time.time() * 1000),
        )
        if hold is None:
            ok, taken = await reserving
        else:
            # The lease renewed and the units reserved side by side; a lease lost meanwhile gives the units back.
            held, (ok, taken) = await asyncio.gather(hold(), reserving)
            if not held:
                if ok:
                    await self.board.unreserve(incident.id, before)
                log.warning("lease on incident %s ran out while deciding; another matcher has it", incident.id)
                return None
        if not ok:
            log.info("unit %s was taken meanwhile; incident %s is matched again", taken, incident.id)
            return None
        try:
            async with self.sessions() as session:
                done = await write_dispatch(
                    session,
                    incident_id=incident.id,
                    picks=list(decision.picks),
                    plan=incident.plan,
                    actor=actor,
                    mode=mode,
                    audit_actor=audit.who(by or Actor.system(actor)),  # recorded by the same statement
                )
                await session.commit()
        except Conflict as exc:
            await self.board.unreserve(incident.id, before)
            await self.resync(chosen)  # the board may have been wrong about these units: PostgreSQL decides
            log.info("dispatch to incident %s not written: %s", incident.id, exc.detail)
            if hold is None:
                raise
            return None
        except BaseException:
            await self.board.unreserve(incident.id, before)
            raise
        for lost in done.diverted_from:  # an incident that lost a unit waits again for its missing slot
            await self.requeue(QueueAction("enqueue", lost["id"], lost["priority"], lost["received_ms"]))
        try:
            await self._tell(incident, decision, done, before, mode, routes)
        except REDIS_DOWN as exc:
            # Written in PostgreSQL: it stands. The crews get it from the sweep of unsent assignments (or
            # `current` on their resume) once Redis answers; the consoles see it on their next snapshot.
            stop_if_cancelled()
            log.warning("dispatch to incident %s written, its units told once Redis is back: %s", incident.id, exc)
        return done

    async def _tell(
        self,
        incident: MatchIncident,
        decision: Decision,
        done: Dispatched,
        before: list[BoardUnit],
        mode: str,
        routes: object,
    ) -> None:
        """The written dispatch to the units' devices and to the consoles."""
        pusher = self.pusher
        if pusher is not None:
            for pick in decision.picks:
                if pick.diverted_from:
                    await pusher.cancel(
                        pick.unit_id,
                        pick.diverted_from,
                        f"diverted to priority-{incident.priority} incident {incident.id}",
                    )
            await pusher.assignments(
                incident.id,
                done.assignments,
                {p.unit_id: p.eta_s for p in decision.picks},
                {u.id: u for u in before},
                about=done.about,
                routes=routes,
            )
        for listener in self.on_dispatched:
            listener()
        # What the consoles hear, in one round trip (each unit assigned, then the incident dispatched), beside
        # the units' move proposals, now moot, going...
        await asyncio.gather(
            self.publish(
                *(
                    {
                        "type": "unit.assigned",
                        "unit_id": a["unit_id"],
                        "incident_id": incident.id,
                        "assignment_id": a["assignment_id"],
                        "slot": a["slot"],
                    }
                    for a in done.assignments
                ),
                {
                    "type": "incident.dispatched",
                    "incident_id": incident.id,
                    "mode": mode,
                    "units": [p.unit_id for p in decision.picks],
                    "complete": done.units_missing == 0,
                },
            ),
            # ...and what it was last said to lack: its next wait, if any, is told anew (Matcher._recommended).
            self.delete_keys(*(self.keys.move(p.unit_id) for p in decision.picks), self.keys.recommended(incident.id)),
        )
        if pusher is not None:
            # The crews on the incident hear who is on it now: after the consoles, which must not wait for it.
            await pusher.team(incident.id)

    async def resync(self, unit_ids: set[int]) -> None:
        """Puts these units' board entries back to what PostgreSQL says (status and work; not position)."""

        async def truth() -> list[BoardUnit]:
            async with self.sessions() as session:
                return [u for u in await board_units(session) if u.id in unit_ids]

        # At once (no settle time): PostgreSQL has just refused these units, so the board is known to be wrong;
        # a change made to one of them after this read still wins (compare-and-set).
        await self.board.sync(truth, only=True, settle_ms=0)

    async def assign(
        self, incident: MatchIncident, unit_ids: list[int], *, divert: bool, by: str, actor: Actor | None = None
    ) -> Dispatched:
        """A dispatcher's choice of units: checked (free, or divertible when `divert`, from work no more urgent
        than the rules allow), then dispatched as the matcher would. Conflict when a unit was taken meanwhile."""
        decision = await self.manual_decision(incident, unit_ids, divert=divert, by=by)
        done = await self.dispatch(incident, decision, actor=f"dispatcher:{by}", mode="manual", by=actor)
        if done is None:
            raise Conflict("a unit was taken by another dispatch meanwhile; look at the recommendations again")
        if done.units_missing == 0:  # owed by the keeper if Redis is away: the dispatch is stored either way
            await self.requeue(QueueAction("remove", incident.id))
        return done

    async def manual_decision(self, incident: MatchIncident, unit_ids: list[int], *, divert: bool, by: str) -> Decision:
        units = {u.id: u for u in await self.board.units()}
        unknown = [u for u in unit_ids if u not in units]
        if unknown:
            raise InvalidInput(f"no unit {', '.join(map(str, unknown))}")
        if len(set(unit_ids)) != len(unit_ids):
            raise InvalidInput("a unit is named twice")
        etas = (
            unit_etas(self.routers.router, incident.lat, incident.lon, [units[u] for u in unit_ids])
            if incident.lat is not None
            else {}
        )
        open_slots = [s.capability for s in incident.remaining() for _ in range(s.count)]
        picks = []
        for unit_id in sorted(unit_ids):
            unit = units[unit_id]
            if unit.incident_id == incident.id:
                raise Conflict(f"{unit.call_sign} is already on this incident")
            busy = unit.status not in FREE_UNIT
            if busy and not (divert and unit.status in DIVERTIBLE_UNIT):
                raise Conflict(
                    f"{unit.call_sign} is {unit.status.replace('_', ' ')}"
                    + ("" if divert else "; set divert to take it from its current work")
                )
            if busy and (unit.work_priority or 0) < self.rules.divert_from_priority:
                raise Conflict(f"{unit.call_sign} is on priority-{unit.work_priority} work: it is not taken from it")
            slot = next((c for c in open_slots if c in unit.capabilities), None)
            if slot is not None:
                open_slots.remove(slot)
            picks.append(
                Pick(
                    slot or "extra",
                    unit.id,
                    unit.call_sign,
                    etas.get(unit.id),
                    0.0,
                    f"assigned by {by}",
                    unit.incident_id if busy else None,
                )
            )
        return Decision(incident.id, self.policy, tuple(picks), (), (), ())
