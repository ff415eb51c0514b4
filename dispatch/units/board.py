"""The unit board: every unit's live state in Redis, where the matchers read it and reserve from it.

Three hashes: `<prefix>:board` holds each unit's state as one JSON value (call sign, capabilities, status,
area, the incident it works, that incident's priority, and `at`: the Redis clock's ms of its last change),
`<prefix>:board:pos` its last position ("lat,lon,ms"), and `<prefix>:board:silent` the units whose device has
not answered (a message given up on after every resend) until it is heard from again. Reading the whole board
is one round trip however many units there are (a matcher reads it for every incident), and a position fix is
one HSET that never rewrites the state. PostgreSQL keeps the durable truth (units, assignments); the board is
synced from it at start, every 30 s and after a conflict, and is what makes a reservation atomic across matcher
processes: one Lua script checks that every unit of a decision is still free and takes them all, or none.

The board may be ahead of PostgreSQL (a reservation is made here first, then written there) or behind it (a
status is committed there first, then mirrored here). So the refresh never overwrites blindly: it reads the
board, then PostgreSQL, and writes a unit only where the board still holds exactly what it read (no change
came in between) and that state has settled (no reservation can still be on its way to PostgreSQL).
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from dispatch.keys import Keys
from dispatch.matching.core import UnitIn
from dispatch.matching.counts import free_counts
from dispatch.statuses import FREE_UNIT

# A state younger than this is left alone by the refresh: a matcher's reservation may still be on its way to
# PostgreSQL (it is undone by the matcher itself if that write fails). Longer than any dispatch write takes.
SETTLE_MS = 15_000

# ARGV: incident id, its priority, divert_from (0: no diversion), then the unit ids.
# A unit may be taken when free, or, for a diversion, when on its way to work of priority >= divert_from.
# Either every unit is taken or none is. Reply: {1, the states before (JSON, for an undo)} or {0, index of the
# first unit that was not free}.
RESERVE = """
local divert_from = tonumber(ARGV[3])
local states = {}
for i = 4, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if not raw then return {0, i - 3} end
  local s = cjson.decode(raw)
  local work = tonumber(s.work_priority) or 0
  local free = s.status == 'available' or s.status == 'returning'
  local divertible = divert_from > 0 and work >= divert_from
      and (s.status == 'dispatched' or s.status == 'acknowledged' or s.status == 'en_route')
  if not (free or divertible) then return {0, i - 3} end
  states[i - 3] = raw
end
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 4, #ARGV do
  local s = cjson.decode(states[i - 3])
  s.status, s.incident, s.work_priority, s.at = 'dispatched', tonumber(ARGV[1]), tonumber(ARGV[2]), at
  redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(s))
end
return {1, states}
"""

# ARGV: incident id, then (unit id, state JSON as it was) pairs. Undoes a reservation whose PostgreSQL write
# failed, unit by unit, only where it still holds.
UNRESERVE = """
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local s = cjson.decode(raw)
    if s.status == 'dispatched' and tostring(s.incident) == ARGV[1] then
      local before = cjson.decode(ARGV[i + 1])
      before.at = at
      redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(before))
    end
  end
end
return 1
"""

# ARGV: unit id, a channel to announce the change on ('' for none) and the message, then field/value pairs to
# set in its state (JSON values). A missing unit is left alone. The announcement goes out after the write, in
# the same round trip.
UPDATE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local s = cjson.decode(raw)
  for i = 4, #ARGV, 2 do s[ARGV[i]] = cjson.decode(ARGV[i + 1]) end
  local t = redis.call('TIME')
  s.at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(s))
end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
if raw then return 1 end
return 0
"""


# KEYS: states. ARGV: settle ms, then (unit id, the state as the refresh read it before reading PostgreSQL ('' if
# absent), the state PostgreSQL gives ('' to remove)) triples. Writes a unit only if the board still holds what
# was read (compare-and-set: nothing changed since) and that state is older than the settle time. Reply: how
# many were written.
SYNC = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local settle = tonumber(ARGV[1])
local written = 0
for i = 2, #ARGV, 3 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if raw == ARGV[i + 1] then
    local settled = true
    if raw ~= '' then
      local at = tonumber(cjson.decode(raw).at) or 0
      settled = now - at >= settle
    end
    if settled then
      if ARGV[i + 2] == '' then
        redis.call('HDEL', KEYS[1], ARGV[i])
      else
        local s = cjson.decode(ARGV[i + 2])
        s.at = now
        redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(s))
      end
      written = written + 1
    end
  end
