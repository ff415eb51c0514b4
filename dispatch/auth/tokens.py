"""Bearer tokens: random, shown once, stored as HMAC-SHA256 under the server secret."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "dsp_"
# Demo tokens are known to anyone who knows the secret (the development one is in the source): they are told
# apart by this prefix, and by their name, and refused in production.
DEMO_PREFIX = TOKEN_PREFIX + "demo_"
DEMO_NAME = "demo"


def new_token() -> str:
    while True:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        if not is_demo_token(token):  # one in a billion random tokens would look like a demo token
            return token


def is_demo_token(token: str) -> bool:
    return token.startswith(DEMO_PREFIX)


def hash_token(token: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def demo_token(username: str, secret_key: str) -> str:
    """A stable token for a demo account, derived from the secret: the demo prints the same one each run.

    Only the demo issues these, and never in production; the service refuses them there.
    """
    digest = hmac.new(secret_key.encode(), f"demo:{username}".encode(), hashlib.sha256).hexdigest()
    return f"{DEMO_PREFIX}{username}_{digest[:24]}"
