"""The fleet as the floor sees it, and the demo's accounts."""

import json

import pytest
from sqlalchemy import text

from dispatch import demo
from dispatch.auth import service
from dispatch.auth.models import Role
from dispatch.config import Environment
from dispatch.setup import SetupError


@pytest.fixture(autouse=True)
async def no_unit_accounts_left(engine):
    """The demo's accounts are committed: its unit accounts go after each test, as the other fixtures that
    commit devices' accounts do, so that a later test can give those units accounts of its own."""
    yield
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE unit_id IS NOT NULL)")
        )
        await conn.execute(text("DELETE FROM users WHERE unit_id IS NOT NULL"))


async def test_units_and_stations_are_listed_with_positions(client, auth, imported_map):
    headers = await auth(Role.dispatcher)
    units = (await client.get("/api/units", headers=headers)).json()
    assert len(units) == imported_map.counts["units"]
    assert all(u["status"] == "available" and u["home_station"] for u in units)
    assert all(47.0 < u["lat"] < 47.3 and 9.4 < u["lon"] < 9.7 for u in units)
    stations = (await client.get("/api/stations", headers=headers)).json()
    assert sum(s["kind"] == "fire" for s in stations) == imported_map.counts["stations_fire"]


@pytest.mark.slow
def test_demo_prepare_is_idempotent_with_stable_tokens(settings, imported_map, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "TOKENS_FILE", tmp_path / "tokens.json")
    first = demo.prepare(settings, base_url="http://127.0.0.1:8000")
    second = demo.prepare(settings, base_url="http://127.0.0.1:8000")
    assert first == second
    assert set(first["people"]) == {"calltaker", "dispatcher", "commander", "admin", "sim-calltaker", "sim-dispatcher"}
    assert len(first["units"]) == imported_map.counts["units"]
    written = json.loads((tmp_path / "tokens.json").read_text())
    # One unit is kept for a person on the crew's device app; the simulated crews leave it alone.
    [(crew, token)] = written["crew"].items()
    assert crew == demo.crew_unit(first) and token == first["units"][crew]
    # The crew app's token is printed whole on a line of its own, to be copied (a narrow terminal cut it).
    printed = capsys.readouterr().out
    assert "/unit/" in printed and any(line.strip() == token for line in printed.splitlines()), printed


async def test_demo_tokens_authenticate_with_their_roles(settings, imported_map, session, monkeypatch, tmp_path):
    monkeypatch.setattr(demo, "TOKENS_FILE", tmp_path / "tokens.json")
    tokens = await demo.ensure_demo_accounts(settings)
    who = await service.authenticate(
        session, token=tokens["people"]["commander"], secret_key=settings.secret_key, allow_demo=True
    )
    assert who.role == Role.commander
    unit = await service.authenticate(
        session, token=tokens["units"]["Engine 1"], secret_key=settings.secret_key, allow_demo=True
    )
    assert unit.role == Role.unit and unit.unit_id is not None


def test_demo_refuses_production(settings):
    with pytest.raises(SetupError, match="DISPATCH_ENV=dev"):
        demo.prepare(settings.model_copy(update={"env": Environment.production}), base_url="http://x")
