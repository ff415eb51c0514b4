"""Loose input refused with a 422 that says why: booleans for numbers, positions far outside the service area,
a call with nothing to act on, a premise flag already expired; bidirectional controls dropped from stored text."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents.schemas import neutral_text
from dispatch.mapbound import OutsideServiceArea, check_position
from dispatch.matching.service import board_units
from tests.builders import make_unit

VADUZ = {"lat": 47.1410, "lon": 9.5209}
FAR = [{"lat": -85.0, "lon": 0.0}, {"lat": 47.14, "lon": 12.5}, {"lat": 48.5, "lon": 9.52}]  # ~230 km, ~150 km
RLO = "\u202e"


@pytest.fixture
async def floor(auth, imported_map):
    return {"taker": await auth(Role.call_taker), "dispatcher": await auth(Role.dispatcher)}


@pytest.mark.parametrize(
    "where", [{"lat": 47.08, "lon": False}, {"lat": True, "lon": 9.52}, {"lat": "47.08", "lon": "9.52"}]
)
async def test_coordinates_are_numbers(client, floor, session, where):
    unit_id = await make_unit(session)
    answers = {
        "call": await client.post("/api/calls", headers=floor["taker"], json={"type_code": "FIRE-OTHER", **where}),
        "position": await client.post(f"/api/units/{unit_id}/position", headers=floor["dispatcher"], json=where),
        "status": await client.post(
            f"/api/units/{unit_id}/status", headers=floor["dispatcher"], json={"status": "out_of_service", **where}
        ),
        "flag": await client.post(
            "/api/premise-flags",
            headers=floor["dispatcher"],
            json={"category": "info", "description": "a test flag", **where},
        ),
        "report": await client.post(
            "/api/public/reports", json={"phone": "+423 600 30 00", "description": "smoke seen", **where}
        ),
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 422)
    assert "number" in answers["position"].json()["detail"]


@pytest.mark.parametrize("where", FAR)
async def test_positions_far_outside_the_service_area_are_refused(client, floor, session, where):
    unit_id = await make_unit(session)
    answers = {
        "call": await client.post("/api/calls", headers=floor["taker"], json={"type_code": "FIRE-OTHER", **where}),
        "check": await client.post(
            "/api/calls/check", headers=floor["taker"], json={"type_code": "FIRE-OTHER", **where}
        ),
        "position": await client.post(f"/api/units/{unit_id}/position", headers=floor["dispatcher"], json=where),
        "status": await client.post(
            f"/api/units/{unit_id}/status", headers=floor["dispatcher"], json={"status": "out_of_service", **where}
        ),
        "flag": await client.post(
            "/api/premise-flags",
            headers=floor["dispatcher"],
            json={"category": "info", "description": "a test flag", **where},
        ),
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 422)
    for response in answers.values():
        assert "outside the service area" in response.json()["detail"], response.text


async def test_a_position_near_the_border_is_kept(client, app, floor, session):
    unit_id = await make_unit(session)
    await app.state.services.board.load(await board_units(session))
    feldkirch = {"lat": 47.2378, "lon": 9.5978}  # Austria, a few km past the border: a hospital run
    assert (
        await client.post(f"/api/units/{unit_id}/position", headers=floor["dispatcher"], json=feldkirch)
    ).status_code == 200
    assert (
        await client.post("/api/calls", headers=floor["taker"], json={"type_code": "FIRE-OTHER", **feldkirch})
    ).status_code == 201


async def test_the_check_for_device_positions(app, imported_map):
    geocoder = app.state.services.geocoder
    check_position(geocoder, **VADUZ)
    with pytest.raises(OutsideServiceArea, match="outside the service area"):
        check_position(geocoder, lat=-85.0, lon=0.0)


@pytest.mark.parametrize(
    "call", [{}, {"caller_number": "+423 600 00 00"}, {"channel": "phone", "priority": 1}, {"narrative": "   "}]
)
async def test_a_call_with_nothing_to_act_on_is_refused(client, floor, call):
    response = await client.post("/api/calls", headers=floor["taker"], json=call)
    assert response.status_code == 422
    assert "nothing to act on" in response.json()["detail"]


async def test_a_premise_flag_that_has_expired_is_refused(client, floor):
    flag = {"category": "hazard", "description": "gas bottles in the garage", **VADUZ}
    past = await client.post(
        "/api/premise-flags",
        headers=floor["dispatcher"],
        json={**flag, "expires_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
    )
    assert past.status_code == 422 and "expires_at" in past.json()["detail"] and "past" in past.json()["detail"]
    naive = await client.post(
        "/api/premise-flags", headers=floor["dispatcher"], json={**flag, "expires_at": "2999-01-01T00:00:00"}
    )
    assert naive.status_code == 422  # a time without a zone is a guess
    future = await client.post(
        "/api/premise-flags",
        headers=floor["dispatcher"],
        json={**flag, "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 201, future.text


async def test_bidirectional_controls_are_not_stored(client, floor, session):
    response = await client.post(
        "/api/calls",
        headers=floor["taker"],
        json={
            "location_text": "Städtle 23, Vaduz",
            "type_code": "FIRE-OTHER",
            "caller_name": f"Anna {RLO}reteP",
            "narrative": f"smoke from the {RLO}egarag\u2066 roof\u2069 \u200fnow",
        },
    )
    assert response.status_code == 201, response.text
    stored = (
        await session.execute(
            text("SELECT caller_name, narrative FROM calls WHERE incident_id = :id"), {"id": response.json()["id"]}
        )
    ).one()
    assert stored.caller_name == "Anna reteP" and stored.narrative == "smoke from the egarag roof now"
    note = await client.post(
        f"/api/incidents/{response.json()['id']}/notes", headers=floor["dispatcher"], json={"text": f"{RLO}gnorw"}
    )
    assert note.status_code == 201
    assert neutral_text("a\u202ab\u202cc\u061cd\u200ee\t\nf") == "abcde\t\nf"
