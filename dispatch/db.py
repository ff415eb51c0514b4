"""Database plumbing: the declarative base, engines and the request's session."""

import re
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import orjson
from sqlalchemy import DateTime, MetaData, create_engine, func
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dispatch.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def make_async_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(
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


async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session per request: commit once at the end if all went well, else roll back."""
    async with maker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# PostgreSQL's "try again" errors: the transaction was rolled back whole, nothing of it was stored.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure, however SQLAlchemy or asyncpg wrapped it."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
    return False


async def retrying(work, *, attempts: int = 3):
    """Runs `work()` (which opens and commits its own transaction) again when PostgreSQL rolled it back for a
    deadlock or a serialization failure; after `attempts` the error goes to the caller."""
    import asyncio
    import random

    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
    raise AssertionError("unreachable")
