"""One error base for the whole service, rendered as RFC 9457 problem JSON."""

import logging

import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("dispatch.errors")
PROBLEM_JSON = "application/problem+json"


class DispatchError(Exception):
    """A failure the caller can understand: a status, a stable code and a sentence."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, extra: dict | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}


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
    body = {"type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
            "instance": instance, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DispatchError)
    async def _dispatch_error(request: Request, exc: DispatchError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, request.url.path, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
        return problem(422, "invalid_input", "Invalid input", detail, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail), request.url.path)

    async def _backend_down(request: Request, exc: Exception) -> JSONResponse:
        # PostgreSQL unreachable: nothing was stored, so the client must retry; say when.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        response = problem(503, "service_unavailable", "Service unavailable",
                           "the database is unavailable; nothing was stored, retry shortly", request.url.path)
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def _database_error(request: Request, exc: sqlalchemy.exc.DBAPIError) -> JSONResponse:
        from dispatch.db import is_retryable

        if is_retryable(exc):
            # A deadlock or serialization failure: PostgreSQL rolled the whole transaction back.
            log.warning("rolled back on %s %s, the client may retry: %s", request.method, request.url.path,
                        str(exc.orig).splitlines()[0] if exc.orig else exc)
            response = problem(503, "retry", "Try again", "a concurrent change got in the way; nothing was "
                               "stored, retry", request.url.path)
            response.headers["Retry-After"] = "0"
            return response
        return await _unexpected(request, exc)

    for exc_type in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, ConnectionError, OSError,
                     redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        app.add_exception_handler(exc_type, _backend_down)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug: log the traceback for the operators, never show it to the caller.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Internal server error",
                       "the server failed to handle this request; it has been logged", request.url.path)
