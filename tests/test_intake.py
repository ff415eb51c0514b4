"""POST /api/calls: located, typed, never lost, never doubled; with duplicates, history and flags."""

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.queue.service import IncidentQueue

FIRE = {
    "channel": "phone",
    "caller_name": "A. Caller",
    "caller_number": "+423 791 11 11",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "FIRE-STRUCT",
    "narrative": "Rauch aus dem Dach",
}


@pytest.fixture
async def taker(auth, imported_map):
    return await auth(Role.call_taker)


@pytest.fixture
async def dispatcher(auth, imported_map):
    return await auth(Role.dispatcher)


async def post_call(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return await client.post("/api/calls", json=body, headers={**headers, **extra})


async def test_a_call_becomes_a_located_typed_queued_incident(client, taker, session, redis, settings):
    response = await post_call(client, taker, FIRE)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending" and body["type_code"] == "FIRE-STRUCT" and body["priority"] == 1
    assert body["location"]["match"] == "address" and not body["location"]["needs_location"]
    assert body["location"]["municipality"] == "Vaduz"
    assert {s["capability"] for s in body["response_plan"]} >= {"engine", "ambulance"}
    kinds = (
        (
            await session.execute(
                text("SELECT kind FROM incident_events WHERE incident_id = :i ORDER BY id"), {"i": body["id"]}
            )
        )
        .scalars()
        .all()
    )
    assert kinds == ["received", "queued"]
    assert [e.incident_id for e in await IncidentQueue(redis, prefix=settings.key_prefix).snapshot()] == [body["id"]]


async def test_a_retried_post_makes_one_call(client, taker, session):
    first = await post_call(client, taker, FIRE, key="retry-1")
    again = await post_call(client, taker, FIRE, key="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    calls = await session.scalar(text("SELECT count(*) FROM calls WHERE idempotency_key = 'retry-1'"))
    assert calls == 1
    other = await post_call(client, taker, {**FIRE, "narrative": "something else"}, key="retry-1")
    assert other.status_code == 409


async def test_an_unknown_location_is_accepted_and_flagged(client, taker, redis):
    response = await post_call(client, taker, {**FIRE, "location_text": "somewhere behind the big tree"})
    assert response.status_code == 201
    assert response.json()["location"]["needs_location"] is True
    assert response.json()["status"] == "pending"
    no_location = await post_call(client, taker, {"narrative": "Hilfe!"})
    assert no_location.status_code == 201 and no_location.json()["location"]["match"] == "none"


async def test_device_coordinates_locate_a_call_the_words_do_not(client, taker):
    body = {"channel": "app", "lat": 47.1412, "lon": 9.5215, "location_text": "near the bridge", "type_code": "FALL"}
    located = (await post_call(client, taker, body)).json()["location"]
    assert located["match"] == "coordinates" and located["needs_location"] is False
    assert located["municipality"] == "Vaduz"


async def test_type_from_the_narrative_and_priority_override(client, taker):
    suggested = (
        await post_call(
            client, taker, {"location_text": "Städtle 23, Vaduz", "narrative": "Mein Vater atmet nicht mehr"}
        )
    ).json()
    assert suggested["type_code"] == "CARDIAC" and suggested["type_suggested"] is True
    unknown = await post_call(client, taker, {"location_text": "Städtle 23, Vaduz", "narrative": "bitte kommen"})
    assert unknown.json()["type_code"] == "UNKNOWN"
    override = (await post_call(client, taker, {**FIRE, "type_code": "NOISE", "priority": 2})).json()
    assert override["priority"] == 2
    bad = await post_call(client, taker, {**FIRE, "type_code": "NO-SUCH-TYPE"})
    assert bad.status_code == 422 and "NO-SUCH-TYPE" in bad.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 47.1},
        {"priority": 7},
        {"channel": "pigeon"},
        {"caller_number": "call me maybe"},
        {"narrative": "x" * 5000},
        {"unexpected": 1},
        {"lat": "north"},
        [],
        "just text",
    ],
)
async def test_bad_bodies_are_422(client, taker, body):
    response = await client.post("/api/calls", json=body, headers=taker)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_not_json_is_422(client, taker):
    response = await client.post("/api/calls", content=b"{not json", headers=taker)
    assert response.status_code == 422


