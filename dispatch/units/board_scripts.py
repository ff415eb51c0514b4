"""The unit board's Lua scripts: every write to the board, each with its line in the board's change log.

Every script takes the same keys: the states, positions and silent hashes, the change log (a stream) and the
log's sequence number. What a script changes it also appends to the log in the same step, as one entry: `n`
(the sequence number, one more than the entry before) and, per unit changed, `s<id>` (its state as now
written), `p<id>` (its position) or `q<id>` (silent since, ms), '' for removed; or `all` when the whole board
was replaced. A matcher's mirror of the board reads only the entries after its last one (see board.py).
"""

# The log keeps about this much time (the entries of its last minute, whatever their number: ten thousand
# tracked units send two thousand fixes a second); a mirror further behind reads the whole board again.
LOG_KEPT_MS = 60_000
LOG_MAX_FIELDS = 6_000  # a change of more units than this is logged as `all` (Lua's unpack has a limit)

_LOG = f"""
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local changed = {{}}
local function note(kind, id, raw)
  changed[#changed + 1] = kind .. id
  changed[#changed + 1] = raw
end
local function logged()
  if #changed == 0 then return end
  if #changed > {LOG_MAX_FIELDS} then changed = {{'all', '1'}} end
  local n = redis.call('INCR', KEYS[5])
  local oldest = (tonumber(redis.call('TIME')[1]) * 1000 - {LOG_KEPT_MS}) .. '-0'
  redis.call('XADD', KEYS[4], 'MINID', '~', oldest, '*', 'n', n, unpack(changed))
end
"""

# ARGV: incident id, its priority, divert_from (0: no diversion), then the unit ids.
# A unit may be taken when free, or, for a diversion, when on its way to work of priority >= divert_from.
# Either every unit is taken or none is. Reply: {1, the states before (JSON, for an undo)} or {0, index of the
# first unit that was not free}.
RESERVE = (
    _LOG
    + """
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
local at = now_ms()
for i = 4, #ARGV do
  local s = cjson.decode(states[i - 3])
  s.status, s.incident, s.work_priority, s.at = 'dispatched', tonumber(ARGV[1]), tonumber(ARGV[2]), at
  local raw = cjson.encode(s)
  redis.call('HSET', KEYS[1], ARGV[i], raw)
  note('s', ARGV[i], raw)
end
logged()
return {1, states}
"""
)

# ARGV: incident id, then (unit id, state JSON as it was) pairs. Undoes a reservation whose PostgreSQL write
# failed, unit by unit, only where it still holds.
UNRESERVE = (
    _LOG
    + """
local at = now_ms()
for i = 2, #ARGV, 2 do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local s = cjson.decode(raw)
    if s.status == 'dispatched' and tostring(s.incident) == ARGV[1] then
      local before = cjson.decode(ARGV[i + 1])
      before.at = at
      local back = cjson.encode(before)
      redis.call('HSET', KEYS[1], ARGV[i], back)
      note('s', ARGV[i], back)
    end
  end
end
logged()
return 1
"""
)

# ARGV: unit id, a channel to announce the change on ('' for none) and the message, then field/value pairs to
# set in its state (JSON values). A missing unit is left alone. The announcement goes out after the write, in
# the same round trip.
UPDATE = (
    _LOG
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local s = cjson.decode(raw)
  for i = 4, #ARGV, 2 do s[ARGV[i]] = cjson.decode(ARGV[i + 1]) end
  s.at = now_ms()
  local new = cjson.encode(s)
  redis.call('HSET', KEYS[1], ARGV[1], new)
  note('s', ARGV[1], new)
  logged()
end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
if raw then return 1 end
return 0
"""
)

# ARGV: settle ms, then (unit id, the state as the refresh read it before reading PostgreSQL ('' if absent), the
# state PostgreSQL gives ('' to remove)) triples. Writes a unit only if the board still holds what was read
# (compare-and-set: nothing changed since) and that state is older than the settle time. Reply: how many were
# written.
SYNC = (
    _LOG
    + """
local now = now_ms()
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
        note('s', ARGV[i], '')
      else
        local s = cjson.decode(ARGV[i + 2])
        s.at = now
        local new = cjson.encode(s)
        redis.call('HSET', KEYS[1], ARGV[i], new)
        note('s', ARGV[i], new)
      end
      written = written + 1
    end
  end
end
logged()
return written
"""
)

# ARGV: 'set' (overwrite) or 'nx' (only where the unit has none), then (unit id, "lat,lon,ms" or '' to remove)
# pairs. Reply: how many changed.
POSITIONS = (
    _LOG
    + """
local n = 0
for i = 2, #ARGV, 2 do
  local done
  if ARGV[i + 1] == '' then
    done = redis.call('HDEL', KEYS[2], ARGV[i])
  elseif ARGV[1] == 'nx' then
    done = redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 1])
  else
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    done = 1
  end
  if done == 1 then
    note('p', ARGV[i], ARGV[i + 1])
    n = n + 1
  end
end
logged()
return n
"""
)

# ARGV: unit id, then the ms since it has been silent ('' when it was heard from). Reply: 1 if that changed it.
SILENT = (
    _LOG
    + """
local done
if ARGV[2] == '' then
  done = redis.call('HDEL', KEYS[3], ARGV[1])
else
  done = redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2])
end
if done == 1 then
  note('q', ARGV[1], ARGV[2])
  logged()
end
return done
"""
)

# The whole board was replaced (run in the same transaction as the writes).
REPLACED = (
    _LOG
    + """
changed = {'all', '1'}
logged()
return 1
"""
)
