"""uvicorn's HTTP protocol with a deadline for request headers.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) but not a connection that sends nothing,
nor headers sent a byte at a time: 50 such connections were held open for a minute and more, each a socket and
a parser. Here every request's headers, from the connection's first byte (or the previous response), must be
complete within `header_timeout_s`, or the connection is closed. Bodies have their deadline in
`dispatch.edge.bodies`, where the body is read.
"""

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from dispatch.config import get_settings


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout_s: float | None = None  # None: the process's settings (DISPATCH_HEADER_TIMEOUT_S)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._header_limit = self.header_timeout_s or get_settings().header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self._header_limit, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            # debug: under a flood of such clients, one line each would drown the log
            self.logger.debug(
                "closed a connection from %s: no complete request headers within %g s", self.client, self._header_limit
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol with a deadline of its own, for a server started in this process (tests)."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": seconds})
