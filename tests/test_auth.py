"""Every route declares who may call it; tokens are bearer secrets kept only as hashes."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from dispatch.auth import service
from dispatch.auth.models import ApiToken, Role
from dispatch.errors import Conflict, InvalidInput, NotFound
from tests.builders import make_user_with_token

OPEN_PATHS = {"/healthz", "/readyz", "/public/response-times", "/public/feedback/{token}"}


def api_get_paths(app) -> list[str]:
    return [path for path, ops in app.openapi()["paths"].items() if "get" in ops and path not in OPEN_PATHS]


async def test_every_api_route_refuses_a_request_without_a_token(app, client):
    paths = api_get_paths(app)
    assert "/api/units" in paths and "/api/users" in paths
    for path in paths:
        response = await client.get(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["type"] == "/problems/not_authenticated"


async def test_an_unknown_token_is_401(client):
    response = await client.get("/api/me", headers={"Authorization": "Bearer dsp_made_up"})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown token"


async def test_the_wrong_role_is_403_and_the_right_one_200(client, auth):
    call_taker = await auth(Role.call_taker)
    response = await client.get("/api/users", headers=call_taker)
    assert response.status_code == 403
    assert "call_taker" in response.json()["detail"]
    assert (await client.get("/api/units", headers=call_taker)).status_code == 200
    admin = await auth(Role.admin)
    assert (await client.get("/api/users", headers=admin)).status_code == 200


async def test_a_unit_device_may_not_read_the_fleet(client, auth, session, imported_map):
    unit = await auth(Role.unit, unit_call_sign="Engine 1")
    me = await client.get("/api/me", headers=unit)
    assert me.status_code == 200
    assert me.json()["role"] == "unit" and me.json()["unit_id"] is not None
    assert (await client.get("/api/units", headers=unit)).status_code == 403


async def test_revoked_and_expired_tokens_are_401(client, session, settings):
    user, token = await make_user_with_token(session, settings, role=Role.dispatcher)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/me", headers=headers)).status_code == 200
    await service.revoke_tokens(session, username=user.username)
    response = await client.get("/api/me", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]

    _, old = await make_user_with_token(session, settings, role=Role.dispatcher, valid_for=timedelta(seconds=-1))
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401 and "expired" in response.json()["detail"]


async def test_tokens_are_stored_only_as_hashes(session, settings):
    _, token = await make_user_with_token(session, settings, role=Role.commander)
    stored = (await session.scalars(select(ApiToken.token_hash))).all()
    assert token not in stored
    dump = await session.scalar(text("SELECT string_agg(api_tokens::text, ' ') FROM api_tokens"))
    assert token not in dump


async def test_unit_accounts_are_bound_to_exactly_one_unit(session, settings, imported_map):
    with pytest.raises(InvalidInput, match="must name its unit"):
        await service.create_user(session, username="u1", role=Role.unit)
    with pytest.raises(NotFound, match="no unit"):
        await service.create_user(session, username="u2", role=Role.unit, unit_call_sign="Engine 999")
    with pytest.raises(InvalidInput, match="only accounts with the role 'unit'"):
        await service.create_user(session, username="u3", role=Role.dispatcher, unit_call_sign="Engine 1")
    await service.create_user(session, username="u4", role=Role.unit, unit_call_sign="Medic 1")
    with pytest.raises(Conflict, match="already has an account"):
        await service.create_user(session, username="u5", role=Role.unit, unit_call_sign="Medic 1")


async def test_usernames_are_checked(session):
    with pytest.raises(InvalidInput):
        await service.create_user(session, username="no spaces allowed", role=Role.dispatcher)
    await service.create_user(session, username="taken", role=Role.dispatcher)
    with pytest.raises(Conflict):
        await service.create_user(session, username="taken", role=Role.dispatcher)
