"""Typed dependencies: a route's signature says what it needs and who may call it."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, WebSocket
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocketState

from dispatch.auth.models import Role
from dispatch.auth.service import Principal, authenticate
from dispatch.clients import client_address
from dispatch.config import Environment
from dispatch.errors import DispatchError, Forbidden, NotAuthenticated, problem

bearer = HTTPBearer(auto_error=False, description="A token from `dispatch users token`")


async def get_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """The request's session: committed once at the end if all went well, and then what its changes owe the
    queue, the board and the crews is told (dispatch.aftercommit); rolled back otherwise."""
    services = conn.app.state.services
    async with services.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            services.after_commit.discard(session)
            await session.rollback()
            raise
        else:
            await services.after_commit.commit(session)


# Scope "function": the commit runs when the route returns, before the response is sent. At the default
# (request) scope it ran after: a commit that failed could no longer change the answer, and the client had
# a 200 for a write that was never stored (then a traceback, "response already started").
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise NotAuthenticated("send 'Authorization: Bearer <token>'")
    return await authenticate_connection(request, session, credentials.credentials)


async def authenticate_connection(conn: HTTPConnection, session: AsyncSession, token: str) -> Principal:
    """The account behind the token a request or a websocket handshake presents. Failed checks are counted per
    client address; past the limit the address's failures get 429 (its good tokens still work)."""
    settings = conn.app.state.settings
    throttle, who = conn.app.state.services.throttle, client_address(conn)
    try:
        return await authenticate(
            session,
            token=token,
            secret_key=settings.secret_key,
            allow_demo=settings.env != Environment.production,
            address=who,
            cache=conn.app.state.services.tokens,
        )
    except NotAuthenticated:
        await throttle.failed(who)
        raise


async def deny_handshake(ws: WebSocket, exc: DispatchError) -> None:
    """Refuses a websocket before it is accepted with the error's problem JSON and status (429 with its
    Retry-After), where the server can answer a handshake with a response; elsewhere closes it (1013: try
    again later)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        response = problem(exc.status, exc.code, exc.title, exc.detail, ws.url.path, **exc.extra)
        response.headers.update(exc.headers)
        await ws.send_denial_response(response)
    else:
        await ws.close(code=1013, reason=exc.detail[:120])


async def close_handshake(ws: WebSocket, code: int, reason: str) -> None:
    """Closes a socket that is not accepted, unless it was denied already (deny_handshake)."""
    if ws.application_state == WebSocketState.CONNECTING:
        await ws.close(code=code, reason=reason)


def require_role(*roles: Role, admin: bool = True):
    """A dependency that lets through only the given roles (and admin, unless `admin=False`: the caller outbox
    is the SMS gateway's alone)."""
    allowed = frozenset(roles) | ({Role.admin} if admin else frozenset())

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role '{principal.role.value}' may not do this (allowed: {names})")
        return principal

    return check


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
