"""The queue's Lua scripts, one per change, so no two steps of a change can be split by another client.

Every script gets the same four keys (rebuild a fifth): the waiting ZSET, the leases ZSET (score = expiry
in ms), the owner hash and the hash of the scores leased incidents had while waiting. Each starts with
the prelude, which reads the server clock and puts expired leases back first: whatever the caller asks,
it sees the queue as it is at that instant of Redis time, never a lease whose matcher is already gone.
"""

from typing import Final

# score = priority * PRIORITY_FACTOR + received_at_ms. 10^13 ms is the year 2286; the largest score
# (5 * 10^13) stays far below 2^53, so Lua's doubles and Redis's ZSET scores hold it exactly.
PRIORITY_FACTOR: Final = 10**13

_PRELUDE = f"""
local PRIORITY_FACTOR = {PRIORITY_FACTOR}
local QUEUE, LEASES, OWNERS, SCORES = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- Server time, so the clocks of the matcher hosts never decide when a lease runs out.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Numbers go to Redis as plain integers: Lua's own conversion may write an exponent.
local function int(n)
  return string.format('%d', n)
end

local function drop_lease(id)
  redis.call('ZREM', LEASES, id)
  redis.call('HDEL', OWNERS, id)
  redis.call('HDEL', SCORES, id)
end

-- A lease that ran out means its matcher crashed or stalled: the incident goes back with the score it
-- had (its priority may have changed meanwhile), so it regains its place instead of joining the end.
local function requeue_expired(now)
  local ids = redis.call('ZRANGEBYSCORE', LEASES, '-inf', int(now))
  for _, id in ipairs(ids) do
    redis.call('ZADD', QUEUE, redis.call('HGET', SCORES, id), id)
    drop_lease(id)
  end
  return #ids
end

local function is_owner(id, owner)
  return redis.call('HGET', OWNERS, id) == owner
end

local NOW = now_ms()
local EXPIRED = requeue_expired(NOW)
"""

# ARGV: id, score[, channel, message]. A leased incident is not put back: a matcher is working on it, and
# a second copy would let another matcher dispatch to it too. Publishing here means consoles hear of
# the change in the same round trip, and only when it really happened.
ENQUEUE = (
    _PRELUDE
    + """
if redis.call('ZSCORE', LEASES, ARGV[1]) then return 0 end
redis.call('ZADD', QUEUE, ARGV[2], ARGV[1])
if ARGV[3] then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return 1
"""
)

# ARGV: owner, lease_ms. Reply: {id, score, expires_at_ms}, or nil when nothing waits. Taking the top and
# recording the lease in one script is what keeps two matchers from ever leasing the same incident.
LEASE = (
    _PRELUDE
    + """
local top = redis.call('ZRANGE', QUEUE, 0, 0, 'WITHSCORES')
if #top == 0 then return false end
local id, score = top[1], tonumber(top[2])
local expires = NOW + tonumber(ARGV[2])
redis.call('ZREM', QUEUE, id)
redis.call('ZADD', LEASES, int(expires), id)
redis.call('HSET', OWNERS, id, ARGV[1])
redis.call('HSET', SCORES, id, int(score))
return {tonumber(id), score, expires}
"""
)

# ARGV: id, owner. The prelude has already taken back an expired lease, so a matcher that overran its
# lease learns it lost the incident (0) rather than finishing one another matcher may now hold.
FINISH = (
    _PRELUDE
    + """
if not is_owner(ARGV[1], ARGV[2]) then return 0 end
drop_lease(ARGV[1])
return 1
"""
)

# ARGV: id, owner. Back to waiting now, with the score it had, as if the lease had expired.
RELEASE = (
    _PRELUDE
    + """
if not is_owner(ARGV[1], ARGV[2]) then return 0 end
redis.call('ZADD', QUEUE, redis.call('HGET', SCORES, ARGV[1]), ARGV[1])
drop_lease(ARGV[1])
return 1
"""
)

# ARGV: id, owner, lease_ms. The new expiry counts from now, not from the old expiry.
EXTEND = (
    _PRELUDE
    + """
if not is_owner(ARGV[1], ARGV[2]) then return 0 end
redis.call('ZADD', LEASES, int(NOW + tonumber(ARGV[3])), ARGV[1])
return 1
"""
)

# ARGV: id, owner, lease_ms. A live matcher's heartbeat on the incident it works on: the expiry moves to now +
# lease_ms, never earlier (GT), so a renewal that arrives after the matcher parked or handed the incident to a
# dispatcher for longer cannot cut that short; one after a finish or a release finds no lease of its own.
RENEW = (
    _PRELUDE
    + """
if not is_owner(ARGV[1], ARGV[2]) then return 0 end
redis.call('ZADD', LEASES, 'GT', int(NOW + tonumber(ARGV[3])), ARGV[1])
return 1
"""
)