async def test_duplicates_nearby_and_by_number(client, taker):
    first = (await post_call(client, taker, FIRE)).json()
    near = (
        await post_call(
            client, taker, {**FIRE, "caller_number": "+423 222 22 22", "location_text": "Städtle 15, Vaduz"}
        )
    ).json()
    assert first["id"] in [d["id"] for d in near["duplicates"]]
    other_kind = (
        await post_call(client, taker, {**FIRE, "caller_number": "+423 333 33 33", "type_code": "THEFT"})
    ).json()
    assert first["id"] not in [d["id"] for d in other_kind["duplicates"]]  # police, not fire: another matter
    same_number = (
        await post_call(client, taker, {**FIRE, "type_code": "THEFT", "location_text": "Landstrasse 100, Triesen"})
    ).json()
    assert first["id"] in [d["id"] for d in same_number["duplicates"]]


async def test_a_confirmed_duplicate_joins_the_incident_instead_of_dispatching(client, taker, session, redis, settings):
    first = (await post_call(client, taker, FIRE)).json()
    joined = await post_call(client, taker, {**FIRE, "caller_number": "+423 444 44 44", "duplicate_of": first["id"]})
    assert joined.status_code == 201
    assert joined.json()["id"] == first["id"] and joined.json()["attached_to"] == first["id"]
    assert await session.scalar(text("SELECT count(*) FROM calls WHERE incident_id = :i"), {"i": first["id"]}) == 2
    assert (await IncidentQueue(redis, prefix=settings.key_prefix).size())[0] == 1


async def test_caller_and_premise_history_and_flags(client, taker, dispatcher):
    flag = await client.post(
        "/api/premise-flags",
        headers=dispatcher,
        json={
            "category": "special_needs",
            "description": "hearing impaired: speak slowly",
            "location_text": "Städtle 23, Vaduz",
        },
    )
    assert flag.status_code == 201, flag.text
    for _ in range(3):
        await post_call(client, taker, FIRE)
    latest = (await post_call(client, taker, FIRE)).json()
    history = latest["history"]
    assert history["caller_calls"] >= 3 and len(history["caller_last"]) >= 3
    assert history["premise_incidents"] >= 3 and history["premise_by_type"]["FIRE-STRUCT"] >= 3
    assert history["repeat_address"] is True
    assert [f["description"] for f in history["flags"]] == ["hearing impaired: speak slowly"]
    retired = await client.delete(f"/api/premise-flags/{flag.json()['id']}", headers=dispatcher)
    assert retired.status_code == 200
    assert (await post_call(client, taker, FIRE)).json()["history"]["flags"] == []


async def test_the_check_tells_how_earlier_calls_ended_and_how_far_a_duplicate_by_number_is(
    client, taker, session, settings
):
    number = "+423 791 55 44"
    far = {"location_text": "Städtle 15, Vaduz", "type_code": "FIRE-OTHER", "caller_number": number}
    earlier = (await post_call(client, taker, far)).json()
    await session.execute(text("UPDATE incidents SET disposition = 'false alarm' WHERE id = :i"), {"i": earlier["id"]})
    seen = await client.post(
        "/api/calls/check",
        headers=taker,
        json={"location_text": "Städtle 23, Vaduz", "type_code": "FALL", "caller_number": number},
    )
    assert seen.status_code == 200, seen.text
    history = seen.json()["history"]
    [last] = [c for c in history["caller_last"] if c["incident_id"] == earlier["id"]]
    assert last["status"] == "pending" and last["disposition"] == "false alarm"
    assert history["history_months"] == settings.history_months
    # FALL and FIRE-OTHER are no duplicates by place; by the caller's number it is, with its distance all the same.
    [duplicate] = seen.json()["duplicates"]
    assert duplicate["id"] == earlier["id"] and 0 < duplicate["distance_m"] < settings.duplicate_radius_m


