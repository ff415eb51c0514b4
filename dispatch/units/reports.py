"""What a unit reports, from its device's socket or over HTTP: one path, so both behave the same.

A status change is committed in PostgreSQL first, then mirrored on the board, then told to consoles. A
position goes to the board at once (the matcher's view), to the consoles in batches, and to PostgreSQL at a
sampled rate and with every status change: the database keeps the track without taking every fix.
"""

import time

from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.db import retrying
from dispatch.errors import Forbidden, NotFound
from dispatch.incidents.lifecycle import QueueAction
from dispatch.units import service
from dispatch.units.models import UnitStatus

AVL_SAMPLE_S = 30.0  # a unit's position is written to PostgreSQL at most this often between status changes


def may_report_for(who: Principal, unit_id: int) -> bool:
    """A unit's device reports only for its own unit; dispatchers (and admins) for any."""
    if who.role in (Role.dispatcher, Role.admin):
        return True
    return who.role == Role.unit and who.unit_id == unit_id


async def report_status(state, who: Principal, unit_id: int, status: UnitStatus, lat: float | None = None,
                        lon: float | None = None) -> dict:
    if not may_report_for(who, unit_id):
        raise Forbidden("a unit reports only its own status")
    async def work() -> service.StatusChange:
        async with state.sessionmaker() as session:
            change = await service.change_status(session, unit_id=unit_id, status=status,
                                                 actor=f"{who.role.value}:{who.username}",
                                                 by_dispatcher=who.role != Role.unit, lat=lat, lon=lon)
            await session.commit()
            return change

    change = await retrying(work)
    fields = {"status": change.status.value}
    if change.freed:
        fields.update(incident="", work_priority="")
    if lat is not None:
        fields.update(lat=lat, lon=lon, at=int(time.time() * 1000))
    await state.board.update(unit_id, **fields)
    if change.requeue:
        incident_id, priority, received_ms = change.requeue
        await state.queue_keeper.apply(QueueAction("enqueue", incident_id, priority, received_ms))
    if change.status != change.previous:
        await state.queue_keeper.publish({
            "type": "unit.status", "unit_id": unit_id, "call_sign": change.call_sign,
            "status": change.status.value, "previous": change.previous.value, "incident_id": change.incident_id})
    if change.freed:
        state.matcher.unit_freed()
    return {"unit_id": unit_id, "call_sign": change.call_sign, "status": change.status.value,
            "previous": change.previous.value, "incident_id": change.incident_id}


class PositionSampler:
    """Positions to the board now, to PostgreSQL every AVL_SAMPLE_S per unit, to consoles in batches."""

    def __init__(self, state) -> None:
        self._state = state
        self._written: dict[int, float] = {}  # unit -> monotonic time of its last PostgreSQL write
        self.pending: dict[int, tuple[float, float]] = {}  # unit -> position not yet told to consoles

    async def report(self, who: Principal, unit_id: int, lat: float, lon: float) -> None:
        if not may_report_for(who, unit_id):
            raise Forbidden("a unit reports only its own position")
        board = self._state.board
        if who.role != Role.unit and await board.get(unit_id) is None:
            raise NotFound(f"no unit {unit_id}")
        await board.update(unit_id, lat=lat, lon=lon, at=int(time.time() * 1000))
        self.pending[unit_id] = (lat, lon)
        now = time.monotonic()
        if now - self._written.get(unit_id, 0.0) >= AVL_SAMPLE_S:
            self._written[unit_id] = now
            async with self._state.sessionmaker() as session:
                await service.record_position(session, unit_id, lat, lon)
                await session.commit()

    def take_batch(self) -> list[list]:
        batch = [[unit_id, lat, lon] for unit_id, (lat, lon) in self.pending.items()]
        self.pending = {}
        return batch
