"""Plain builders for test data."""

import itertools

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.auth import service
from dispatch.auth.models import Role, User
from dispatch.config import Settings

_serial = itertools.count(1)


async def make_user_with_token(session: AsyncSession, settings: Settings, *, role: Role,
                               unit_call_sign: str | None = None, username: str | None = None,
                               **token_kwargs) -> tuple[User, str]:
    user = await service.create_user(session, username=username or f"{role.value}-{next(_serial)}", role=role,
                                     unit_call_sign=unit_call_sign)
    token = await service.issue_token(session, user=user, secret_key=settings.secret_key, **token_kwargs)
    return user, token
