"""Which database errors mean "away for now" or "try again": pure functions of the error, however SQLAlchemy
or asyncpg wrapped it. Apart from dispatch.db so that the error handlers (dispatch.errors) need no engine."""

import asyncpg
import sqlalchemy.exc

# PostgreSQL shutting down, starting up or out of connection slots: away for now, back by itself.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _causes(exc: BaseException):
    """The error and what it wraps: SQLAlchemy's `orig`, the adapter's cause, asyncpg's own."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 8:
        candidate = todo.pop()
        if candidate is None or any(candidate is s for s in seen):
            continue
        seen.append(candidate)
        todo.extend((getattr(candidate, "orig", None), candidate.__cause__))
    return seen


def is_unavailable(exc: BaseException) -> bool:
    """True when PostgreSQL could not be reached or cut the connection (a restart, a shutdown, the network),
    however SQLAlchemy or asyncpg wrapped it: a retry in a moment will do (a call retried with its
    Idempotency-Key is taken once even if the commit's answer was what got lost). Raw driver errors count too
    (statements run on the driver connection raise them unwrapped)."""
    for candidate in _causes(exc):
        if isinstance(candidate, sqlalchemy.exc.DBAPIError) and candidate.connection_invalidated:
            return True
        if isinstance(candidate, (OSError, asyncpg.PostgresConnectionError, sqlalchemy.exc.DisconnectionError)):
            return True  # refused, reset, timed out (TimeoutError is an OSError); SQLSTATE class 08
        if getattr(candidate, "sqlstate", None) in UNAVAILABLE_SQLSTATES:
            return True
        if isinstance(candidate, asyncpg.InterfaceError) and "closed" in str(candidate):
            return True  # "connection is closed": the driver knows the socket is gone
    return False


# PostgreSQL's "try again" errors: the transaction was rolled back whole, nothing of it was stored.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure, however SQLAlchemy or asyncpg wrapped it."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True
    return False
