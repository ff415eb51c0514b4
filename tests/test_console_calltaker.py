"""The call-taker's form in Debian's Chromium (Playwright) against the real service: Enter never throws a call
away (it moves on, or takes a complete call), leaving a started call asks first with "No" as the default, a call
without a chosen type goes out without type_code and gets the server's keyword type (shown before it is taken),
the type is searched by name or code from the keyboard; and POST /api/calls/classify behind it."""

import orjson
import pytest

from dispatch.auth.models import Role
from dispatch.incidents.types import incident_types

PLACE = "Städtle 23, Vaduz"
NARRATIVE = "Man fell down the stairs"


@pytest.mark.slow  # the call taken alongside needs the bundled map
async def test_classify_answers_the_type_intake_would_give(client, auth, imported_map):
    taker = await auth(Role.call_taker)
    expected, _ = incident_types().suggest(NARRATIVE)
    found = await client.post("/api/calls/classify", headers=taker, json={"narrative": NARRATIVE})
    assert found.status_code == 200
    body = found.json()
    assert (body["type_code"], body["name"], body["priority"]) == (expected.code, expected.name, expected.priority)
    assert body["plan"] == expected.plan_dict() and body["matched"] and 0 < body["confidence"] <= 1
    made = await client.post("/api/calls", headers=taker, json={"location_text": PLACE, "narrative": NARRATIVE})
    assert made.status_code == 201 and made.json()["type_code"] == body["type_code"]  # the same rule

    nothing = await client.post("/api/calls/classify", headers=taker, json={"narrative": "   "})
    assert nothing.status_code == 200
    assert nothing.json()["type_code"] == incident_types().unknown.code and nothing.json()["confidence"] == 0
    for bad in ({}, {"narrative": 5}, {"narrative": NARRATIVE, "type_code": "FIRE"}, {"narrative": "x" * 4001}):
        refused = await client.post("/api/calls/classify", headers=taker, json=bad)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    bad_json = await client.post("/api/calls/classify", headers=taker, content=b"{")
    assert bad_json.status_code == 422
    commander = await auth(Role.commander)  # watches the floor, takes no calls
    assert (
        await client.post("/api/calls/classify", headers=commander, json={"narrative": NARRATIVE})
    ).status_code == 403
    assert orjson.loads((await client.post("/api/calls/classify", json={})).content)["status"] == 401
