"""The incident queue on the real Redis (the test database, flushed per test): order, leases, expiry, rebuild, and
matchers racing on separate connections."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from dispatch.queue import IncidentQueue, queue_score, split_score
from tests.conftest import TEST_REDIS_DB

REDIS_URL = f"redis://127.0.0.1:6379/{TEST_REDIS_DB}"
T0 = 1_700_000_000_000  # a received time, epoch ms
SHORT = 0.2  # seconds: a lease short enough to watch expire


@pytest.fixture
async def rdb() -> AsyncIterator[aioredis.Redis]:
    # Our own client rather than conftest's `redis`, which would also build the PostgreSQL test database.
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def queue(rdb) -> IncidentQueue:
    return IncidentQueue(rdb)


async def order(queue: IncidentQueue) -> list[int]:
    return [e.incident_id for e in await queue.snapshot() if e.leased_by is None]


def test_score_orders_priority_first_and_inverts():
    assert queue_score(1, 9_999_999_999_999) < queue_score(2, 0)
    assert queue_score(3, T0) < queue_score(3, T0 + 1)
    assert split_score(queue_score(4, T0)) == (4, T0)


@pytest.mark.parametrize(
    "call",
    [
        lambda q: q.enqueue(1, 0, T0),
        lambda q: q.enqueue(1, 5, T0),
        lambda q: q.enqueue(0, 1, T0),
        lambda q: q.enqueue(-3, 1, T0),
        lambda q: q.enqueue(1, 1, -1),
        lambda q: q.enqueue(1, 1, 10**13),
        lambda q: q.lease(""),
        lambda q: q.lease("m", lease_s=0),
        lambda q: q.finish(1, ""),
        lambda q: q.reprioritise(1, 9),
        lambda q: q.remove(0),
        lambda q: q.snapshot(0),
        lambda q: q.rebuild([(1, 7, T0)]),
    ],
)
async def test_bad_arguments_are_refused(queue, call):
    with pytest.raises(ValueError):
        await call(queue)


async def test_orders_by_priority_then_received_time(queue):
    await queue.enqueue(1, 3, T0)
    await queue.enqueue(2, 1, T0 + 5000)
    await queue.enqueue(3, 1, T0 + 1000)
    await queue.enqueue(4, 2, T0 - 60_000)
    assert await order(queue) == [3, 2, 4, 1]


async def test_enqueue_is_idempotent(queue):
    assert await queue.enqueue(7, 2, T0)
    assert await queue.enqueue(7, 2, T0)
    assert await queue.size() == (1, 0)
    # A second enqueue with other values sets them: the caller's record is the truth.
    await queue.enqueue(8, 2, T0 + 1)
    await queue.enqueue(7, 2, T0 + 2)
    assert await order(queue) == [8, 7]


async def test_lease_takes_the_top_and_hides_it(queue):
    await queue.enqueue(1, 2, T0)
    await queue.enqueue(2, 1, T0 + 1)
    lease = await queue.lease("matcher-a")
    assert (lease.incident_id, lease.priority, lease.received_at_ms, lease.owner) == (2, 1, T0 + 1, "matcher-a")
    assert lease.expires_at_ms > T0
    assert await queue.position(2) is None
    assert await queue.size() == (1, 1)
    assert (await queue.lease("matcher-b")).incident_id == 1
    assert await queue.lease("matcher-c") is None


async def test_only_the_owner_finishes(queue):
    await queue.enqueue(1, 1, T0)
    await queue.lease("matcher-a")
    assert not await queue.finish(1, "matcher-b")
    assert await queue.size() == (0, 1)
    assert await queue.finish(1, "matcher-a")
    assert not await queue.finish(1, "matcher-a")
    assert await queue.size() == (0, 0)


async def test_expired_lease_goes_back_to_its_place(queue):
    await queue.enqueue(1, 1, T0)
    await queue.enqueue(2, 1, T0 + 1)
    await queue.enqueue(3, 2, T0 - 1)
    await queue.lease("crashed", lease_s=SHORT)
    assert await queue.requeue_expired() == 0
    await asyncio.sleep(SHORT + 0.1)
    assert await queue.requeue_expired() == 1
    assert await order(queue) == [1, 2, 3]
    assert await queue.size() == (3, 0)


async def test_next_lease_takes_back_an_expired_one_first(queue):
    await queue.enqueue(1, 1, T0)
    await queue.enqueue(2, 1, T0 + 1)
    await queue.lease("crashed", lease_s=SHORT)
    await asyncio.sleep(SHORT + 0.1)
    assert (await queue.lease("matcher-b")).incident_id == 1
    assert not await queue.finish(1, "crashed")
    assert await queue.finish(1, "matcher-b")


async def test_finish_after_expiry_is_refused_and_the_incident_waits(queue):
    await queue.enqueue(1, 1, T0)
    await queue.lease("slow", lease_s=SHORT)
    await asyncio.sleep(SHORT + 0.1)
    assert not await queue.finish(1, "slow")
    assert not await queue.extend(1, "slow")
    assert await queue.position(1) == 0


async def test_release_puts_it_back_in_place_now(queue):
    await queue.enqueue(1, 1, T0)
    await queue.enqueue(2, 1, T0 + 1)
    await queue.lease("matcher-a")
    assert not await queue.release(1, "matcher-b")
    assert await queue.release(1, "matcher-a")
    assert await order(queue) == [1, 2]
    assert await queue.size() == (2, 0)


async def test_extend_keeps_the_lease(queue):
    await queue.enqueue(1, 1, T0)
    lease = await queue.lease("matcher-a", lease_s=SHORT)
    assert not await queue.extend(1, "matcher-b", lease_s=10)
    assert await queue.extend(1, "matcher-a", lease_s=10)
    await asyncio.sleep(SHORT + 0.1)
    assert await queue.requeue_expired() == 0
    [entry] = await queue.snapshot()
    assert entry.leased_by == "matcher-a" and entry.lease_expires_at_ms > lease.expires_at_ms


async def test_reprioritise_a_waiting_incident(queue):
    await queue.enqueue(1, 3, T0)
    await queue.enqueue(2, 2, T0 + 1)
    await queue.enqueue(3, 2, T0 + 2)
    assert await queue.reprioritise(1, 2)
    assert await order(queue) == [1, 2, 3]  # same priority now, and it was received first
    assert await queue.reprioritise(1, 4)
    assert await order(queue) == [2, 3, 1]
    assert [(e.priority, e.received_at_ms) for e in await queue.snapshot()][-1] == (4, T0)


async def test_reprioritise_a_leased_incident_takes_effect_when_it_returns(queue):
    await queue.enqueue(1, 1, T0)
    await queue.enqueue(2, 2, T0 + 1)
    await queue.enqueue(3, 3, T0 + 2)
    await queue.lease("matcher-a", lease_s=SHORT)
    assert await queue.reprioritise(1, 4)
    await asyncio.sleep(SHORT + 0.1)
    assert await queue.requeue_expired() == 1
    assert await order(queue) == [2, 3, 1]
    lease = await queue.lease("matcher-a")
    assert (lease.incident_id, lease.priority) == (2, 2)
    assert await queue.reprioritise(2, 1)
    assert await queue.release(2, "matcher-a")
    assert await order(queue) == [2, 3, 1]


async def test_reprioritise_an_absent_incident_is_false(queue):
    assert not await queue.reprioritise(99, 1)
    assert await queue.size() == (0, 0)


async def test_remove_a_waiting_incident(queue):
    await queue.enqueue(1, 1, T0)
    await queue.enqueue(2, 1, T0 + 1)
    assert await queue.remove(1)
    assert not await queue.remove(1)
    assert await order(queue) == [2]


async def test_remove_a_leased_incident_for_good(queue):
    await queue.enqueue(1, 1, T0)
    await queue.lease("matcher-a", lease_s=SHORT)
    assert await queue.remove(1)
    assert not await queue.finish(1, "matcher-a")
    await asyncio.sleep(SHORT + 0.1)
    assert await queue.requeue_expired() == 0
    assert await queue.size() == (0, 0)
    assert await queue.snapshot() == []


async def test_enqueue_of_a_leased_incident_does_not_duplicate_it(queue):
    await queue.enqueue(1, 1, T0)
    await queue.lease("matcher-a")
    assert not await queue.enqueue(1, 1, T0)
    assert await queue.size() == (0, 1)
    assert await queue.lease("matcher-b") is None


async def test_snapshot_and_position(queue):
    for incident_id, priority in [(1, 2), (2, 1), (3, 3), (4, 1), (5, 2)]:
        await queue.enqueue(incident_id, priority, T0 + incident_id)
    await queue.lease("matcher-a")  # 2
    await queue.lease("matcher-b")  # 4
    await queue.reprioritise(4, 1)
    await queue.reprioritise(2, 3)  # leased entries are listed in queue order, not lease order
    entries = await queue.snapshot()
    assert [(e.incident_id, e.leased_by) for e in entries] == [
        (1, None),
        (5, None),
        (3, None),
        (4, "matcher-b"),
        (2, "matcher-a"),
    ]
    assert entries[0].lease_expires_at_ms is None and entries[3].lease_expires_at_ms is not None
    assert [e.incident_id for e in await queue.snapshot(limit=2)] == [1, 5]
    assert [e.incident_id for e in await queue.snapshot(limit=4)] == [1, 5, 3, 4]
    assert [await queue.position(i) for i in (1, 5, 3, 2, 99)] == [0, 1, 2, None, None]


async def test_rebuild_restores_exactly_the_given_set_and_keeps_leases(queue):
    for incident_id in (1, 2, 3):
        await queue.enqueue(incident_id, 2, T0 + incident_id)
    lease = await queue.lease("matcher-a")  # 1
    assert not await queue.is_intact()
    # PostgreSQL still has 1 (leased) and 2, not 3 (closed meanwhile), and 4 which Redis never heard of.
    assert await queue.rebuild([(4, 1, T0 + 9), (2, 3, T0 + 2), (1, 2, T0 + 1)]) == 2
    assert await queue.is_intact()
    entries = await queue.snapshot()
    assert [(e.incident_id, e.priority, e.leased_by) for e in entries] == [
        (4, 1, None),
        (2, 3, None),
        (1, 2, "matcher-a"),
    ]
    assert entries[2].lease_expires_at_ms == lease.expires_at_ms
    assert await queue.finish(1, "matcher-a")


async def test_rebuild_with_nothing_empties_the_waiting_set(queue):
    await queue.enqueue(1, 1, T0)
    assert await queue.rebuild([]) == 0
    assert await queue.size() == (0, 0)
    assert await queue.is_intact()


async def test_flushdb_is_what_a_restart_looks_like(queue, rdb):
    await queue.rebuild([(1, 1, T0)])
    assert await queue.is_intact()
    await rdb.flushdb()
    assert not await queue.is_intact()
    assert await queue.size() == (0, 0)


async def test_prefixes_keep_queues_apart(rdb):
    north, south = IncidentQueue(rdb, prefix="north"), IncidentQueue(rdb, prefix="south")
    await north.enqueue(1, 1, T0)
    assert await south.lease("matcher-a") is None
    assert (await north.lease("matcher-a")).incident_id == 1


async def test_enqueue_publishes_in_the_same_script(queue, rdb):
    pubsub = rdb.pubsub()
    await pubsub.subscribe("incidents")
    await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
    await queue.enqueue(1, 1, T0)
    await queue.lease("matcher-a")
    # Not re-added, so not announced: the first message to arrive is the second incident's.
    assert not await queue.enqueue(1, 1, T0, publish=("incidents", b"queued 1"))
    assert await queue.enqueue(2, 1, T0, publish=("incidents", b"queued 2"))
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2.0)
    assert message["channel"] == b"incidents" and message["data"] == b"queued 2"
    await pubsub.aclose()


async def _lessee(owner: str, leased: list[int]) -> list[int]:
    client = aioredis.Redis.from_url(REDIS_URL)
    queue, scores = IncidentQueue(client), []
    try:
        while (lease := await queue.lease(owner)) is not None:
            leased.append(lease.incident_id)
            scores.append(queue_score(lease.priority, lease.received_at_ms))
            assert await queue.finish(lease.incident_id, owner)
    finally:
        await client.aclose()
    return scores


async def test_eight_lessees_race_for_200_incidents(queue):
    for incident_id in range(1, 201):
        await queue.enqueue(incident_id, incident_id % 4 + 1, T0 + incident_id * 7 % 1000)
    leased: list[int] = []
    per_lessee = await asyncio.gather(*(_lessee(f"matcher-{n}", leased) for n in range(8)))
    assert sorted(leased) == list(range(1, 201))  # each exactly once, none lost
    assert all(scores == sorted(scores) for scores in per_lessee)  # each always took the top
    assert await queue.size() == (0, 0)


async def _crashy_lessee(owner: str, finished: list[int]) -> None:
    # Abandons every third lease, as a crashing matcher would; works until nothing waits or is leased.
    client = aioredis.Redis.from_url(REDIS_URL)
    queue, taken = IncidentQueue(client, lease_s=0.05), 0
    try:
        while await queue.size() != (0, 0):
            lease = await queue.lease(owner)
            if lease is None:
                await asyncio.sleep(0.01)
                continue
            taken += 1
            if taken % 3 and await queue.finish(lease.incident_id, owner):
                finished.append(lease.incident_id)
    finally:
        await client.aclose()


async def test_abandoned_leases_come_back_and_nothing_is_lost(queue):
    for incident_id in range(1, 61):
        await queue.enqueue(incident_id, incident_id % 4 + 1, T0 + incident_id)
    finished: list[int] = []
    await asyncio.gather(*(_crashy_lessee(f"matcher-{n}", finished) for n in range(4)))
    assert Counter(finished) == Counter(range(1, 61))


async def test_lease_expiry_races_finish(queue):
    lease_s = 0.05
    clients = [aioredis.Redis.from_url(REDIS_URL) for _ in range(2)]
    slow, other = (IncidentQueue(c, lease_s=lease_s) for c in clients)
    try:
        for round_ in range(20):
            await queue.enqueue(1, 1, T0)
            await slow.lease("slow")
            await asyncio.sleep(lease_s * (0.6 + round_ * 0.04))  # from well before to well after expiry
            finished, taken = await asyncio.gather(slow.finish(1, "slow"), other.lease("other"))
            # Exactly one of them has the incident: finished by its first matcher or taken back and leased.
            assert finished != (taken is not None)
            if taken is not None:
                assert taken.incident_id == 1 and await other.finish(1, "other")
            assert await queue.size() == (0, 0)
    finally:
        for client in clients:
            await client.aclose()


async def test_a_parked_incident_is_recalled_when_units_come_free(queue):
    await queue.enqueue(1, 2, 1000)
    await queue.enqueue(2, 3, 2000)
    first = await queue.lease("m1")
    assert first.incident_id == 1 and await queue.park(1, "m1", 60)
    assert await order(queue) == [2]  # parked: out of the waiting set, as any lease
    assert await queue.recall() == 1
    assert await order(queue) == [1, 2]  # back in the place it had
    assert await queue.recall() == 0  # recalled once


async def test_recall_leaves_an_incident_taken_again_or_finished_alone(queue):
    await queue.enqueue(1, 2, 1000)
    await queue.enqueue(2, 2, 2000)
    await queue.lease("m1")
    await queue.lease("m1")
    assert await queue.park(1, "m1", 60) and await queue.park(2, "m1", 60)
    assert await queue.extend(1, "m1", 30)  # its matcher works on it again: not parked any more
    assert await queue.finish(2, "m1")
    assert await queue.recall() == 0
    assert await order(queue) == []
    assert not await queue.park(1, "m2", 60)  # only the owner parks
