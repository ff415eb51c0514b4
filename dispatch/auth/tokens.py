"""Bearer tokens: random, shown once, stored as HMAC-SHA256 under the server secret."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "dsp_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def demo_token(username: str, secret_key: str) -> str:
    """A stable token for a demo account, derived from the secret: the demo prints the same one each run.

    Only the demo uses this, and only in dev mode (the CLI refuses it in production).
    """
    digest = hmac.new(secret_key.encode(), f"demo:{username}".encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}demo_{username}_{digest[:24]}"
