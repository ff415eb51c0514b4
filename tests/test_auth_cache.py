"""A token is read from PostgreSQL once and then remembered for a few seconds per process; a revocation is
refused by every process as soon as the revocation returns, and a process that cannot hear revocations does
not serve from its cache."""

import asyncio
import time

from httpx import AsyncClient

from dispatch.auth import service
from dispatch.auth.cache import TokenCache, announce_revoked
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.auth.tokens import hash_token
from dispatch.db import make_sessionmaker
from tests.builders import make_user_with_token
from tests.test_push import bearer, serve  # noqa: F401 (fixture)

WHO = Principal(user_id=7, username="someone", role=Role.dispatcher, unit_id=None, token_id=9)


def live_cache() -> TokenCache:
    cache = TokenCache(None, None, type("K", (), {"prefix": "t"})())  # no Redis: told it is subscribed
    cache._subscribed, cache._heard = True, time.monotonic()
    return cache


def test_a_cached_token_is_served_only_while_the_cache_hears_revocations_and_the_token_is_valid():
    cache = live_cache()
    cache.put("d", WHO, None, cache.generation)
    assert cache.get("d") == WHO
    cache._heard = time.monotonic() - 10  # the subscription silent: taken for lost
    assert cache.get("d") is None
    cache = live_cache()
    cache.put("d", WHO, time.time() - 1, cache.generation)  # expired while remembered
    assert cache.get("d") is None
    cache.put("d", WHO, None, cache.generation)
    cache.drop_user(WHO.user_id)
    assert cache.get("d") is None


def test_a_token_read_while_a_revocation_was_heard_is_not_remembered():
    cache = live_cache()
    before = cache.generation  # the request reads PostgreSQL under this generation...
    cache.drop_user(123)  # ...and meanwhile a revocation is heard (of this account or another)
    cache.put("d", WHO, None, before)
    assert cache.get("d") is None


async def until(check, within_s: float = 5.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_a_revoked_token_is_refused_by_every_process_when_the_revocation_returns(serve, settings, engine):  # noqa: F811
    apps = [await serve(matcher=False), await serve(matcher=False)]
    async with make_sessionmaker(engine)() as session:
        user, token = await make_user_with_token(session, settings, role=Role.dispatcher)
        await session.commit()
    digest = hash_token(token, settings.secret_key)
    clients = [AsyncClient(base_url=f"http://{addr}") for _, addr in apps]
    for (app, _), client in zip(apps, clients, strict=True):
        await until(lambda app=app: app.state.services.tokens.live)
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
        assert app.state.services.tokens.get(digest) is not None  # remembered: not read again
    async with make_sessionmaker(engine)() as session:
        await service.revoke_tokens(session, username=user.username)
        await session.commit()
    services = apps[0][0].state.services
    told, done = await announce_revoked(services.redis, services.keys, user.id)
    assert told >= 2 and done == told
    for client in clients:  # at once, on each process
        response = await client.get("/api/me", headers=bearer(token))
        assert response.status_code == 401 and "revoked" in response.json()["detail"]
        await client.aclose()


async def test_a_process_that_lost_its_subscription_reads_every_token_from_postgresql(serve, settings, engine, redis):  # noqa: F811
    app, addr = await serve(matcher=False)
    tokens = app.state.services.tokens
    await until(lambda: tokens.live)
    async with make_sessionmaker(engine)() as session:
        user, token = await make_user_with_token(session, settings, role=Role.dispatcher)
        await session.commit()
    async with AsyncClient(base_url=f"http://{addr}") as client:
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
        assert tokens.get(hash_token(token, settings.secret_key)) is not None
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")  # every subscription cut
        await until(lambda: not tokens.live, 2.0)
        async with make_sessionmaker(engine)() as session:  # revoked and not announced: no one could hear it
            await service.revoke_tokens(session, username=user.username)
            await session.commit()
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 401
        await until(lambda: tokens.live)  # subscribed again: from an empty cache
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 401
