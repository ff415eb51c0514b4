"""`dispatch users`: accounts and tokens, from the command line."""

import asyncio
from typing import Annotated

import redis.asyncio as aioredis
import typer
from redis.exceptions import RedisError
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from dispatch.audit.service import Actor
from dispatch.auth import service
from dispatch.auth.cache import TTL_S, announce_revoked
from dispatch.auth.models import Role, User
from dispatch.cli_support import in_session, with_errors
from dispatch.config import get_settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.errors import NotFound, ServiceUnavailable
from dispatch.keys import Keys

users_app = typer.Typer(help="Accounts and their bearer tokens.", no_args_is_help=True)
out = Console()


def _run(work):
    return with_errors(lambda: asyncio.run(in_session(work)))


@users_app.command("add")
def add(
    username: str,
    role: Annotated[Role, typer.Option(help="What the account may do")],
    unit: Annotated[str | None, typer.Option(help="Call sign of the unit (role 'unit' only)")] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Add an account and print its first token (shown once)."""

    async def work(session, settings):
        user = await service.create_user(
            session, username=username, role=role, display_name=name, unit_call_sign=unit, actor=Actor.cli()
        )
        return await service.issue_token(session, user=user, secret_key=settings.secret_key, actor=Actor.cli())

    token = _run(work)
    out.print(f"created {username} ({role.value}); token, shown once:")
    print(token)


@users_app.command("token")
def token(username: str, name: Annotated[str, typer.Option(help="A label for the token")] = "cli") -> None:
    """Issue another token for an account."""

    async def work(session, settings):
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no user '{username}'")
        return await service.issue_token(
            session, user=user, secret_key=settings.secret_key, name=name, actor=Actor.cli()
        )

    print(_run(work))


@users_app.command("revoke")
def revoke(username: str) -> None:
    """Revoke every token of an account."""

    async def work(session, settings):
        return await service.revoke_tokens(session, username=username, actor=Actor.cli())

    count = _run(work)
    out.print(f"revoked {count} token(s) of {username}")
    # Committed: now every running service process drops what it remembers of the account's tokens.
    told, done = with_errors(lambda: asyncio.run(_announce(username)))
    out.print(f"{done} of {told} service process(es) confirmed")
    if done < told:
        raise typer.Exit(1)


async def _announce(username: str) -> tuple[int, int]:
    settings = get_settings()
    engine = make_async_engine(settings)
    client = aioredis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        async with make_sessionmaker(engine)() as session:
            user_id = await session.scalar(select(User.id).where(User.username == username))
        if user_id is None:  # revoke_tokens refused an unknown account before this
            return 0, 0
        try:
            return await announce_revoked(client, Keys(settings.key_prefix), user_id)
        except RedisError as exc:
            raise ServiceUnavailable(
                f"revoked in PostgreSQL, but the service processes could not be told ({exc}): they may accept "
                f"the tokens from their caches for up to {TTL_S:.0f} s"
            ) from None
    finally:
        await client.aclose()
        await engine.dispose()


@users_app.command("list")
def list_users() -> None:
    """List the accounts."""

    async def work(session, settings):
        return await service.list_users(session)

    table = Table("username", "role", "unit", "active")
    for user, call_sign in _run(work):
        table.add_row(user.username, user.role.value, call_sign or "", "yes" if user.active else "no")
    out.print(table)