async def test_intake_is_for_call_takers(client, auth, imported_map):
    unit = await auth(Role.unit, unit_call_sign="Engine 3")
    assert (await post_call(client, unit, FIRE)).status_code == 403
    assert (await client.post("/api/calls", json=FIRE)).status_code == 401


async def test_premise_history_counts_by_type_and_shows_the_last_five(client, taker, session):
    """Incidents within 50 m in the last 12 months, counted by type, the newest five shown; the incident itself
    is not its own history; ≥3 there in 30 days makes a repeat address."""
    lat, lon = 47.0702, 9.5021  # a spot no other test calls to
    history = [("NOISE", 2), ("NOISE", 9), ("FALL", 20), ("NOISE", 40), ("THEFT", 100), ("FALL", 300)]
    for i, (code, days) in enumerate(history):
        await session.execute(
            text("""
            INSERT INTO incidents (type_code, priority, status, location, geocode_match, geocode_confidence,
                                   received_at, entered_at)
            VALUES (:code, 3, 'closed', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 'coordinates', 0.99,
                    now() - make_interval(days => :days), now())"""),
            {"code": code, "lat": lat + i * 0.00005, "lon": lon, "days": days},
        )
    for code, days, dlat in [("NOISE", 1, 0.002), ("NOISE", 400, 0.0)]:  # 220 m away; 13 months ago
        await session.execute(
            text("""
            INSERT INTO incidents (type_code, priority, status, location, geocode_match, geocode_confidence,
                                   received_at, entered_at)
            VALUES (:code, 3, 'closed', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 'coordinates', 0.99,
                    now() - make_interval(days => :days), now())"""),
            {"code": code, "lat": lat + dlat, "lon": lon, "days": days},
        )
    body = {"channel": "phone", "caller_number": "+423 700 00 01", "lat": lat, "lon": lon, "type_code": "NOISE"}
    taken = (await post_call(client, taker, body)).json()
    seen = taken["history"]
    assert seen["premise_incidents"] == 6
    assert seen["premise_by_type"] == {"NOISE": 3, "FALL": 2, "THEFT": 1}
    assert [p["type_code"] for p in seen["premise_last"]] == ["NOISE", "NOISE", "FALL", "NOISE", "THEFT"]
    assert seen["repeat_address"] is True  # 2, 9 and 20 days ago
    again = (await client.get(f"/api/incidents/{taken['id']}", headers=taker)).json()["history"]
    assert again["premise_incidents"] == 6 and again["premise_by_type"] == seen["premise_by_type"]
    assert taken["id"] not in [p["id"] for p in again["premise_last"]]


async def test_a_call_checked_before_it_is_taken_shows_duplicates_and_writes_nothing(client, taker, session):
    first = (await post_call(client, taker, FIRE)).json()
    before = await session.scalar(text("SELECT count(*) FROM incidents"))
    seen = await client.post("/api/calls/check", headers=taker, json={**FIRE, "caller_number": "+423 700 11 22"})
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert first["id"] in [d["id"] for d in body["duplicates"]]
    assert body["location"]["municipality"] == "Vaduz" and body["type_code"] == "FIRE-STRUCT"
    assert await session.scalar(text("SELECT count(*) FROM incidents")) == before
    assert (await client.post("/api/calls/check", headers=taker, json={"lat": 47.1})).status_code == 422
    listed = (await client.get("/api/incidents", headers=taker)).json()
    assert first["id"] in [i["id"] for i in listed] and all(i["status"] != "closed" for i in listed)


async def test_the_map_layers_come_from_our_own_data(client, taker):
    response = await client.get("/api/map", headers={**taker, "Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-encoding"] == "gzip"
    layers = response.json()
    assert layers["attribution"] == "© OpenStreetMap contributors"
    assert len(layers["roads"]["features"]) > 1000 and len(layers["municipalities"]["features"]) == 11
    assert {f["properties"]["kind"] for f in layers["stations"]["features"]} >= {"fire", "police"}
