"""Open sockets lose their access when their token does: revoked, expired, the account deactivated, its role or
its unit changed. A socket's token is checked once, at the handshake; after that every process looks, every
CHECK_EVERY_S, at the tokens of all the sockets it holds, in one query, and closes (4003) each socket whose
token no longer says what it said when the socket opened. The device or console reconnects and is refused, or
let in with what its account may now do.
"""

import asyncio
import logging

from sqlalchemy import text

from dispatch.push.hub import Hub
from dispatch.push.protocol import CLOSE_REVOKED
from dispatch.tasks import stop_if_cancelled

log = logging.getLogger("dispatch.push")
CHECK_EVERY_S = 2.0  # a revocation reaches the open sockets within this (and the query's time)

# The tokens that still give what they gave: (token id, role, unit) for each one still valid.
_VALID = text("""
    SELECT t.id, u.role::text, u.unit_id FROM api_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.id = ANY(CAST(:ids AS bigint[])) AND t.revoked_at IS NULL AND u.active
      AND (t.expires_at IS NULL OR t.expires_at > now())""")


def close_sockets_of(hub: Hub, user_id: int) -> None:
    """An account's tokens were revoked (dispatch.auth.cache heard it): its sockets close now, not at the next
    check."""
    for sock in hub.sockets():
        if sock.who is not None and sock.who.user_id == user_id and sock.close_code is None:
            log.info("closing a socket of %s: its tokens were revoked", sock.who.username)
            sock.close(CLOSE_REVOKED)


class AccessWatcher:
    def __init__(self, hub: Hub, sessionmaker, every_s: float = CHECK_EVERY_S, forget=None) -> None:
        self.hub, self.sessionmaker, self.every_s = hub, sessionmaker, every_s
        # Drops an account from the process's token cache (dispatch.auth.cache): a change made in PostgreSQL
        # without announcing it (a role changed by hand) is then refused at the next handshake too.
        self.forget = forget
        self._task: asyncio.Task | None = None

    async def check(self) -> int:
        """Closes the sockets whose token no longer gives what it gave; how many."""
        sockets = [s for s in self.hub.sockets() if s.who is not None and s.close_code is None]
        if not sockets:
            return 0
        async with self.sessionmaker() as session:
            rows = (await session.execute(_VALID, {"ids": sorted({s.who.token_id for s in sockets})})).all()
        valid = {token_id: (role, unit_id) for token_id, role, unit_id in rows}
        closed = 0
        for sock in sockets:
            if valid.get(sock.who.token_id) != (sock.who.role.value, sock.who.unit_id):
                if self.forget is not None:
                    self.forget(sock.who.user_id)
                log.info("closing a socket of %s: its access changed", sock.who.username)
                sock.close(CLOSE_REVOKED)
                closed += 1
        return closed

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.check()
            except Exception as exc:  # noqa: BLE001 - PostgreSQL away: the sockets keep what they have meanwhile
                stop_if_cancelled()
                log.warning("socket access check failed: %r", exc)
            stop_if_cancelled()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="socket-access")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