# ARGV: id, priority. Keeps the received time. A leased incident gets its stored score changed, so an
# expiry or release puts it back with the new priority.
REPRIORITISE = (
    _PRELUDE
    + """
local function rescored(score)
  return int(tonumber(ARGV[2]) * PRIORITY_FACTOR + tonumber(score) % PRIORITY_FACTOR)
end
local waiting = redis.call('ZSCORE', QUEUE, ARGV[1])
if waiting then
  redis.call('ZADD', QUEUE, rescored(waiting), ARGV[1])
  return 1
end
local leased = redis.call('HGET', SCORES, ARGV[1])
if leased then
  redis.call('HSET', SCORES, ARGV[1], rescored(leased))
  return 1
end
return 0
"""
)

# ARGV: id. A cancelled incident must leave wherever it is, or an expiry would bring it back.
REMOVE = (
    _PRELUDE
    + """
local removed = redis.call('ZREM', QUEUE, ARGV[1])
if redis.call('ZSCORE', LEASES, ARGV[1]) then
  drop_lease(ARGV[1])
  removed = 1
end
return removed
"""
)

REQUEUE_EXPIRED = (
    _PRELUDE
    + """
return EXPIRED
"""
)

# KEYS[5]: the parked hash (id -> the lease's expiry when parked). ARGV: id, owner, lease_ms. An extension
# by a matcher that waits for units to come free: the incident may be recalled before the lease runs out.
PARK = (
    _PRELUDE
    + """
if not is_owner(ARGV[1], ARGV[2]) then return 0 end
local expires = int(NOW + tonumber(ARGV[3]))
redis.call('ZADD', LEASES, expires, ARGV[1])
redis.call('HSET', KEYS[5], ARGV[1], expires)
return 1
"""
)

# KEYS[5]: the parked hash. Units came free: every parked incident whose lease is still the parked one (not
# finished, released or taken again since) goes back to waiting now, in the place it had. Returns how many.
RECALL = (
    _PRELUDE
    + """
local parked = redis.call('HGETALL', KEYS[5])
local recalled = 0
for i = 1, #parked, 2 do
  local id, expires = parked[i], parked[i + 1]
  local current = redis.call('ZSCORE', LEASES, id)
  if current and int(tonumber(current)) == expires then
    redis.call('ZADD', QUEUE, redis.call('HGET', SCORES, id), id)
    drop_lease(id)
    recalled = recalled + 1
  end
end
redis.call('DEL', KEYS[5])
return recalled
"""
)

# KEYS[5]: the parked hash. ARGV: limit. Reply: {waiting, leased}: waiting is id, score pairs in queue order;
# leased is id, score, expiry, owner, parked (1 when the lease is a matcher's wait for units, see PARK, else 0)
# quintuples in expiry order, all of them (one per working matcher or incident left to a dispatcher, so few)
# and only when the waiting part left room; the caller orders and trims them.
SNAPSHOT = (
    _PRELUDE
    + """
local limit = tonumber(ARGV[1])
local waiting = redis.call('ZRANGE', QUEUE, 0, limit - 1, 'WITHSCORES')
for i, v in ipairs(waiting) do waiting[i] = tonumber(v) end
local leased = {}
if #waiting / 2 < limit then
  local ids = redis.call('ZRANGE', LEASES, 0, -1, 'WITHSCORES')
  for i = 1, #ids, 2 do
    local id = ids[i]
    table.insert(leased, tonumber(id))
    table.insert(leased, tonumber(redis.call('HGET', SCORES, id)))
    table.insert(leased, tonumber(ids[i + 1]))
    table.insert(leased, redis.call('HGET', OWNERS, id))
    local parked = redis.call('HGET', KEYS[5], id)
    table.insert(leased, (parked and int(tonumber(parked)) == int(tonumber(ids[i + 1]))) and 1 or 0)
  end
end
return {waiting, leased}
"""
)

# ARGV: id. Reply: 0-based rank among waiting incidents, or nil.
POSITION = (
    _PRELUDE
    + """
return redis.call('ZRANK', QUEUE, ARGV[1])
"""
)

SIZE = (
    _PRELUDE
    + """
return {redis.call('ZCARD', QUEUE), redis.call('ZCARD', LEASES)}
"""
)

# KEYS[5]: the sentinel. ARGV: id, score, id, score, ... as PostgreSQL has them. One script, so no
# matcher ever sees a half-built queue; leased incidents stay leased and are not added as waiting.
# The sentinel holds the server time of the rebuild, for operators.
REBUILD = (
    _PRELUDE
    + """
redis.call('DEL', QUEUE)
for i = 1, #ARGV, 2 do
  if not redis.call('ZSCORE', LEASES, ARGV[i]) then
    redis.call('ZADD', QUEUE, ARGV[i + 1], ARGV[i])
  end
end
redis.call('SET', KEYS[5], int(NOW))
return redis.call('ZCARD', QUEUE)
"""
)
