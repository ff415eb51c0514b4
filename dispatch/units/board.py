"""The unit board: every unit's live state in Redis, where the matchers read it and reserve from it.

Three hashes: `<prefix>:board` holds each unit's state as one JSON value (call sign, capabilities, status,
area, the incident it works, that incident's priority, and `at`: the Redis clock's ms of its last change),
`<prefix>:board:pos` its last position ("lat,lon,ms"), and `<prefix>:board:silent` the units whose device has
not answered (a message given up on after every resend) until it is heard from again. A position fix never
rewrites the state. Every write is a Lua script that also appends what it changed to `<prefix>:board:log`, a
stream numbered by `<prefix>:board:seq` (board_scripts.py). Each process keeps a mirror of the board and,
for every incident, reads only the log's entries since its last read instead of the whole fleet; a missing
number (a trimmed entry, a Redis restart), a replaced board or a refusal the log cannot explain makes it read
the board whole. The mirror only guides a decision: the reservation checks the board itself.

PostgreSQL keeps the durable truth (units, assignments); the board is synced from it at start, every 30 s and
after a conflict, and is what makes a reservation atomic across matcher processes: one Lua script checks that
every unit of a decision is still free and takes them all, or none.

The board may be ahead of PostgreSQL (a reservation is made here first, then written there) or behind it (a
status is committed there first, then mirrored here). So the refresh never overwrites blindly: it reads the
board, then PostgreSQL, and writes a unit only where the board still holds exactly what it read (no change
came in between) and that state has settled (no reservation can still be on its way to PostgreSQL).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from dispatch.keys import Keys
from dispatch.matching.core import UnitIn
from dispatch.matching.counts import free_counts
from dispatch.statuses import FREE_UNIT
from dispatch.units.board_scripts import POSITIONS, REPLACED, RESERVE, SILENT, SYNC, UNRESERVE, UPDATE

# A state younger than this is left alone by the refresh: a matcher's reservation may still be on its way to
# PostgreSQL (it is undone by the matcher itself if that write fails). Longer than any dispatch write takes.
SETTLE_MS = 15_000
# The mirror reads the whole board at least this often, whatever the log says: a writer that bypassed the log
# (an older version during an upgrade, a hand edit) is caught up with within this.
FULL_READ_EVERY_S = 30.0


@dataclass(frozen=True)
class BoardUnit:
    id: int
    call_sign: str
    capabilities: frozenset[str]
    status: str
    lat: float | None
    lon: float | None
    area: str | None
    incident_id: int | None
    work_priority: int | None
    silent: bool = False  # its device has not answered: the matcher sends it only when no other unit can go

    def as_candidate(self) -> UnitIn:
        return UnitIn(
            self.id,
            self.call_sign,
            self.capabilities,
            self.status,
            self.lat,
            self.lon,
            self.area,
            self.incident_id,
            self.work_priority,
            self.silent,
        )


def _fields(unit: BoardUnit) -> dict:
    return {
        "call_sign": unit.call_sign,
        "caps": sorted(unit.capabilities),
        "status": unit.status,
        "area": unit.area,
        "incident": unit.incident_id,
        "work_priority": unit.work_priority,
    }


def _state(unit: BoardUnit) -> bytes:
    return orjson.dumps({**_fields(unit), "at": 0})


def _same(raw: bytes, unit: BoardUnit) -> bool:
    """Whether the board's state says what PostgreSQL says of the unit (its change time aside)."""
    call_sign, caps, status, area, incident, work = _decode_state(raw)
    return (call_sign, caps, status, area, incident, work) == (
        unit.call_sign,
        unit.capabilities,
        unit.status,
        unit.area,
        unit.incident_id,
        unit.work_priority,
    )


def _position(lat: float, lon: float, at_ms: int = 0) -> str:
    return f"{lat},{lon},{at_ms}"


