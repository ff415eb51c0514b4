"""/api/geocode and /api/reverse: who may ask, what bad input gets, and the index following new imports."""

import orjson
import pytest
from typer.testing import CliRunner

from dispatch.auth.models import Role
from dispatch.cli import app as cli
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.geocoding.service import GeocoderHolder
from dispatch.setup import load_map_with_fleet


@pytest.fixture
async def call_taker(auth, imported_map):
    return await auth(Role.call_taker)


async def test_geocode_answers_call_takers_with_ranked_candidates(client, call_taker):
    response = await client.get("/api/geocode", params={"q": "Feuerwehr Vaduz", "limit": 3}, headers=call_taker)
    assert response.status_code == 200
    body = response.json()
    assert body["match"] == "poi" and body["confidence"] >= 0.9
    assert 1 <= len(body["candidates"]) <= 3
    assert body["candidates"][0]["label"] == body["label"]


async def test_geocode_is_for_the_floor_only(client, auth, imported_map):
    unit = await auth(Role.unit, unit_call_sign="Engine 2")
    assert (await client.get("/api/geocode", params={"q": "Vaduz"}, headers=unit)).status_code == 403
    commander = await auth(Role.commander)
    assert (await client.get("/api/reverse", params={"lat": 47.14, "lon": 9.52}, headers=commander)).status_code == 403


@pytest.mark.parametrize(
    "params,status",
    [
        ({"q": ""}, 422),
        ({"q": "a" * 10_000}, 422),
        ({}, 422),
        ({"q": "Vaduz", "limit": 0}, 422),
        ({"q": "Vaduz", "limit": "many"}, 422),
        ({"q": "\x00\x01\x02"}, 200),
        ({"q": ";;;,,,///"}, 200),
        ({"q": "'; DROP TABLE addresses; --"}, 200),
        ({"q": "<script>alert(1)</script>"}, 200),
    ],
)
async def test_bad_input_is_422_or_none_never_500(client, call_taker, params, status):
    response = await client.get("/api/geocode", params=params, headers=call_taker)
    assert response.status_code == status
    if status == 200:
        assert response.json()["match"] == "none" or response.json()["confidence"] < 0.5
    else:
        assert response.headers["content-type"] == "application/problem+json"


async def test_reverse(client, call_taker):
    response = await client.get("/api/reverse", params={"lat": 47.1410, "lon": 9.5215}, headers=call_taker)
    assert response.status_code == 200
    assert response.json()["match"] in ("address", "street") and response.json()["in_service_area"]
    bad = await client.get("/api/reverse", params={"lat": 123, "lon": 9.5}, headers=call_taker)
    assert bad.status_code == 422


@pytest.mark.slow
async def test_the_index_is_rebuilt_after_a_new_import(settings, engine, imported_map):
    holder = GeocoderHolder(settings.libpq_url, engine)
    assert await holder.refresh() is True
    first = holder.map_id
    assert await holder.refresh() is False  # nothing new
    load_map_with_fleet(BUNDLED_MAP, settings.libpq_url)
    assert await holder.refresh() is True
    assert holder.map_id > first


def test_cli_batch_keeps_the_order_of_its_input(settings, imported_map, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    queries = ["Feuerwehr Vaduz", "47.14, 9.52", "asdf qwer", "Landstrasse / Sankt Markusgasse"]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(orjson.dumps({"q": q}).decode() + "\n" for q in queries))
    try:
        result = CliRunner().invoke(cli, ["geocode", "--batch", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert [line["q"] for line in lines] == queries
    assert [line["match"] for line in lines] == ["poi", "coordinates", "none", "intersection"]
    assert set(lines[0]) == {"q", "match", "lat", "lon", "label", "confidence", "candidates"}
