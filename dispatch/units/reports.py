"""What a unit reports, from its device's socket or over HTTP: one path, so both behave the same.

A status change is committed in PostgreSQL first, then mirrored on the board, then told to consoles. A
position goes to the board at once (the matcher's view), to the consoles in batches, and to PostgreSQL at a
sampled rate and with every status change: the database keeps the track without taking every fix.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.db import retrying
from dispatch.errors import Forbidden, NotFound
from dispatch.incidents.lifecycle import QueueAction
from dispatch.keys import Keys
from dispatch.units import service
from dispatch.units.board import UnitBoard
from dispatch.units.models import UnitStatus

AVL_SAMPLE_S = 30.0  # a unit's position is written to PostgreSQL at most this often between status changes


def may_report_for(who: Principal, unit_id: int) -> bool:
    """A unit's device reports only for its own unit; dispatchers (and admins) for any."""
    if who.role in (Role.dispatcher, Role.admin):
        return True
    return who.role == Role.unit and who.unit_id == unit_id


@dataclass
class StatusReports:
    """A unit's status, reported by its crew, a dispatcher or the acknowledgement watcher: written in
    PostgreSQL, then the board, the consoles, the queue and the crew told."""

    sessions: async_sessionmaker[AsyncSession]
    board: UnitBoard
    keys: Keys
    requeue: Callable[[QueueAction], Awaitable[object]]
    cancel: Callable[..., Awaitable[object]]  # the pusher's: tells a crew its assignment ended
    team: Callable[..., Awaitable[object]] | None = None  # the pusher's: tells the others on the incident
    told: Callable[..., Awaitable[object]] | None = None  # the pusher's: tells a crew its unit's status changed
    on_freed: list[Callable[[], None]] = field(default_factory=list)


def _audited(by: Actor, reason: str | None) -> str:
    """Who set the status by hand, as unit_report takes it (p_audit), with the dispatcher's reason if given."""
    who = orjson.loads(audit.who(by))
    return orjson.dumps({**who, "reason": reason} if reason else who).decode()


async def report_status(
    state: StatusReports,
    who: Principal,
    unit_id: int,
    status: UnitStatus,
    lat: float | None = None,
    lon: float | None = None,
    *,
    assignment_id: int | None = None,
    assignment_status: str | None = None,
    why: str | None = None,
    by: Actor | None = None,
    device_at_ms: int | None = None,
    reason: str | None = None,
) -> dict:
    """`assignment_id`: the assignment the report is about (a device names it); refused with Conflict unless
    it is still the unit's (see service.change_status). When anyone but the crew ends the unit's assignment
    (a dispatcher, the acknowledgement watcher), the crew is told with a cancel saying `why`. `reason`: a
    dispatcher's words for setting it by hand, kept in the audit record and told to the crew and the consoles."""
    if not may_report_for(who, unit_id):
        raise Forbidden("a unit reports only its own status")

    async def work() -> service.StatusChange:
        async with state.sessions() as session:
            change = await service.change_status(
                session,
                unit_id=unit_id,
                status=status,
                actor=f"{who.role.value}:{who.username}",
                by_dispatcher=who.role != Role.unit,
                lat=lat,
                lon=lon,
                assignment_id=assignment_id,
                assignment_status=assignment_status,
                # Set by hand (a dispatcher) or by the service (the acknowledgement watcher): audited by the same
                # statement. A crew's own reports are the incident's event log.
                audit_actor=None if who.role == Role.unit else _audited(by or Actor.system(who.username), reason),
                device_at=None if device_at_ms is None else datetime.fromtimestamp(device_at_ms / 1000, UTC),
            )
            await session.commit()
            return change

    change = await retrying(work)
    fields = {"status": change.status.value}
    if change.freed:
        fields.update(incident="", work_priority="")
    if lat is not None:
        fields.update(lat=lat, lon=lon, at=int(time.time() * 1000))
    # The board and the consoles in one round trip (the consoles hear of it after the board has it).
    announce = None
    if change.status != change.previous:
        announce = (
            state.keys.events,
            orjson.dumps(
                {
                    "type": "unit.status",
                    "unit_id": unit_id,
                    "call_sign": change.call_sign,
                    "status": change.status.value,
                    "previous": change.previous.value,
                    "incident_id": change.incident_id,
                    **({"reason": reason} if reason else {}),
                }
            ),
        )
    await state.board.update(unit_id, announce=announce, **fields)
    if change.requeue:
        incident_id, priority, received_ms = change.requeue
        await state.requeue(QueueAction("enqueue", incident_id, priority, received_ms))
    if change.freed:
        for listener in state.on_freed:
            listener()
    if who.role != Role.unit and change.ended_assignment:
        await state.cancel(unit_id, change.incident_id, why or reason or f"stood down: set {status.value} by dispatch")
    if who.role != Role.unit and change.status != change.previous and state.told is not None:
        # A crew set out of service by dispatch, or as not responding, must see it: it gets no calls until it
        # says it is available again.
        told = why or reason or f"set {status.value.replace('_', ' ')} by dispatch"
        await state.told(unit_id, change.status.value, told)
    if state.team is not None and change.incident_id is not None and change.status != change.previous:
        await state.team(change.incident_id, changed=unit_id, left=change.ended_assignment, members=change.team)
    return {
        "unit_id": unit_id,
        "call_sign": change.call_sign,
        "status": change.status.value,
        "previous": change.previous.value,
        "incident_id": change.incident_id,
    }


