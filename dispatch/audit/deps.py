"""The actor of a request, as a typed dependency: `actor: AuditActor` in a route's signature."""

from typing import Annotated

from fastapi import Depends, Request

from dispatch.audit.service import Actor
from dispatch.auth.deps import CurrentPrincipal
from dispatch.clients import client_address


async def audit_actor(request: Request, principal: CurrentPrincipal) -> Actor:
    """The account behind the request's token (FastAPI resolves the principal once per request, so this adds
    no token check to a route's `require_role`) and the client's address."""
    return Actor.of(principal, client_address(request))


async def public_actor(request: Request) -> Actor:
    """Someone without an account (the public report form, a feedback link): known by address only."""
    return Actor(None, "public", "public", client_address(request))


AuditActor = Annotated[Actor, Depends(audit_actor)]
PublicActor = Annotated[Actor, Depends(public_actor)]
