"""Who is on the other end of a request or socket: the connecting address, or the one a trusted proxy names.

Behind a reverse proxy every connection comes from the proxy, so limits keyed on the connecting address would
make every citizen share one limit. X-Forwarded-For is believed only when the connecting peer is one of
`Settings.trusted_proxies`; anyone else could write any address into it and get a fresh limit per request.
The header is read from the right: each trusted proxy appends the address it saw, so the first address from
the right that is not a trusted proxy is the client (the ones to its left are the client's own claims).
"""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.requests import HTTPConnection

Networks = Sequence[IPv4Network | IPv6Network]
UNKNOWN = "unknown"


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:4711
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:4711
        text = text.split(":", 1)[0]
    try:
        return ip_address(text)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: Networks) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in proxies)


def forwarded_client(peer: str | None, forwarded_for: list[str], proxies: Networks) -> str:
    """The client's address given the connecting peer, every X-Forwarded-For header value (in order) and the
    trusted proxies. Pure, so that the rule is tested without a socket."""
    address = _parse(peer) if peer else None
    if address is None:
        return peer or UNKNOWN
    if not _trusted(address, proxies):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        claimed = _parse(hop)
        if claimed is None:  # garbage from a hop we cannot vouch for: the last trusted hop is the client
            return str(address)
        address = claimed
        if not _trusted(address, proxies):
            return str(address)
    return str(address)  # every hop a trusted proxy: the leftmost one is all we know


def client_address(conn: HTTPConnection) -> str:
    """The client's address of a Request or WebSocket (see the module's docstring for when a forwarded one
    counts)."""
    peer = conn.client.host if conn.client else None
    proxies = conn.app.state.settings.trusted_proxies
    if not proxies:
        return peer or UNKNOWN
    return forwarded_client(peer, conn.headers.getlist("x-forwarded-for"), proxies)
