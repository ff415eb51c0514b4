"""Users, their roles and their bearer tokens (kept only as keyed hashes)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, ForeignKey, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db import Base, created_at_column


class Role(StrEnum):
    call_taker = "call_taker"
    dispatcher = "dispatcher"
    unit = "unit"
    commander = "commander"
    admin = "admin"
    # The SMS gateway's account: it reads the messages owed to callers and marks them sent, and nothing else.
    # Staff never read the outbox (a caller's feedback link is the caller's to use).
    gateway = "gateway"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, name="role"))
    # A unit's account is bound to exactly one unit: its token can act for that unit only.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), unique=True)
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # HMAC-SHA256 of the token under the server secret: a leaked table does not leak tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Written by `authenticate` at most once a minute per token, in the statement that checks it.
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")
