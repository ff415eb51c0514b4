"""Whatever a client sends to intake, the answer is a status and a message, never a 500."""

import asyncio
import json

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.testclient import TestClient

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.incidents.types import incident_types
from tests.builders import make_user_with_token

pytestmark = pytest.mark.slow
ANSWERS = {201, 404, 409, 422}

texts = st.one_of(
    st.none(),
    st.text(max_size=60),
    st.sampled_from(
        ["Städtle 23, Vaduz", "47.14, 9.52", "'; DROP TABLE calls; --", "<b>x</b>", "\x00\x1f", "9490", ""]
    ),
)
numbers = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["+423 791 11 11", "0791111", "+", "--"]))
floats = st.one_of(
    st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32), st.integers(-200, 200), st.text(max_size=5)
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["phone", "web", "app", "sms", "fax", "", 3]),
        "caller_name": texts,
        "caller_number": numbers,
        "callback_number": numbers,
        "location_text": texts,
        "lat": floats,
        "lon": floats,
        "narrative": texts,
        "type_code": st.one_of(st.none(), st.sampled_from(sorted(incident_types().codes())), st.text(max_size=8)),
        "priority": st.one_of(st.none(), st.integers(-3, 9), st.text(max_size=3)),
        "duplicate_of": st.one_of(st.none(), st.integers(-5, 2**40), st.integers(2**62, 2**64 - 1)),
        "surprise": st.integers(-(2**63), 2**63 - 1),
    },
)


@pytest.fixture(scope="module")
def client(settings, imported_map):
    async def account():
        engine = create_async_engine(settings.async_database_url)
        async with make_sessionmaker(engine)() as session:
            _, token = await make_user_with_token(session, settings, role=Role.call_taker)
            await session.commit()
        await engine.dispose()
        return token

    token = asyncio.run(account())
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    with psycopg.connect(settings.libpq_url) as conn:  # these calls were committed: retire them
        conn.execute(
            text(
                "UPDATE incidents SET status = 'cancelled', closed_at = now() "
                "WHERE status IN ('pending', 'unconfirmed')"
            ).text
        )


def _dumps(body: dict) -> bytes:
    return json.dumps(body).encode()  # the standard library writes integers of any size, as clients may


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_json_body_gets_an_answer_not_a_500(client, body):
    raw = _dumps(body)
    response = client.post("/api/calls", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in ANSWERS, (body, response.text)
    assert response.headers["content-type"] in ("application/json", "application/problem+json")


@hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_an_answer_not_a_500(client, raw):
    response = client.post("/api/calls", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in ANSWERS, (raw, response.text)
