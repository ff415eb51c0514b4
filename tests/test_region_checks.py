"""The same checks on the bundled map and on the Helsinki extract: every station reaches its region on the roads,
a simulated busy stretch through the headless simulator serves every call, and the demo's set-up on the second map
(its fleet file, its clock, its languages) gives a service that locates, types and dispatches a call there."""

import asyncio
import json

import numpy as np
import psycopg
import pytest
from httpx import AsyncClient
from typer.testing import CliRunner

from dispatch import demo
from dispatch.cli import app as cli
from dispatch.config import Settings, get_settings
from dispatch.incidents.types import incident_types
from geo.routing import Router
from tests.conftest import HELSINKI_FLEET, HELSINKI_MAP
from tests.test_push import bearer, serve  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow


@pytest.fixture(params=["liechtenstein", "helsinki"])
def region(request, settings, imported_map, helsinki) -> Settings:
    return settings if request.param == "liechtenstein" else helsinki


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_every_station_reaches_nearly_every_address_of_its_region(region):
    stations = _rows(region.libpq_url, "SELECT name, ST_Y(location::geometry), ST_X(location::geometry) FROM stations")
    addresses = _rows(
        region.libpq_url,
        "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses ORDER BY id",
    )[::7]
    router = Router.load(region.libpq_url)
    assert len(stations) >= 4 and len(addresses) > 150
    for name, lat, lon in stations:
        seconds = router.times_from(lat, lon, addresses)
        reached = np.isfinite(seconds)
        assert reached.mean() >= 0.97, f"{name} reaches {reached.mean():.0%} of the addresses"
        assert 0 < np.median(seconds[reached]) < 30 * 60, name


def test_a_busy_stretch_through_the_headless_simulator_serves_every_call(region, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", region.database_url)
    get_settings.cache_clear()
    try:
        ran = CliRunner().invoke(
            cli, ["simulate", "--headless", "--hours", "8", "--load", "busy", "--policies", "default", "--json"]
        )
    finally:
        get_settings.cache_clear()
    assert ran.exit_code == 0, ran.output
    result = json.loads(next(line for line in ran.stdout.splitlines() if line.startswith("{")))
    assert result["calls"] >= 5 and result["unserved"] == 0
    assert 0 < result["all"]["response_s"]["p50"] < 20 * 60


@pytest.fixture
def helsinki_demo(settings, tmp_path, monkeypatch):
    """The demo's set-up on the second map, in a database of its own that the set-up creates."""
    own = settings.model_copy(
        update={
            "database_url": settings.database_url + "_hel_demo",
            "map_path": HELSINKI_MAP,
            "fleet_file": HELSINKI_FLEET,
            "report_time_zone": "Europe/Helsinki",
            "languages": ["fi", "sv", "en"],
        }
    )
    with psycopg.connect(settings.libpq_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{own.database_name}" WITH (FORCE)')
    monkeypatch.setattr(demo, "TOKENS_FILE", tmp_path / "tokens.json")
    # The types' keywords follow the process's settings (the environment), as in a deployment.
    monkeypatch.setenv("DISPATCH_LANGUAGES", "fi,sv,en")
    get_settings.cache_clear()
    incident_types.cache_clear()
    tokens = demo.prepare(own, base_url="http://127.0.0.1:8000")
    yield own, tokens
    monkeypatch.delenv("DISPATCH_LANGUAGES")
    get_settings.cache_clear()
    incident_types.cache_clear()
    with psycopg.connect(settings.libpq_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{own.database_name}" WITH (FORCE)')


async def test_the_demo_on_the_second_map_locates_types_and_dispatches_a_call_there(helsinki_demo, serve):  # noqa: F811
    own, tokens = helsinki_demo
    assert set(tokens["units"]) >= {"Engine 1", "Medic 1", "First Response 1"}
    _, addr = await serve(
        **{k: getattr(own, k) for k in ("database_url", "map_path", "fleet_file", "languages", "report_time_zone")}
    )
    async with AsyncClient(base_url=f"http://{addr}") as client:
        me = (await client.get("/api/me", headers=bearer(tokens["people"]["dispatcher"]))).json()
        assert me["time_zone"] == "Europe/Helsinki"
        created = await client.post(
            "/api/calls",
            headers=bearer(tokens["people"]["calltaker"]),
            json={
                "channel": "phone",
                "location_text": "Mannerheimvägen 5",
                "narrative": "Mies kaatui portaissa, ei pääse ylös",
                "caller_number": "+358401234567",
            },
        )
        assert created.status_code == 201, created.text
        incident = created.json()
        assert incident["type_code"] == "FALL"
        assert incident["location"]["label"].startswith("Mannerheimintie 5")
        assert incident["location"]["in_service_area"] and not incident["location"]["needs_location"]
        dispatcher = bearer(tokens["people"]["dispatcher"])
        for _ in range(100):
            [got] = [
                i for i in (await client.get("/api/incidents", headers=dispatcher)).json() if i["id"] == incident["id"]
            ]
            if got["status"] == "dispatched" and got["units"]:
                break
            await asyncio.sleep(0.1)
        assert got["status"] == "dispatched", got
        call_signs = {u["id"]: u["call_sign"] for u in (await client.get("/api/units", headers=dispatcher)).json()}
        assert {call_signs[u] for u in got["units"]} <= {"Medic 1", "Medic 2"}  # the plan: one ambulance
