"""Runs the service under uvicorn."""

import uvicorn

from dispatch.push.protocol import MAX_FRAME


def run(*, host: str, port: int, workers: int, log_level: str) -> None:
    uvicorn.run("dispatch.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, ws="websockets-sansio", ws_per_message_deflate=False, ws_max_size=MAX_FRAME,
                proxy_headers=False, server_header=False)
