"""Users and tokens: the rules. Queries and rules stay here; callers commit."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.auth.models import ApiToken, Role, User
from dispatch.auth.tokens import DEMO_NAME, hash_token, is_demo_token, new_token
from dispatch.db import driver_connection
from dispatch.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from dispatch.units.models import Unit

if TYPE_CHECKING:
    from dispatch.auth.cache import TokenCache

ACCOUNTS = Actor.system("accounts")  # who adds accounts and tokens when no one is named (the demo, the tests)


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a bearer token on every request and websocket."""

    user_id: int
    username: str
    role: Role
    unit_id: int | None
    token_id: int


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    role: Role,
    display_name: str | None = None,
    unit_call_sign: str | None = None,
    actor: Actor = ACCOUNTS,
) -> User:
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidInput("username: 1-64 letters, digits, '.', '_' or '-'")
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user '{username}' exists")
    unit_id = None
    if role == Role.unit:
        if not unit_call_sign:
            raise InvalidInput("a unit account must name its unit (--unit CALL_SIGN)")
        unit_id = await session.scalar(select(Unit.id).where(Unit.call_sign == unit_call_sign))
        if unit_id is None:
            raise NotFound(f"no unit with call sign '{unit_call_sign}'")
        if await session.scalar(select(User.id).where(User.unit_id == unit_id)):
            raise Conflict(f"unit '{unit_call_sign}' already has an account")
    elif unit_call_sign:
        raise InvalidInput("only accounts with the role 'unit' are bound to a unit")
    user = User(username=username, display_name=display_name or username, role=role, unit_id=unit_id)
    session.add(user)
    await session.flush()
    after = {"username": username, "display_name": user.display_name, "role": role.value, "unit_id": unit_id}
    await audit.record(session, actor=actor, action="user.add", object_type="user", object_id=user.id, after=after)
    return user


async def issue_token(
    session: AsyncSession,
    *,
    user: User,
    secret_key: str,
    name: str = "default",
    token: str | None = None,
    valid_for: timedelta | None = None,
    actor: Actor = ACCOUNTS,
) -> str:
    """Stores the hash of a new token and returns the token itself: the only time it is seen."""
    token = token or new_token()
    if (name == DEMO_NAME) != is_demo_token(token):
        raise InvalidInput(f"the token name '{DEMO_NAME}' is kept for the demo's tokens, and they carry no other")
    digest = hash_token(token, secret_key)
    if await session.scalar(select(ApiToken.id).where(ApiToken.token_hash == digest)):
        return token  # the same (demo) token issued again: nothing to add
    expires = datetime.now(UTC) + valid_for if valid_for else None
    issued = ApiToken(user_id=user.id, name=name, token_hash=digest, prefix=token[:12], expires_at=expires)
    session.add(issued)
    await session.flush()
    after = {
        "user_id": user.id,
        "username": user.username,
        "name": name,
        "prefix": issued.prefix,
        "expires_at": expires,
    }
    await audit.record(session, actor=actor, action="token.add", object_type="token", object_id=issued.id, after=after)
    return token


async def revoke_tokens(session: AsyncSession, *, username: str, actor: Actor = ACCOUNTS) -> int:
    user_id = await session.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"no user '{username}'")
    now = datetime.now(UTC)
    revoked = await session.scalars(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.id)
    )
    ids = list(revoked)
    for token_id in ids:
        await audit.record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="token",
            object_id=token_id,
            before={"revoked_at": None},
            after={"revoked_at": now, "username": username},
        )
    return len(ids)


# Every request runs this: plain SQL on the driver connection, a prepared statement after the first time. The
# token's last use is written in the same statement (no round trip of its own), and at most once a minute per
# token: not a write per request. SKIP LOCKED: a request that finds another one writing it leaves it to that one.
# The use is audited at that moment, in the same statement ($2: the client's address): once a minute, as written.
_AUTHENTICATE = """
    WITH found AS (
        SELECT t.id, t.name, t.expires_at, t.revoked_at, u.id AS user_id, u.username, u.role::text AS role,
               u.unit_id, u.active
        FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1
    ), used AS (
        UPDATE api_tokens SET last_used_at = now()
        WHERE id = (SELECT t.id FROM api_tokens t JOIN found f ON f.id = t.id
                    WHERE f.active AND f.revoked_at IS NULL AND (f.expires_at IS NULL OR f.expires_at > now())
                      AND (t.last_used_at IS NULL OR t.last_used_at <= now() - interval '1 minute')
                    FOR UPDATE OF t SKIP LOCKED)
        RETURNING id
    ), audited AS (
        INSERT INTO audit_records (actor_id, actor, role, address, action, object_type, object_id)
        SELECT f.user_id, f.username, f.role, CAST($2 AS text), 'token.use', 'token', f.id::text
        FROM used JOIN found f ON f.id = used.id
    )
    SELECT id, name, expires_at, revoked_at, user_id, username, role, unit_id, active FROM found"""


async def authenticate(
    session: AsyncSession,
    *,
    token: str,
    secret_key: str,
    allow_demo: bool,
    address: str | None = None,
    cache: "TokenCache | None" = None,
) -> Principal:
    """The account behind a token. `allow_demo` is false in production: demo tokens are derived from the secret
    and printed by the demo, so anyone who has seen a demo (or the development secret) would hold one. With a
    `cache`, a token read lately is not read again (dispatch.auth.cache says when it may be trusted)."""
    if not allow_demo and is_demo_token(token):
        raise NotAuthenticated("demo tokens are refused in production")
    digest = hash_token(token, secret_key)
    if cache is not None and (known := cache.get(digest)) is not None:
        return known
    generation = cache.generation if cache is not None else 0
    row = await (await driver_connection(session)).fetchrow(_AUTHENTICATE, digest, address)
    if row is None:
        raise NotAuthenticated("unknown token")
    token_id, name, expires_at, revoked_at, user_id, username, role, unit_id, active = row
    if not allow_demo and name == DEMO_NAME:  # a demo token issued before demo tokens had their prefix
        raise NotAuthenticated("demo tokens are refused in production")
    role = Role(role)
    now = datetime.now(UTC)
    if revoked_at is not None or not active:
        raise NotAuthenticated("this token has been revoked")
    if expires_at is not None and expires_at <= now:
        raise NotAuthenticated("this token has expired")
    who = Principal(user_id=user_id, username=username, role=role, unit_id=unit_id, token_id=token_id)
    if cache is not None:
        cache.put(digest, who, expires_at.timestamp() if expires_at is not None else None, generation)
    return who


async def list_users(session: AsyncSession) -> list[tuple[User, str | None]]:
    rows = await session.execute(
        select(User, Unit.call_sign).outerjoin(Unit, Unit.id == User.unit_id).order_by(User.role, User.username)
    )
    return [(user, call_sign) for user, call_sign in rows.all()]
