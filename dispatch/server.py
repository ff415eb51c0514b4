"""Runs the service under uvicorn."""

import uvicorn

from dispatch.config import get_settings
from dispatch.edge.protocol import HeaderDeadlineProtocol, with_header_timeout
from dispatch.push.protocol import MAX_FRAME


def uvicorn_options(*, header_timeout_s: float | None = None) -> dict:
    """What `dispatch serve` gives uvicorn (tests start their servers with the same). The protocol keeps a
    deadline on request headers (dispatch/edge/protocol.py); by import path, so that each worker process
    builds it from its own settings."""
    http = (
        with_header_timeout(header_timeout_s)
        if header_timeout_s
        else (f"{HeaderDeadlineProtocol.__module__}:{HeaderDeadlineProtocol.__name__}")
    )
    return dict(
        http=http,
        timeout_keep_alive=get_settings().keep_alive_s,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME,
        # The protocol's own heartbeat (a `ping` every 25 s, a socket silent for 90 s closed: docs/protocol.md)
        # is the one a browser's app can see; uvicorn's frame-level pings, every 20 s on every socket, were a
        # second heartbeat, 6 % of the service's CPU with 11,000 sockets.
        ws_ping_interval=None,
        ws_ping_timeout=None,
        proxy_headers=False,
        server_header=False,
    )


def run(*, host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run(
        "dispatch.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        **uvicorn_options(),
    )
