"""The incident priority queue in Redis: waiting incidents in order, taken by matchers under a lease.

Order is priority (1 most urgent) then the time the call was received, older first, packed into one ZSET
score. A lease hides an incident from other matchers until it is finished, released or expires; an
expired lease puts the incident back in its place. Each change is one Lua script (see `scripts`), so two
matchers never hold the same incident and a crash between steps cannot lose one.

Redis here keeps nothing on disk: the `{prefix}:queue:epoch` sentinel is set only by `rebuild`, so its
absence tells the caller to rebuild the queue from PostgreSQL.
"""

from dataclasses import dataclass

import redis.asyncio as aioredis

from dispatch.queue import scripts
from dispatch.queue.scripts import PRIORITY_FACTOR

PRIORITIES = range(1, 5)


@dataclass(frozen=True)
class Lease:
    incident_id: int
    priority: int
    received_at_ms: int
    owner: str
    expires_at_ms: int


@dataclass(frozen=True)
class QueueEntry:
    incident_id: int
    priority: int
    received_at_ms: int
    leased_by: str | None  # None while waiting
    lease_expires_at_ms: int | None
    parked: bool = False  # leased by a matcher that waits for units to come free (see `park`)


def queue_score(priority: int, received_at_ms: int) -> int:
    _check_priority(priority)
    if not 0 <= received_at_ms < PRIORITY_FACTOR:
        raise ValueError(f"received_at_ms must be epoch milliseconds in [0, 10^13), got {received_at_ms}")
    return priority * PRIORITY_FACTOR + received_at_ms


def split_score(score: int) -> tuple[int, int]:
    """The inverse of `queue_score`: (priority, received_at_ms)."""
    return divmod(int(score), PRIORITY_FACTOR)


def _check_priority(priority: int) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int) or priority not in PRIORITIES:
        raise ValueError(f"priority must be an integer from 1 (most urgent) to 4, got {priority!r}")


def _check_id(incident_id: int) -> None:
    if isinstance(incident_id, bool) or not isinstance(incident_id, int) or incident_id <= 0:
        raise ValueError(f"incident_id must be a positive integer, got {incident_id!r}")


def _check_owner(owner: str) -> None:
    if not isinstance(owner, str) or not owner:
        raise ValueError("owner must be a non-empty string identifying the matcher")


def _lease_ms(lease_s: float) -> int:
    ms = round(lease_s * 1000)
    if ms <= 0:
        raise ValueError(f"a lease must last at least a millisecond, got {lease_s!r} s")
    return ms


def _text(value: bytes | str) -> str:
    # The client may or may not decode responses; owners are ours, always UTF-8.
    return value.decode() if isinstance(value, bytes) else value


