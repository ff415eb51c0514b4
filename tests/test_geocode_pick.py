"""An address picked from GET /api/geocode's suggestions and sent back as the call's location_text is that
suggestion: the same place, at least its confidence, and no `needs_location` (the pick was the confirmation)."""

import math

import pytest

from dispatch.auth.models import Role
from tests.test_intake import FIRE, post_call

# What callers said, whose suggestions include interpolated house numbers, places named like a street, and the
# same place name twice in one municipality: each used to come back flagged.
QUERIES = ["Landstrasse 100 Schaan", "Städtle 23 Vaduz", "Spital Vaduz", "Bahnhof Schaan", "Poststrasse 5 Triesen"]


@pytest.fixture
async def taker(auth, imported_map):
    return await auth(Role.call_taker)


def metres(a: dict, b: dict) -> float:
    dy = (a["lat"] - b["lat"]) * 110_574
    dx = (a["lon"] - b["lon"]) * 111_320 * math.cos(math.radians(a["lat"]))
    return math.hypot(dx, dy)


async def test_a_suggestion_sent_back_is_placed_where_it_was_suggested(client, taker):
    tried = 0
    for query in QUERIES:
        answer = await client.get("/api/geocode", params={"q": query}, headers=taker)
        assert answer.status_code == 200, answer.text
        for candidate in answer.json()["candidates"]:
            taken = await post_call(client, taker, {**FIRE, "location_text": candidate["label"]})
            assert taken.status_code == 201, taken.text
            where = taken.json()["location"]
            said = f"{query!r} → {candidate['label']!r}"
            assert not where["needs_location"], f"{said}: {where}"
            assert (where["label"], where["match"]) == (candidate["label"], candidate["match"]), said
            assert where["confidence"] >= candidate["confidence"], f"{said}: {where}"
            # Two places of one name in one municipality share a label: either is that name, not another place.
            assert metres(where, candidate) < 1500, f"{said}: {where}"
            tried += 1
    assert tried >= 15


async def test_a_callers_own_words_are_still_flagged_when_the_geocoder_only_guesses(client, taker):
    # The same words without the geocoder's comma are what a caller said, not a pick: an interpolated guess.
    taken = await post_call(client, taker, {**FIRE, "location_text": "Landstrasse 100 Schaan"})
    assert taken.status_code == 201, taken.text
    where = taken.json()["location"]
    assert where["match"] == "interpolated" and where["needs_location"]
