"""Database plumbing: engines and the request's session (the declarative base is geo.base's, re-exported)."""

import asyncio
import random
import re

import asyncpg
import orjson
import sqlalchemy.exc
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dispatch.config import Settings
from dispatch.db_errors import is_retryable
from geo.base import Base as Base
from geo.base import created_at_column as created_at_column


def make_async_engine(settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size // 2,
        # No pre-ping: it costs a round trip per request. A connection that died is invalidated by the
        # error it raises, which answers 503 with Retry-After; the client's retry gets a fresh one.
        # No JIT: every statement of the service is short, and compiling one costs tens of milliseconds (the
        # planner's guess at a statement's cost can cross jit_above_cost however quick it really is).
        connect_args={"timeout": 5, "server_settings": {"application_name": "dispatch", "jit": "off"}},
        json_serializer=lambda value: orjson.dumps(value).decode(),
        json_deserializer=orjson.loads,
    )
    discard_closed_connections(engine)
    return engine


def discard_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection PostgreSQL has closed (a restart cuts them all) is replaced when it is checked out,
    not handed to a request. SQLAlchemy discards a connection only when an error it sees through its own
    cursor says so, and the hot statements (the token check first of all) run on the driver connection, where
    it sees nothing: the same dead connections went round the pool, each request failing on one. The check
    reads the driver's own flag, set when the socket closed: no round trip."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _closed(dbapi_connection, record, proxy) -> None:
        if proxy.driver_connection.is_closed():
            raise sqlalchemy.exc.DisconnectionError("the connection was closed by PostgreSQL")


def make_sync_engine(settings: Settings, **kwargs) -> Engine:
    return create_engine(settings.sync_database_url, connect_args={"connect_timeout": 5}, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` placeholders to asyncpg's `$n`, one number per occurrence: (sql, the names in order)."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    return re.sub(r"(?<![:\w]):([a-z_]\w*)", number, sql), tuple(names)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, for the few hot statements written as plain SQL (intake, auth).

    A statement run on it while the session has not begun a transaction commits by itself: one statement, one
    round trip, atomic. Once the session has begun one (ORM work earlier in the request, or a test's
    rolled-back transaction) the statement joins it and commits with it. Either way it is one atomic write.
    """
    conn = await session.connection()
    return (await conn.get_raw_connection()).driver_connection


async def retrying(work, *, attempts: int = 3):
    """Runs `work()` (which opens and commits its own transaction) again when PostgreSQL rolled it back for a
    deadlock or a serialization failure; after `attempts` the error goes to the caller."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
    raise AssertionError("unreachable")