class IncidentQueue:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "dispatch", lease_s: float = 30.0) -> None:
        if not prefix:
            raise ValueError("prefix must not be empty")
        self._lease_ms = _lease_ms(lease_s)
        self._keys = [f"{prefix}:queue", f"{prefix}:leases", f"{prefix}:lease:owner", f"{prefix}:lease:score"]
        self._epoch_key = f"{prefix}:queue:epoch"
        self._parked_key = f"{prefix}:lease:parked"
        self._redis = redis
        # register_script runs EVALSHA and loads the source again if the server has forgotten it.
        self._enqueue = redis.register_script(scripts.ENQUEUE)
        self._lease = redis.register_script(scripts.LEASE)
        self._finish = redis.register_script(scripts.FINISH)
        self._release = redis.register_script(scripts.RELEASE)
        self._extend = redis.register_script(scripts.EXTEND)
        self._renew = redis.register_script(scripts.RENEW)
        self._reprioritise = redis.register_script(scripts.REPRIORITISE)
        self._remove = redis.register_script(scripts.REMOVE)
        self._requeue = redis.register_script(scripts.REQUEUE_EXPIRED)
        self._park = redis.register_script(scripts.PARK)
        self._recall = redis.register_script(scripts.RECALL)
        self._snapshot = redis.register_script(scripts.SNAPSHOT)
        self._position = redis.register_script(scripts.POSITION)
        self._size = redis.register_script(scripts.SIZE)
        self._rebuild = redis.register_script(scripts.REBUILD)

    async def enqueue(
        self, incident_id: int, priority: int, received_at_ms: int, publish: tuple[str, bytes] | None = None
    ) -> bool:
        """Put an incident in the waiting set (or set its score there if it already waits). False, and
        nothing published, when it is leased: a matcher is working on it."""
        _check_id(incident_id)
        args: list = [incident_id, queue_score(priority, received_at_ms)]
        if publish is not None:
            args.extend(publish)
        return bool(await self._enqueue(keys=self._keys, args=args))

    async def lease(self, owner: str, *, lease_s: float | None = None) -> Lease | None:
        """Take the most urgent waiting incident, or None when none waits."""
        _check_owner(owner)
        ms = self._lease_ms if lease_s is None else _lease_ms(lease_s)
        reply = await self._lease(keys=self._keys, args=[owner, ms])
        if reply is None:
            return None
        incident_id, score, expires = reply
        priority, received = split_score(score)
        return Lease(incident_id, priority, received, owner, expires)

    async def finish(self, incident_id: int, owner: str) -> bool:
        """Done with it for good. False if `owner` does not hold the lease (any more)."""
        _check_id(incident_id)
        _check_owner(owner)
        return bool(await self._finish(keys=self._keys, args=[incident_id, owner]))

    async def release(self, incident_id: int, owner: str) -> bool:
        """Give it back now, in the place it had."""
        _check_id(incident_id)
        _check_owner(owner)
        return bool(await self._release(keys=self._keys, args=[incident_id, owner]))

    async def extend(self, incident_id: int, owner: str, lease_s: float | None = None) -> bool:
        """Keep the lease for `lease_s` more seconds from now."""
        _check_id(incident_id)
        _check_owner(owner)
        ms = self._lease_ms if lease_s is None else _lease_ms(lease_s)
        return bool(await self._extend(keys=self._keys, args=[incident_id, owner, ms]))

    async def renew(self, incident_id: int, owner: str, lease_s: float | None = None) -> bool:
        """The working matcher's heartbeat: the lease runs `lease_s` from now, or longer if it already does.
        False once `owner` does not hold it (finished, released, or expired and taken back)."""
        _check_id(incident_id)
        _check_owner(owner)
        ms = self._lease_ms if lease_s is None else _lease_ms(lease_s)
        return bool(await self._renew(keys=self._keys, args=[incident_id, owner, ms]))

    async def park(self, incident_id: int, owner: str, lease_s: float) -> bool:
        """Keep the lease for `lease_s` more seconds, as `extend`, while waiting for units: `recall` may give
        it back sooner, when units come free."""
        _check_id(incident_id)
        _check_owner(owner)
        return bool(
            await self._park(keys=[*self._keys, self._parked_key], args=[incident_id, owner, _lease_ms(lease_s)])
        )

    async def recall(self) -> int:
        """Units came free: the incidents parked waiting for them wait in the queue again, in their places."""
        return int(await self._recall(keys=[*self._keys, self._parked_key], args=[]))

    async def reprioritise(self, incident_id: int, priority: int) -> bool:
        _check_id(incident_id)
        _check_priority(priority)
        return bool(await self._reprioritise(keys=self._keys, args=[incident_id, priority]))

    async def remove(self, incident_id: int) -> bool:
        _check_id(incident_id)
        return bool(await self._remove(keys=self._keys, args=[incident_id]))

    async def requeue_expired(self) -> int:
        """Every other call does this too; run it periodically so consoles see crashed leases come back."""
        return int(await self._requeue(keys=self._keys, args=[]))

    async def snapshot(self, limit: int = 500) -> list[QueueEntry]:
        """Up to `limit` entries: waiting in queue order, then leased in queue order."""
        if limit <= 0:
            raise ValueError(f"limit must be positive, got {limit}")
        waiting, leased = await self._snapshot(keys=[*self._keys, self._parked_key], args=[limit])
        entries = [
            QueueEntry(int(waiting[i]), *split_score(waiting[i + 1]), None, None) for i in range(0, len(waiting), 2)
        ]
        held = sorted(
            (leased[i + 1], leased[i], leased[i + 2], _text(leased[i + 3]), bool(leased[i + 4]))
            for i in range(0, len(leased), 5)
        )
        entries.extend(
            QueueEntry(int(incident_id), *split_score(score), owner, expires, parked)
            for score, incident_id, expires, owner, parked in held
        )
        return entries[:limit]

    async def position(self, incident_id: int) -> int | None:
        """0-based rank among waiting incidents; None when it is not waiting (leased or absent)."""
        _check_id(incident_id)
        return await self._position(keys=self._keys, args=[incident_id])

    async def size(self) -> tuple[int, int]:
        """(waiting, leased)."""
        waiting, leased = await self._size(keys=self._keys, args=[])
        return waiting, leased

    async def rebuild(self, entries: list[tuple[int, int, int]]) -> int:
        """Make the waiting set exactly `entries` (incident_id, priority, received_at_ms) minus those leased
        now, and set the sentinel. Returns how many wait afterwards."""
        args: list = []
        for incident_id, priority, received_at_ms in entries:
            _check_id(incident_id)
            args.extend((incident_id, queue_score(priority, received_at_ms)))
        return int(await self._rebuild(keys=[*self._keys, self._epoch_key], args=args))

    async def is_intact(self) -> bool:
        """False when Redis has lost its data since the last rebuild."""
        return bool(await self._redis.exists(self._epoch_key))
