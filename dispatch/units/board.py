"""The unit board: every unit's live state in Redis, where the matchers read it and reserve from it.

One hash per unit (`dispatch:unit:{id}`): call sign, capabilities, status, position, the incident it works
and that incident's priority. PostgreSQL keeps the durable truth (units, assignments); the board is loaded
from it at start and whenever Redis has lost it, and is what makes a reservation atomic across matcher
processes: one Lua script checks that every unit of a decision is still free and takes them all, or none.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from dispatch.matching.core import UnitIn

PREFIX = "dispatch:unit:"
INDEX = "dispatch:units"  # the set of unit ids on the board
FIELDS = ("call_sign", "caps", "status", "lat", "lon", "area", "incident", "work_priority", "at")

# KEYS: the units' hashes. ARGV: incident id, its priority, divert_from (0: no diversion), now_ms.
# A unit may be taken when free, or, for a diversion, when on its way to work of priority >= divert_from.
# Either every unit is taken or none is; the reply is {1} or {0, index of the first unit that was not free}.
RESERVE = """
local divert_from = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  local s = redis.call('HMGET', key, 'status', 'work_priority')
  local status, work = s[1], tonumber(s[2] or '') or 0
  local free = status == 'available' or status == 'returning'
  local divertible = divert_from > 0 and work >= divert_from
      and (status == 'dispatched' or status == 'acknowledged' or status == 'en_route')
  if not (free or divertible) then return {0, i} end
end
for _, key in ipairs(KEYS) do
  redis.call('HSET', key, 'status', 'dispatched', 'incident', ARGV[1], 'work_priority', ARGV[2], 'at', ARGV[4])
end
return {1}
"""

# KEYS: the units' hashes. ARGV: incident id, then (status, incident, work_priority) per unit as they were.
# Undoes a reservation whose PostgreSQL write failed, unit by unit, only where it still holds.
UNRESERVE = """
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'incident') == ARGV[1] and redis.call('HGET', key, 'status') == 'dispatched' then
    local j = 2 + (i - 1) * 3
    redis.call('HSET', key, 'status', ARGV[j], 'incident', ARGV[j + 1], 'work_priority', ARGV[j + 2])
  end
end
return 1
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

    def as_candidate(self) -> UnitIn:
        return UnitIn(self.id, self.call_sign, self.capabilities, self.status, self.lat, self.lon, self.area,
                      self.incident_id, self.work_priority)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _number(value, kind=float):
    text = _text(value)
    return kind(text) if text else None


class UnitBoard:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(RESERVE)
        self._unreserve = redis.register_script(UNRESERVE)

    async def load(self, units: Sequence[BoardUnit]) -> None:
        """Make the board exactly these units (from PostgreSQL)."""
        pipe = self._redis.pipeline(transaction=True)
        old = await self._redis.smembers(INDEX)
        for member in old:
            pipe.delete(PREFIX + _text(member))
        pipe.delete(INDEX)
        for unit in units:
            pipe.hset(PREFIX + str(unit.id), mapping=_mapping(unit))
            pipe.sadd(INDEX, unit.id)
        await pipe.execute()

    async def sync(self, units: Sequence[BoardUnit], *, only: bool = False) -> None:
        """Brings the board in line with PostgreSQL without losing live positions: status, work, call sign,
        capabilities and area from `units`; a position only where the board has none. Unless `only`, units
        PostgreSQL no longer has leave the board and new ones join it."""
        known = {int(_text(m)) for m in await self._redis.smembers(INDEX)}
        pipe = self._redis.pipeline(transaction=False)
        for unit in units:
            fields = _mapping(unit)
            if unit.id in known:
                for name in ("lat", "lon", "at"):  # the live position wins over PostgreSQL's sampled one
                    fields.pop(name)
                pipe.hset(PREFIX + str(unit.id), mapping=fields)
                pipe.hsetnx(PREFIX + str(unit.id), "lat", "" if unit.lat is None else unit.lat)
                pipe.hsetnx(PREFIX + str(unit.id), "lon", "" if unit.lon is None else unit.lon)
            else:
                pipe.hset(PREFIX + str(unit.id), mapping=fields)
                pipe.sadd(INDEX, unit.id)
        if not only:
            for gone in known - {u.id for u in units}:
                pipe.delete(PREFIX + str(gone))
                pipe.srem(INDEX, gone)
        await pipe.execute()

    async def is_loaded(self) -> bool:
        return bool(await self._redis.exists(INDEX))

    async def units(self) -> list[BoardUnit]:
        ids = sorted(int(_text(m)) for m in await self._redis.smembers(INDEX))
        pipe = self._redis.pipeline(transaction=False)
        for unit_id in ids:
            pipe.hmget(PREFIX + str(unit_id), FIELDS)
        rows = await pipe.execute()
        return [_unit(unit_id, row) for unit_id, row in zip(ids, rows, strict=True) if row[0] is not None]

    async def get(self, unit_id: int) -> BoardUnit | None:
        row = await self._redis.hmget(PREFIX + str(unit_id), FIELDS)
        return _unit(unit_id, row) if row[0] is not None else None

    async def reserve(self, incident_id: int, priority: int, unit_ids: Sequence[int], *, divert_from: int = 0,
                      now_ms: int) -> tuple[bool, int | None]:
        """Takes every unit for the incident, or none: (True, None) or (False, the first unit not free)."""
        if not unit_ids:
            return True, None
        reply = await self._reserve(keys=[PREFIX + str(u) for u in unit_ids],
                                    args=[incident_id, priority, divert_from, now_ms])
        return (True, None) if int(reply[0]) == 1 else (False, unit_ids[int(reply[1]) - 1])

    async def unreserve(self, incident_id: int, before: Sequence[BoardUnit]) -> None:
        args: list = [incident_id]
        for unit in before:
            args.extend([unit.status, unit.incident_id or "", unit.work_priority or ""])
        await self._unreserve(keys=[PREFIX + str(u.id) for u in before], args=args)

    async def update(self, unit_id: int, **fields) -> None:
        """Sets status, position or work of one unit (from its device or the dispatcher, after PostgreSQL)."""
        mapping = {k: ("" if v is None else v) for k, v in fields.items()}
        await self._redis.hset(PREFIX + str(unit_id), mapping=mapping)


def _mapping(unit: BoardUnit) -> dict:
    return {"call_sign": unit.call_sign, "caps": ",".join(sorted(unit.capabilities)), "status": unit.status,
            "lat": "" if unit.lat is None else unit.lat, "lon": "" if unit.lon is None else unit.lon,
            "area": unit.area or "", "incident": unit.incident_id or "", "work_priority": unit.work_priority or "",
            "at": ""}


def _unit(unit_id: int, row: list) -> BoardUnit:
    call_sign, caps, status, lat, lon, area, incident, work_priority, _ = row
    return BoardUnit(unit_id, _text(call_sign), frozenset(c for c in _text(caps).split(",") if c), _text(status),
                     _number(lat), _number(lon), _text(area) or None, _number(incident, int),
                     _number(work_priority, int))