end
return written
"""


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
        self._reserve = redis.register_script(RESERVE)
        self._unreserve = redis.register_script(UNRESERVE)
        self._update = redis.register_script(UPDATE)
        self._sync = redis.register_script(SYNC)
        # The last read: raw replies, decoded units by id, ids in order, and free counts (None: not yet counted).
        self._raw: tuple[dict, dict, dict] = ({}, {}, {})
        self._by_id: dict[int, BoardUnit] = {}
        self._ids: list[int] = []
        self._list: list[BoardUnit] = []
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
        written = await self._sync(keys=[self._states], args=args) if len(args) > 1 else 0
        placed = [u for u in units if u.lat is not None]
        pipe = self._redis.pipeline(transaction=False)
        for u in placed:
            pipe.hsetnx(self._positions, u.id, _position(u.lat, u.lon))
        if not only:
            for gone in set(seen) - {str(u.id).encode() for u in units}:
                pipe.hdel(self._positions, gone)
        if len(pipe):
            await pipe.execute()
        return int(written)

    async def units(self) -> list[BoardUnit]:
        """Every unit, in id order. A matcher reads this for every incident, and between two reads only the
        units that moved or changed differ: those (found by comparing the raw replies, in C) are decoded
        again, the rest are the last read's."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._states)
        pipe.hgetall(self._positions)
        pipe.hgetall(self._silent)
        states, positions, silent = await pipe.execute()
        last_states, last_positions, last_silent = self._raw
        if (
            states.keys() != last_states.keys()
            or positions.keys() != last_positions.keys()
            or silent.keys() != last_silent.keys()
        ):
            by_id = {int(k): _unit(int(k), state, positions.get(k), k in silent) for k, state in states.items()}
            self._ids = sorted(by_id)
            self._free = None
        else:
            by_id = self._by_id
            for k in {k for k, _ in positions.items() - last_positions.items()}:
                by_id[int(k)] = _unit(int(k), states[k], positions[k], k in silent)
            for k in {k for k, _ in states.items() - last_states.items()}:
                unit_id = int(k)
                was, now = by_id[unit_id], _unit(unit_id, states[k], positions.get(k), k in silent)
                by_id[unit_id] = now
                if self._free is not None:  # the counts follow the unit, rather than a count of the whole fleet
                    _count(self._free, was, -1)
                    _count(self._free, now, +1)
        self._raw, self._by_id = (states, positions, silent), by_id
        self._list = [by_id[i] for i in self._ids]
        return self._list

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
        return bool(await self._redis.hsetnx(self._silent, unit_id, since_ms))

    async def silent_units(self) -> set[int]:
        return {int(k) for k in await self._redis.hkeys(self._silent)}

    async def heard(self, unit_id: int) -> bool:
        """The unit's device was heard from (it connected, acknowledged, reported): True if it was silent."""
        return bool(await self._redis.hdel(self._silent, unit_id))

    async def reserve(
        self, incident_id: int, priority: int, unit_ids: Sequence[int], *, divert_from: int = 0, now_ms: int
    ) -> tuple[bool, int | None]:
        """Takes every unit for the incident, or none: (True, None) or (False, the first unit not free)."""
        if not unit_ids:
            return True, None
        reply = await self._reserve(keys=[self._states], args=[incident_id, priority, divert_from, *unit_ids])
        if int(reply[0]) == 1:
            return True, None
        return False, unit_ids[int(reply[1]) - 1]

    async def unreserve(self, incident_id: int, before: Sequence[BoardUnit]) -> None:
        args: list = [incident_id]
        for unit in before:
            args.extend([unit.id, _state(unit)])
        await self._unreserve(keys=[self._states], args=args)

    async def set_positions(self, fixes: dict[int, tuple[float, float, int]]) -> None:
        """Many units' positions, (lat, lon, ms) each, in one command."""
        await self._redis.hset(
            self._positions, mapping={u: _position(lat, lon, at) for u, (lat, lon, at) in fixes.items()}
        )

    async def update(self, unit_id: int, *, announce: tuple[str, bytes] | None = None, **fields) -> None:
        """Sets status, work or position of one unit (from its device or the dispatcher, after PostgreSQL).
        `incident` and `work_priority` given as "" or None clear them. `announce`: (channel, message) published
        right after, in the same round trip."""
        at = fields.pop("at", 0)
        lat, lon = fields.pop("lat", None), fields.pop("lon", None)
        if lat is not None and lon is not None:
            await self._redis.hset(self._positions, unit_id, _position(lat, lon, at))
        if fields or announce:
            args: list = [unit_id, *(announce or ("", ""))]
            for name, value in fields.items():
                args.extend([name, orjson.dumps(None if value == "" else value)])
            await self._update(keys=[self._states], args=args)
