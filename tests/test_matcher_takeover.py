"""A matcher that dies does not hold its incident for long: its lease is short and renewed while it lives, so
another matcher takes the incident within a lease of the last renewal. Asserted on the lease's times as
Redis keeps them (the server clock), never on how long the test took."""

import asyncio

from sqlalchemy import text

from dispatch.matching.worker import IDLE_POLL_S, RENEWALS_PER_LEASE, takeover_bound_s
from tests.test_matching_flow import FIRE, call, floor, live  # noqa: F401 - floor is a fixture

TAKEOVER_GOAL_S = 2.0  # the first assignment after a matcher dies, at the latest


async def server_ms(redis) -> int:
    seconds, micros = await redis.time()
    return seconds * 1000 + micros // 1000


async def lease_of(queue, incident_id: int):
    return next((e for e in await queue.snapshot() if e.incident_id == incident_id), None)


def test_the_default_lease_lets_another_matcher_take_over_within_two_seconds(settings):
    assert takeover_bound_s(settings) <= TAKEOVER_GOAL_S - 0.2  # room for the decision and the write
    renew_every_s = settings.queue_lease_s / RENEWALS_PER_LEASE
    assert renew_every_s >= IDLE_POLL_S  # a heartbeat, not a busy loop
    assert settings.queue_lease_s - renew_every_s >= 0.9  # a live matcher's renewal may come a second late


async def test_a_working_matcher_renews_its_lease_and_a_dead_ones_incident_is_taken_when_it_runs_out(
    settings,
    engine,
    floor,  # noqa: F811 - the fixture
    redis,
):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        queue, lease_ms = app.state.services.queue, settings.queue_lease_s * 1000
        incident_id = await call(client, floor["taker"], FIRE)
        async with engine.connect() as blocker:
            # The incident's row locked: the matcher decides, reserves, and then waits in its write, as one
            # whose PostgreSQL is slow; its lease must outlive that wait.
            await blocker.execute(text("SELECT 1 FROM incidents WHERE id = :i FOR UPDATE"), {"i": incident_id})
            working = asyncio.create_task(app.state.services.matcher.run_once())
            seen: list[int] = []
            for _ in range(600):  # until the lease was taken and renewed three times (a guard, not a timing)
                entry = await lease_of(queue, incident_id)
                if entry.leased_by is not None or seen:
                    assert entry.leased_by == app.state.services.matcher.owner, entry  # still its own, all along
                    # Never further ahead than one lease: what a matcher dying right now leaves behind.
                    assert entry.lease_expires_at_ms - await server_ms(redis) <= lease_ms
                    seen.append(entry.lease_expires_at_ms)
                if len(set(seen)) == 4:
                    break
                await asyncio.sleep(0.05)
            assert len(set(seen)) == 4 and seen == sorted(seen), seen

            working.cancel()  # the matcher dies mid-write: no release, no more renewals
            await asyncio.gather(working, return_exceptions=True)
            died_at = await server_ms(redis)
            orphaned = await lease_of(queue, incident_id)
            assert orphaned.leased_by == app.state.services.matcher.owner
            assert orphaned.lease_expires_at_ms - died_at <= lease_ms
            await blocker.rollback()

        taken = None
        while taken is None:  # another matcher's idle polls
            taken = await queue.lease("another-matcher")
            if taken is None:
                await asyncio.sleep(IDLE_POLL_S)
        taken_at = taken.expires_at_ms - lease_ms
        assert taken.incident_id == incident_id
        assert taken_at >= orphaned.lease_expires_at_ms  # never two holders: only once the dead one's ran out
        await queue.release(incident_id, "another-matcher")
