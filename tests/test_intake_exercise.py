"""Exercise calls: taken as any other through POST /api/calls, kept with the incident, shown on it, in the queue
and in the crews' brief; never matched to, attached to or merged with a real incident, nor the reverse. The live
simulation sends nothing else."""

import random
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from dispatch.audit.service import Actor
from dispatch.auth.models import Role
from dispatch.push import messages
from dispatch.reports import feedback
from simulator.calls import Call
from simulator.live import call_body
from tests.test_intake import FIRE, post_call

DRILL = {**FIRE, "exercise": True}


@pytest.fixture
async def taker(auth, imported_map):
    return await auth(Role.call_taker)


@pytest.mark.parametrize("exercise", [True, False])
async def test_the_flag_goes_in_and_comes_back_everywhere(client, taker, auth, session, exercise):
    taken = await post_call(client, taker, {**FIRE, "exercise": exercise})
    assert taken.status_code == 201, taken.text
    body = taken.json()
    assert body["exercise"] is exercise
    stored = await session.scalar(text("SELECT exercise FROM incidents WHERE id = :i"), {"i": body["id"]})
    assert stored is exercise
    assert (await client.get(f"/api/incidents/{body['id']}", headers=taker)).json()["exercise"] is exercise
    dispatcher = await auth(Role.dispatcher)
    queue = (await client.get("/api/queue", headers=dispatcher)).json()["items"]
    assert next(i for i in queue if i["id"] == body["id"])["exercise"] is exercise
    assert (await messages.brief(session, body["id"]))["exercise"] is exercise


async def test_a_call_without_the_flag_is_real_and_a_bad_flag_is_refused(client, taker):
    assert (await post_call(client, taker, FIRE)).json()["exercise"] is False
    refused = await post_call(client, taker, {**FIRE, "exercise": "yes"})
    assert refused.status_code == 422 and "exercise" in refused.text


async def test_duplicates_never_cross_the_flag(client, taker):
    real = (await post_call(client, taker, {**FIRE, "caller_number": "+423 700 10 10"})).json()
    drill = (await post_call(client, taker, {**DRILL, "caller_number": "+423 700 10 10"})).json()
    # Same place, same type, same number: each sees only its own kind as a duplicate.
    assert real["id"] not in [d["id"] for d in drill["duplicates"]]
    again_drill = (await post_call(client, taker, DRILL)).json()
    assert drill["id"] in [d["id"] for d in again_drill["duplicates"]]
    assert real["id"] not in [d["id"] for d in again_drill["duplicates"]]
    again_real = (await post_call(client, taker, FIRE)).json()
    assert real["id"] in [d["id"] for d in again_real["duplicates"]]
    assert drill["id"] not in [d["id"] for d in again_real["duplicates"]] + [
        d["id"] for d in (await client.get(f"/api/incidents/{real['id']}", headers=taker)).json()["duplicates"]
    ]
    checked = await client.post("/api/calls/check", json=DRILL, headers=taker)
    assert checked.status_code == 200 and real["id"] not in [d["id"] for d in checked.json()["duplicates"]]
    # Attaching across the flag is refused, either way; within it, the call joins and the incident keeps its flag.
    into_real = await post_call(client, taker, {**DRILL, "duplicate_of": real["id"]})
    assert into_real.status_code == 409 and "exercise" in into_real.json()["detail"]
    into_drill = await post_call(client, taker, {**FIRE, "duplicate_of": drill["id"]})
    assert into_drill.status_code == 409
    joined = await post_call(client, taker, {**DRILL, "duplicate_of": drill["id"]})
    assert joined.status_code == 201 and joined.json()["attached_to"] == drill["id"] and joined.json()["exercise"]


async def test_a_drill_and_a_real_incident_are_never_merged(client, taker, auth):
    real = (await post_call(client, taker, FIRE)).json()["id"]
    drill = (await post_call(client, taker, DRILL)).json()["id"]
    dispatcher = await auth(Role.dispatcher)
    merged = await client.post(f"/api/incidents/{drill}/merge", json={"into": real}, headers=dispatcher)
    assert merged.status_code == 409, merged.text


def test_the_live_simulation_posts_exercise_calls_only():
    world = SimpleNamespace(address_text=["Städtle 20, Vaduz", None])
    rng = random.Random(1)
    for address in (0, 1):
        call = Call(
            id=1,
            t=0.0,
            lat=47.14,
            lon=9.52,
            area="Vaduz",
            type_code="FALL",
            priority=2,
            plan=(),
            transport=True,
            processing_s=60.0,
            scene_s=600.0,
            handover_s=600.0,
            ack_s=(),
            turnout_s=(),
            address=address,
        )
        body = call_body(call, world=world, rng=rng)
        assert body["exercise"] is True
        assert body["type_code"] == "FALL" and (body["lat"], body["lon"]) == (47.14, 9.52)
        assert body.get("location_text") == world.address_text[address]


async def test_no_feedback_link_is_offered_for_an_exercise(client, taker, session, settings):
    drill = (await post_call(client, taker, DRILL)).json()["id"]
    real = (await post_call(client, taker, FIRE)).json()["id"]
    by = Actor.system("tests")
    assert await feedback.offer(session, drill, settings=settings, by=by) is None
    assert (await feedback.offer(session, real, settings=settings, by=by))["to"] == "+4237911111"