FLUSH_S = 0.2  # positions from devices reach the board (the matchers' view) within this


class PositionSampler:
    """A position fix costs a dictionary write: fixes are held in memory and flushed every FLUSH_S in one Redis
    command to the board, once a second in one message to the consoles, and in one PostgreSQL statement for
    the units whose last stored fix is AVL_SAMPLE_S old. Ten thousand vehicles at a fix every 5 s are 2,000
    fixes a second; one round trip each would be most of a core."""

    def __init__(self, board: UnitBoard, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._units, self._sessions = board, sessions
        self._written: dict[int, float] = {}  # unit -> monotonic time of its last PostgreSQL write
        self.pending: dict[int, tuple[float, float]] = {}  # unit -> position not yet told to consoles
        self._board: dict[int, tuple[float, float, int]] = {}  # unit -> (lat, lon, ms) not yet on the board
        self._store: dict[int, tuple[float, float]] = {}  # unit -> position due for PostgreSQL

    async def report(self, who: Principal, unit_id: int, lat: float, lon: float, *, now: bool = False) -> None:
        """Takes a fix; `now` writes it to the board before returning (an HTTP caller may read it back)."""
        if not may_report_for(who, unit_id):
            raise Forbidden("a unit reports only its own position")
        board = self._units
        if who.role != Role.unit and await board.get(unit_id) is None:
            raise NotFound(f"no unit {unit_id}")
        if now:
            await board.update(unit_id, lat=lat, lon=lon, at=int(time.time() * 1000))
            self._held(unit_id, lat, lon)
        else:
            self.hold(who, unit_id, lat, lon)

    def hold(self, who: Principal, unit_id: int, lat: float, lon: float) -> None:
        """A fix held for the next flush: no input or output, so a device's socket takes it
        in place (dispatch.push.routes)."""
        if not may_report_for(who, unit_id):
            raise Forbidden("a unit reports only its own position")
        self._board[unit_id] = (lat, lon, int(time.time() * 1000))
        self._held(unit_id, lat, lon)

    def _held(self, unit_id: int, lat: float, lon: float) -> None:
        self.pending[unit_id] = (lat, lon)
        clock = time.monotonic()
        if clock - self._written.get(unit_id, 0.0) >= AVL_SAMPLE_S:
            self._written[unit_id] = clock
            self._store[unit_id] = (lat, lon)

    async def flush(self) -> None:
        """The held fixes to the board, and the due ones to PostgreSQL, each in one round trip."""
        fixes, self._board = self._board, {}
        if fixes:
            await self._units.set_positions(fixes)
        due, self._store = self._store, {}
        if due:
            ids = sorted(due)  # one lock order for every writer of many unit rows

            async def work() -> None:
                async with self._sessions() as session:
                    await service.record_positions(session, ids, [due[i][0] for i in ids], [due[i][1] for i in ids])
                    await session.commit()

            await retrying(work)

    def take_batch(self) -> list[list]:
        batch = [[unit_id, lat, lon] for unit_id, (lat, lon) in self.pending.items()]
        self.pending = {}
        return batch
