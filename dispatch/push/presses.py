"""A crew's presses from its device, `status` and `message` (docs/protocol.md, "Device messages"): each done once
and answered alike however often the device sends it; its device sends again what it got no answer to."""

import asyncio
import logging

import orjson

from dispatch.auth.service import Principal
from dispatch.errors import DispatchError
from dispatch.mapbound import check_position
from dispatch.push import protocol as p
from dispatch.push.outbox import now_ms
from dispatch.services import Services
from dispatch.units import conversation
from dispatch.units.reports import report_status

log = logging.getLogger("dispatch.push")


def _dump(message: dict) -> bytes:
    return orjson.dumps(message)


async def answered_once(state: Services, who: Principal, unit_id: int, message: p.Status | p.Text) -> bytes | None:
    """A crew's press is done once and answered alike however often it comes: its device sends again what it got
    no answer to (the socket died on the way), with the same id, and is given the first answer again and nothing
    else happens (docs/protocol.md, "Device messages"). The answer is kept after the press's effect is stored.
    An error of the service (5xx) is not kept: nothing was done, and the press is judged again when resent.

    The work is not cancelled with its socket (a device reconnecting replaces the socket in the middle of it):
    stored but never kept as answered, or never told to the consoles, the press would be judged again when resent.
    A resend that arrives while it is still at work waits for the same answer."""
    if message.id is None:
        await _pressed(state, who, unit_id, message)
        return None
    key, working = (unit_id, message.id), state.answers.working
    work = working.get(key)
    if work is None:
        given = await state.answers.given(unit_id, message.id)
        if given is not None:
            return given
        work = working.get(key)  # begun while Redis was asked
    if work is None:
        work = asyncio.create_task(_answer(state, who, unit_id, message, message.id))
        working[key] = work
        work.add_done_callback(lambda done: _finished(working, key, done))
    return await asyncio.shield(work)


def _finished(working: dict, key: tuple[int, str], work: asyncio.Task[bytes]) -> None:
    working.pop(key, None)
    if not work.cancelled() and work.exception() is not None:
        # Read here too: the socket that asked may be gone, and its device is told `retry` on its next try.
        log.info("unit %s: press %s not done: %r", key[0], key[1], work.exception())


async def _answer(state: Services, who: Principal, unit_id: int, message: p.Status | p.Text, re: str) -> bytes:
    try:
        answer = {"type": "ok", "re": re, **await _pressed(state, who, unit_id, message)}
    except DispatchError as exc:
        if exc.status >= 500:
            raise
        answer = {"type": "error", "code": exc.code, "message": exc.detail, "re": re}
    raw = _dump(answer)
    await state.answers.remember(unit_id, re, raw)
    return raw


async def _pressed(state: Services, who: Principal, unit_id: int, message: p.Status | p.Text) -> dict:
    """What a crew's status or message does; the fields of its `ok`."""
    if isinstance(message, p.Text):
        await _crew_wrote(state, unit_id, message)
        return {}
    if message.lat is not None and message.lon is not None:  # the protocol gives both or neither
        check_position(state.geocoder, message.lat, message.lon)
    changed = await report_status(
        state.statuses,
        who,
        unit_id,
        message.status,
        message.lat,
        message.lon,
        assignment_id=message.assignment_id,
        device_at_ms=p.device_time(message.at, now_ms(), message.id),
    )
    return {"unit": changed}


async def _crew_wrote(state: Services, unit_id: int, message: p.Text) -> None:
    """A crew's message to the dispatchers; written offline, it keeps the moment the crew wrote it (`at`). Stored
    first: if PostgreSQL refuses it, the device is told to send it again (`retry`) and no console heard of it;
    once stored, a console that missed the event (Redis away) reads it back with the conversation."""
    at = p.device_time(message.at, now_ms(), message.id)
    stored = await conversation.record_from_crew(
        state.sessionmaker, unit_id=unit_id, text_=message.text, device_at_ms=at, device_id=message.id
    )
    if stored is None:  # stored already from this device id (Redis forgot the answer): the consoles heard of it
        return
    note: dict[str, object] = {"type": "unit.message", "unit_id": unit_id, "id": stored.id, "text": message.text}
    if at is not None:
        note["at"] = at
    await state.queue_keeper.publish(note)
