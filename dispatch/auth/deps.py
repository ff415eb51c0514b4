"""Typed dependencies: a route's signature says what it needs and who may call it."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth.models import Role
from dispatch.auth.service import Principal, authenticate
from dispatch.db import session_scope
from dispatch.errors import Forbidden, NotAuthenticated

bearer = HTTPBearer(auto_error=False, description="A token from `dispatch users token`")


async def get_session(request: Request):
    async for session in session_scope(request.app.state.sessionmaker):
        yield session


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
    return await authenticate(session, token=credentials.credentials,
                              secret_key=request.app.state.settings.secret_key)


def require_role(*roles: Role):
    """A dependency that lets through only the given roles (admin is always let through)."""
    allowed = frozenset(roles) | {Role.admin}

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role '{principal.role.value}' may not do this (allowed: {names})")
        return principal

    return check


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]

