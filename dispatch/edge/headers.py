"""Security headers on every answer: a Content Security Policy of the own origin only (no inline script, no
other host), no MIME sniffing, no framing, no referrer.

What the pages need, and so what the policy allows: scripts and styles from files of our own (the console,
Leaflet, Swagger UI, the feedback form's script); inline styles, since the small public pages and Swagger UI
carry some (a style cannot run code); images of our own and `data:` URIs (Leaflet's and Swagger UI's icons);
fetches and the console's websocket to the same host (`ws:`/`wss:` written out, since older browsers do not
count them as 'self'); the crew app's service worker and web app manifest from our own files (written out,
though default-src would allow them, so that tightening default-src never breaks the installed app).
Everything else, other hosts above all, is refused by the browser.
"""

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A Host header is the client's to write: only a plain host[:port] goes into the policy.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'{sockets}; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    " base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def policy_for(host: str | None) -> str:
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return POLICY.format(sockets=sockets)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = policy_for(Headers(scope=scope).get("host"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in (*FIXED.items(), ("Content-Security-Policy", policy)):
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