def _decode_state(raw: bytes) -> tuple:
    s = orjson.loads(raw)
    # An absent value may come back from Lua's cjson as an empty table: treat anything not a number as none.
    incident, work = s.get("incident"), s.get("work_priority")
    return (
        s["call_sign"],
        frozenset(s.get("caps") or ()),
        s["status"],
        s.get("area") or None,
        incident if isinstance(incident, int) else None,
        work if isinstance(work, int) else None,
    )


def _decode_position(raw: bytes) -> tuple:
    lat_text, lon_text, _ = raw.decode().split(",")
    return float(lat_text), float(lon_text)


def _unit(unit_id: int, state: bytes, position: bytes | None, silent: bool = False) -> BoardUnit:
    call_sign, caps, status, area, incident, work = _decode_state(state)
    lat, lon = _decode_position(position) if position else (None, None)
    return BoardUnit(unit_id, call_sign, caps, status, lat, lon, area, incident, work, silent)


def _count(counts: dict[tuple[str | None, str], int], unit: BoardUnit, step: int) -> None:
    if unit.status in FREE_UNIT:
        for capability in unit.capabilities:
            counts[(unit.area, capability)] = counts.get((unit.area, capability), 0) + step


class UnitBoard:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._states, self._positions, self._silent = keys.board, keys.board_positions, keys.board_silent
        self._log, self._seq = keys.board_log, keys.board_seq
        self._keys = [self._states, self._positions, self._silent, self._log, self._seq]
        self._reserve = redis.register_script(RESERVE)
        self._unreserve = redis.register_script(UNRESERVE)
        self._update = redis.register_script(UPDATE)
        self._sync = redis.register_script(SYNC)
        self._place = redis.register_script(POSITIONS)
        self._mark = redis.register_script(SILENT)
        self._replaced = redis.register_script(REPLACED)
        # The mirror: raw states, positions and silent marks by unit id (bytes), as of log entry `_last` (its
        # stream id, None: read the whole board next) numbered `_n`; decoded units by id, ids in order, the
        # list handed out, and free counts (None: not yet counted).
        self._raw: tuple[dict, dict, dict] = ({}, {}, {})
        self._last: bytes | None = None
        self._n = 0
        self._full_due = 0.0
        self._doubted: set[int] = set()  # units a reservation was refused: the log must show why
        self._reading = asyncio.Lock()
        self._by_id: dict[int, BoardUnit] = {}
        self._list: list[BoardUnit] = []
        self._slot: dict[int, int] = {}  # unit id -> its place in `_list`
        self._free: dict | None = None

    async def load(self, units: Sequence[BoardUnit]) -> None:
        """Make the board exactly these units (from PostgreSQL), positions included."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self._states, self._positions)
        if units:
            pipe.hset(self._states, mapping={u.id: _state(u) for u in units})
            placed = {u.id: _position(u.lat, u.lon) for u in units if u.lat is not None}
            if placed:
                pipe.hset(self._positions, mapping=placed)
        await self._replaced(keys=self._keys, client=pipe)
        await pipe.execute()

    async def sync(
        self, read: Callable[[], Awaitable[Sequence[BoardUnit]]], *, only: bool = False, settle_ms: int = SETTLE_MS
    ) -> int:
        """Brings the board in line with PostgreSQL without undoing anything newer: the board is read first,
        then `read()` gives the truth (from PostgreSQL), and each unit that differs is written only where the
        board still holds what was read and has settled (SYNC). Positions: only where the board has none.
        Unless `only`, units PostgreSQL no longer has leave. Returns how many units were written."""
        seen = await self._redis.hgetall(self._states)
        units = await read()
        args: list = [settle_ms]
        for u in units:
            raw = seen.get(str(u.id).encode())
            if raw is None or not _same(raw, u):
                args.extend([u.id, raw or "", orjson.dumps(_fields(u))])
        if not only:
            keep = {str(u.id).encode() for u in units}
            for gone in set(seen) - keep:
                args.extend([gone, seen[gone], ""])
        written = await self._sync(keys=self._keys, args=args) if len(args) > 1 else 0
        places: list = ["nx"]
        for u in units:
            if u.lat is not None:
                places.extend([u.id, _position(u.lat, u.lon)])
        if not only:
            for gone in set(seen) - {str(u.id).encode() for u in units}:
                places.extend([gone, ""])
        if len(places) > 1:
            await self._place(keys=self._keys, args=places)
        return int(written)

    async def units(self) -> list[BoardUnit]:
        """Every unit, in id order. A matcher reads this for every incident: from its mirror, brought up to
        date with the board log's entries since the last read (one round trip carrying only what changed); the
        whole board is read when the log has a gap (an entry trimmed away, a Redis restart), when the board
        was replaced, after a reservation the mirror thought possible failed, and every FULL_READ_EVERY_S.
        A stale mirror cannot assign a unit twice: the reservation checks the board itself."""
        async with self._reading:  # one read at a time: two replies from one point would look like a gap
            if self._last is None or time.monotonic() >= self._full_due:
                await self._read_all()
            else:
                pipe = self._redis.pipeline(transaction=True)
                pipe.get(self._seq)
                pipe.xrange(self._log, min=b"(" + self._last, max="+")
                seq, entries = await pipe.execute()
                if not self._apply(entries, int(seq or 0)) or self._unexplained():
                    await self._read_all()
            self._doubted.clear()
            return list(self._list)

    def _unexplained(self) -> bool:
        """A unit was refused that the mirror, caught up with the log, still shows free: the mirror missed a
        change (a writer that bypassed the log). A unit that another matcher, or another of this process's
        loops, took meanwhile is explained by the log and costs no whole read."""
        return any(
            (unit := self._by_id.get(unit_id)) is not None and unit.status in FREE_UNIT for unit_id in self._doubted
        )

    async def _read_all(self) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.hgetall(self._states)
        pipe.hgetall(self._positions)
        pipe.hgetall(self._silent)
        pipe.xrevrange(self._log, count=1)
        states, positions, silent, top = await pipe.execute()
        self._last, self._n = (top[0][0], int(top[0][1][b"n"])) if top else (b"0-0", 0)
        self._full_due = time.monotonic() + FULL_READ_EVERY_S
        self._take_all(states, positions, silent)

    def _apply(self, entries: list, seq: int) -> bool:
        """The log's entries onto the mirror; False if one is missing (or the board was replaced)."""
        n = self._n
        for _, fields in entries:
            n += 1
            if int(fields[b"n"]) != n or b"all" in fields:
                return False
        if n != seq:
            return False
        states, positions, silent = self._raw
        hashes = {ord("s"): states, ord("p"): positions, ord("q"): silent}
        changed: set[bytes] = set()
        for _, fields in entries:
            for name, value in fields.items():
                target = hashes.get(name[0])
                if target is None:
                    continue
                key = name[1:]
                if value:
                    target[key] = value
                else:
                    target.pop(key, None)
                changed.add(key)
        if entries:
            self._last, self._n = entries[-1][0], n
        self._take(changed)
        return True

    def _take_all(self, states: dict, positions: dict, silent: dict) -> None:
        """A whole read: only the units that differ from the mirror's (compared raw, in C) are decoded."""
        last_states, last_positions, last_silent = self._raw
        self._raw = (states, positions, silent)
        if (
            states.keys() != last_states.keys()
            or positions.keys() != last_positions.keys()
            or silent.keys() != last_silent.keys()
        ):
            self._by_id = {int(k): _unit(int(k), state, positions.get(k), k in silent) for k, state in states.items()}
            self._free = None
            self._regroup()
            return
        changed = {k for k, _ in positions.items() - last_positions.items()}
        changed.update(k for k, _ in states.items() - last_states.items())
        self._take(changed)

    def _take(self, changed: set[bytes]) -> None:
        """Decodes again the units whose raw entries changed; the free counts follow them unit by unit."""
        if not changed:
            return
        states, positions, silent = self._raw
        by_id, free = self._by_id, self._free
        regrouped = False
        for k in changed:
            unit_id = int(k)
            was = by_id.get(unit_id)
            state = states.get(k)
            now = _unit(unit_id, state, positions.get(k), k in silent) if state is not None else None
            if (was is None) != (now is None):
                regrouped = True
            if now is None:
                by_id.pop(unit_id, None)
            else:
                by_id[unit_id] = now
                if not regrouped:
                    self._list[self._slot[unit_id]] = now
            if free is not None:
                if was is not None:
                    _count(free, was, -1)
                if now is not None:
                    _count(free, now, +1)
        if regrouped:
            self._regroup()

    def _regroup(self) -> None:
        """Units came or went: the list in id order, and each unit's place in it, anew."""
        self._list = [self._by_id[i] for i in sorted(self._by_id)]
        self._slot = {u.id: i for i, u in enumerate(self._list)}

    def free_counts(self) -> dict[tuple[str | None, str], int]:
        """The free units by (area, capability) as of the last `units()` read (see core.free_counts): counted
        once, then kept up to date unit by unit as states change. A copy: the caller may change it."""
        if self._free is None:
            self._free = free_counts(self._list)
        return {key: n for key, n in self._free.items() if n}

    async def get(self, unit_id: int) -> BoardUnit | None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(self._states, unit_id)
        pipe.hget(self._positions, unit_id)
        pipe.hexists(self._silent, unit_id)
        state, position, silent = await pipe.execute()
        return _unit(unit_id, state, position, bool(silent)) if state is not None else None

    async def silent(self, unit_id: int, since_ms: int) -> bool:
        """The unit's device has not answered: True if it was not marked so already."""
        return bool(await self._mark(keys=self._keys, args=[unit_id, since_ms]))

    async def silent_units(self) -> set[int]:
        return {int(k) for k in await self._redis.hkeys(self._silent)}

    async def heard(self, unit_id: int) -> bool:
        """The unit's device was heard from (it connected, acknowledged, reported): True if it was silent."""
        return bool(await self._mark(keys=self._keys, args=[unit_id, ""]))

    async def reserve(
        self, incident_id: int, priority: int, unit_ids: Sequence[int], *, divert_from: int = 0, now_ms: int
    ) -> tuple[bool, int | None]:
        """Takes every unit for the incident, or none: (True, None) or (False, the first unit not free). A
        refused unit the log does not show taken makes the mirror read the board whole next time."""
        if not unit_ids:
            return True, None
        reply = await self._reserve(keys=self._keys, args=[incident_id, priority, divert_from, *unit_ids])
        if int(reply[0]) == 1:
            return True, None
        refused = unit_ids[int(reply[1]) - 1]
        self._doubted.add(refused)
        return False, refused

    async def unreserve(self, incident_id: int, before: Sequence[BoardUnit]) -> None:
        args: list = [incident_id]
        for unit in before:
            args.extend([unit.id, _state(unit)])
        await self._unreserve(keys=self._keys, args=args)

    async def set_positions(self, fixes: dict[int, tuple[float, float, int]]) -> None:
        """Many units' positions, (lat, lon, ms) each, in one command."""
        if not fixes:
            return
        args: list = ["set"]
        for unit_id, (lat, lon, at) in fixes.items():
            args.extend([unit_id, _position(lat, lon, at)])
        await self._place(keys=self._keys, args=args)

    async def update(self, unit_id: int, *, announce: tuple[str, bytes] | None = None, **fields) -> None:
        """Sets status, work or position of one unit (from its device or the dispatcher, after PostgreSQL).
        `incident` and `work_priority` given as "" or None clear them. `announce`: (channel, message) published
        right after, in the same round trip."""
        at = fields.pop("at", 0)
        lat, lon = fields.pop("lat", None), fields.pop("lon", None)
        if lat is not None and lon is not None:
            await self.set_positions({unit_id: (lat, lon, at)})
        if fields or announce:
            args: list = [unit_id, *(announce or ("", ""))]
            for name, value in fields.items():
                args.extend([name, orjson.dumps(None if value == "" else value)])
            await self._update(keys=self._keys, args=args)
