"""One error base for the whole service, rendered as RFC 9457 problem JSON."""

import contextlib
import logging

import asyncpg
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket, WebSocketState
from uvicorn.protocols.utils import ClientDisconnected

from dispatch.db_errors import is_retryable, is_unavailable

log = logging.getLogger("dispatch.errors")
PROBLEM_JSON = "application/problem+json"


class DispatchError(Exception):
    """A failure the caller can understand: a status, a stable code and a sentence."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(
        self, detail: str | None = None, *, extra: dict | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}
        self.headers = headers or {}  # e.g. Retry-After on a 429


class NotAuthenticated(DispatchError):
    status, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(DispatchError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(DispatchError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DispatchError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidInput(DispatchError):
    status, code, title = 422, "invalid_input", "Invalid input"


class ServiceUnavailable(DispatchError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


class MapImportError(DispatchError):
    status, code, title = 422, "map_import_failed", "Map import failed"


def problem(status: int, code: str, title: str, detail: str, instance: str, **extra) -> JSONResponse:
    body = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _what(conn: HTTPConnection) -> str:
    """`POST /api/calls` for the log; a websocket's scope has no method."""
    return f"{conn.scope.get('method', 'WEBSOCKET')} {conn.url.path}"


# A websocket that was accepted can no longer be answered with HTTP: it is closed with the nearest code.
WS_CLOSE_CODES = {503: 1013, 500: 1011}  # try again later, internal error; anything else: policy (1008)


async def _answer(conn: HTTPConnection, response: JSONResponse) -> JSONResponse | None:
    """The problem as the connection can take it. An HTTP request gets it as is; a websocket handshake gets
    it as the HTTP answer that refuses the upgrade (the server's denial-response extension), so a device sees
    the 503 and its Retry-After like any client; an accepted websocket is closed with a code instead."""
    if conn.scope["type"] != "websocket":
        return response
    websocket: WebSocket = conn  # type: ignore[assignment]
    denial = "websocket.http.response" in conn.scope.get("extensions", {})
    if websocket.application_state == WebSocketState.CONNECTING and denial:
        return response
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, OSError):  # the client may be gone already
            await websocket.close(code=WS_CLOSE_CODES.get(response.status_code, 1008))
    return None


def unavailable(instance: str) -> JSONResponse:
    response = problem(
        503,
        "service_unavailable",
        "Service unavailable",
        "the database is unavailable; nothing was stored, retry shortly",
        instance,
    )
    response.headers["Retry-After"] = "2"
    return response


def install_error_handlers(app: FastAPI) -> None:
    # Handlers take an HTTPConnection: a websocket handshake that fails comes here too, as a WebSocket.
    @app.exception_handler(DispatchError)
    async def _dispatch_error(conn: HTTPConnection, exc: DispatchError):
        response = problem(exc.status, exc.code, exc.title, exc.detail, conn.url.path, **exc.extra)
        response.headers.update(exc.headers)
        return await _answer(conn, response)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(conn: HTTPConnection, exc: RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
        return await _answer(conn, problem(422, "invalid_input", "Invalid input", detail, conn.url.path, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(conn: HTTPConnection, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return await _answer(conn, problem(exc.status_code, code, str(exc.detail), str(exc.detail), conn.url.path))

    async def _client_gone(conn: HTTPConnection, exc: Exception) -> None:
        # A websocket's client left before its handshake was answered (a device whose connect timed out): there
        # is no one to answer, and nothing was stored. An OSError, it would otherwise be taken for a backend down,
        # whose answer fails on the same closed socket and leaves a traceback, costly in a connection storm.
        log.debug("the client left %s before it was answered", _what(conn))

    async def _backend_down(conn: HTTPConnection, exc: Exception):
        # PostgreSQL or Redis unreachable: nothing was stored, so the client must retry; say when.
        log.warning("backend unavailable on %s: %s", _what(conn), _first_line(exc))
        return await _answer(conn, unavailable(conn.url.path))

    async def _database_error(conn: HTTPConnection, exc: Exception):
        """SQLAlchemy's errors and asyncpg's own (statements on the driver connection raise them raw)."""
        if is_unavailable(exc):
            return await _backend_down(conn, exc)
        if is_retryable(exc):
            # A deadlock or serialization failure: PostgreSQL rolled the whole transaction back.
            log.warning("rolled back on %s, the client may retry: %s", _what(conn), _first_line(exc))
            response = problem(
                503,
                "retry",
                "Try again",
                "a concurrent change got in the way; nothing was stored, retry",
                conn.url.path,
            )
            response.headers["Retry-After"] = "0"
            return await _answer(conn, response)
        return await _unexpected(conn, exc)

    for exc_type in (sqlalchemy.exc.DBAPIError, asyncpg.PostgresError, asyncpg.InterfaceError):
        app.add_exception_handler(exc_type, _database_error)
    # OperationalError: the synchronous driver's word for a server it cannot reach.
    for exc_type in (
        sqlalchemy.exc.OperationalError,
        sqlalchemy.exc.DisconnectionError,
        ConnectionError,
        OSError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ):
        app.add_exception_handler(exc_type, _backend_down)
    app.add_exception_handler(ClientDisconnected, _client_gone)

    @app.exception_handler(Exception)
    async def _unexpected(conn: HTTPConnection, exc: Exception):
        # A bug: log the traceback for the operators, never show it to the caller.
        log.exception("unhandled error on %s", _what(conn))
        return await _answer(
            conn,
            problem(
                500,
                "internal_error",
                "Internal server error",
                "the server failed to handle this request; it has been logged",
                conn.url.path,
            ),
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
