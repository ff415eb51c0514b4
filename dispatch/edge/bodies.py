"""Request bodies bounded in size and in time, read here before any route sees them.

An unauthenticated 200 MB POST used to be read whole into memory before validation refused it, and a client
that sent a body a byte a minute held its connection and a task as long as it liked. Here a declared length
over the limit is answered 413 at once, without reading a byte; a chunked body is counted and refused as soon
as it passes the limit; and the whole body must arrive within `timeout_s` (408). Either way the connection is
closed, since the rest of the body is still on the wire. A client that goes away mid-body is not an error:
nothing reaches the route, and one line goes to the log.

The largest legitimate body is a call (`CallIn`: a narrative of 4,000 characters, each of which JSON may
write as a 12-byte surrogate pair escape, plus name and location) at about 55 kB: the default of 64 KiB fits
it (tests/test_edge.py sends it).
"""

import asyncio
import logging

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.errors import DispatchError, problem

log = logging.getLogger("dispatch.edge")


class PayloadTooLarge(DispatchError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class RequestTimeout(DispatchError):
    status, code, title = 408, "request_timeout", "Request body too slow"


class _Refused(Exception):
    def __init__(self, error: DispatchError) -> None:
        self.error = error


class _Gone(Exception):
    """The client disconnected before its body was complete."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float, larger: dict[str, int] | None = None) -> None:
        """`larger`: paths whose bodies may be larger, and their limits (an EIDO carries a whole incident)."""
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        try:
            self._check_declared(Headers(scope=scope).get("content-length"), limit)
            async with asyncio.timeout(self.timeout_s):
                body = await self._read(receive, limit)
        except _Refused as refused:
            await self._refuse(scope, receive, send, refused.error)
            return
        except TimeoutError:
            await self._refuse(
                scope, receive, send, RequestTimeout(f"the request body did not arrive within {self.timeout_s:g} s")
            )
            return
        except _Gone:
            log.info(
                "client %s went away before its body was complete: %s %s",
                scope.get("client"),
                scope["method"],
                scope["path"],
            )
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    def _check_declared(length: str | None, limit: int) -> None:
        if length is not None and length.isdigit() and int(length) > limit:
            raise _Refused(PayloadTooLarge(f"{length} bytes declared; at most {limit} are read"))

    @staticmethod
    async def _read(receive: Receive, limit: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(PayloadTooLarge(f"more than {limit} bytes sent; that is the most read"))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: DispatchError) -> None:
        response = problem(error.status, error.code, error.title, error.detail, scope["path"])
        response.headers["Connection"] = "close"  # the unread rest of the body must not become a request
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the connection's own messages (a disconnect, for whoever waits for one)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
