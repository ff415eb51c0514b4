"""Fixtures on the real services: a test database migrated once per run, each test in a rolled-back
transaction, and a Redis database flushed before each test."""

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis.asyncio as aioredis
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from dispatch.app import create_app
from dispatch.auth.deps import get_session
from dispatch.config import BUNDLED_MAP, Environment, Settings
from dispatch.setup import load_map_with_fleet, migrate, recreate_database
from geo.geocoder import Geocoder, build_index
from tests.builders import make_user_with_token

# Another run side by side (a second checkout) sets DISPATCH_TEST_REDIS_DB and DISPATCH_TEST_DATABASE_URL.
# `make test` runs the suite in four processes (pytest-xdist): each has a database and a Redis database of its
# own (`<name>_test_gw1`…`_gw3`, Redis db 13, 11, 9; db 14 is the bench's), so none sees another's rows.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
TEST_REDIS_DB = int(os.environ.get("DISPATCH_TEST_REDIS_DB", "15")) - 2 * WORKER


def _test_settings() -> Settings:
    base = os.environ.get("DISPATCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/dispatch")
    url = os.environ.get("DISPATCH_TEST_DATABASE_URL") or make_url(base).set(
        database=f"{make_url(base).database or 'dispatch'}_test"
    ).render_as_string(hide_password=False)
    if WORKER:
        url = make_url(url).set(database=f"{make_url(url).database}_gw{WORKER}").render_as_string(hide_password=False)
    redis = urlsplit(os.environ.get("DISPATCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    redis = redis._replace(path=f"/{TEST_REDIS_DB}").geturl()
    return Settings(
        env=Environment.test,
        database_url=url,
        redis_url=redis,
        db_pool_size=5,
        matcher=False,
        route_cache_dir=Path(tempfile.gettempdir()) / f"dispatch-test-routes-{WORKER}",
    )


# No two workers share a benchmark's databases, so the benchmarks' tests run on any worker: `dispatch bench` and
# the console benchmarks on this worker's own bench database (`<test db>_bench`, a copy of its template; only its
# keys in Redis db 14 are cleared: benchmarks/bench/setup.py), unit_latency and faults on servers of their own.


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
        if "helsinki" in item.fixturenames:
            # The second region is imported once per worker that asks for it: one worker does.
            item.add_marker(pytest.mark.xdist_group("helsinki"))
        elif _uses_a_module_fixture(item):
            # A module's fixture (a simulated day, a geocoder's index) is built once per worker its tests reach:
            # its tests go to one worker, which builds it once.
            item.add_marker(pytest.mark.xdist_group(module))

    # The long chains that one worker runs alone start first, not at the end while the others wait.
    first = ("helsinki",)
    items.sort(key=lambda item: next((i for i, g in enumerate(first) if _group(item) == g), len(first)))


def _group(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    return marker.args[0] if marker is not None and marker.args else None


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.values() if info is not None else ()
    return any(d.scope == "module" for chain in defs for d in chain)


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = _test_settings()
    recreate_database(settings)
    migrate(settings)
    return settings


# A second region with other address conventions: central Helsinki (bilingual names, "20 B", "14-20", 00100).
HELSINKI_MAP = Path(__file__).parent / "data" / "helsinki.osm.pbf"


@pytest.fixture(scope="session")
def imported_map(settings):
    """The bundled map and the fleet at its stations, imported once per run and committed (the import is its own
    transaction)."""
    return load_map_with_fleet(BUNDLED_MAP, settings.libpq_url)


HELSINKI_MAP = Path(__file__).parent / "data" / "helsinki.osm.pbf"  # the second region (tests/data/README.md)
HELSINKI_FLEET = HELSINKI_MAP.with_name("helsinki-fleet.toml")  # its centre's fleet (docs/fleet.md)


@pytest.fixture(scope="session")
def helsinki(settings) -> Settings:
    """The settings of a database of its own (`<test database>_helsinki`) holding the Helsinki extract, imported once
    per run with its centre's fleet; its Redis keys apart by the prefix (the database's name)."""
    own = settings.model_copy(
        update={"database_url": settings.database_url + "_helsinki", "report_time_zone": "Europe/Helsinki"}
    )
    recreate_database(own)
    migrate(own)
    load_map_with_fleet(HELSINKI_MAP, own.libpq_url, fleet=HELSINKI_FLEET)
    return own


@pytest.fixture(scope="module")
def geocoder(settings, imported_map) -> Geocoder:
    """The geocoder on the imported map, its index built once per module."""
    return Geocoder(build_index(settings.libpq_url))


@pytest.fixture(scope="module")
def db(settings, imported_map):
    """A plain connection to the imported map's tables, where the truths of the geocoder's tests come from."""
    with psycopg.connect(settings.libpq_url) as conn:
        yield conn


@pytest.fixture(scope="session")
async def engine(settings) -> AsyncIterator[AsyncEngine]:
    # Pre-ping: the run's engine outlives tests that cut PostgreSQL's connections (restarts, terminated
    # backends); a connection closed meanwhile is replaced, not handed to the next test.
    engine = create_async_engine(settings.async_database_url, pool_size=5, pool_pre_ping=True)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        await conn.execute(text("SELECT 1"))  # BEGIN now: plain-SQL statements on the driver join this transaction
        yield conn
        await outer.rollback()


@pytest.fixture
async def session(connection) -> AsyncIterator[AsyncSession]:
    """A session whose commits are savepoints inside the test's transaction, rolled back at the end."""
    async with AsyncSession(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    ) as session:
        yield session


@pytest.fixture
async def redis(settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@asynccontextmanager
async def app_on(settings: Settings, session: AsyncSession) -> AsyncIterator:
    """The service with these settings, its requests in the test's transaction, started and stopped."""
    app = create_app(settings)

    async def test_session():
        try:
            yield session
        except BaseException:
            app.state.services.after_commit.discard(session)
            raise
        await session.flush()  # the test's transaction stands for the commit: what it owes follows, as in service
        await app.state.services.after_commit.run(session)

    app.dependency_overrides[get_session] = test_session
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(settings, session, redis):
    async with app_on(settings, session) as app:
        yield app


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
def auth(session, settings):
    """`await auth(Role.dispatcher)` gives the headers of a fresh account with that role."""

    async def headers(role, **kwargs) -> dict[str, str]:
        _, token = await make_user_with_token(session, settings, role=role, **kwargs)
        return {"Authorization": f"Bearer {token}"}

    return headers
