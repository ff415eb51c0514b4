"""`incident.recommended` is told when what the incident lacks changes, not on every pass of the matcher: the
console's "waits: not every unit it needs is free" comes once per change (docs/protocol.md)."""

import asyncio

import orjson
from sqlalchemy import text

from tests.test_matching_flow import FIRE, call, floor, live  # noqa: F401 - floor is a fixture

REASON = "as the crew said by radio"


async def _pass(matcher) -> None:
    """One more pass over the incident, once its lease (recommend_refresh_s) has run out."""
    for _ in range(200):
        if await matcher.run_once():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the matcher never took the incident again")


async def _recommended(pubsub) -> list[dict]:
    """The incident.recommended messages heard so far."""
    heard = []
    while (message := await pubsub.get_message(timeout=0.2)) is not None:
        if message["type"] != "message":
            continue  # the subscription's own confirmation
        body = orjson.loads(message["data"])
        if body["type"] == "incident.recommended":
            heard.append(body)
    return heard


async def _set(client, headers, units: list[int], status: str) -> None:
    for unit in units:
        answer = await client.post(
            f"/api/units/{unit}/status", headers=headers, json={"status": status, "reason": REASON}
        )
        assert answer.status_code == 200, answer.text


async def test_a_wait_is_told_once_and_again_only_when_what_is_missing_changes(
    settings,
    engine,
    floor,  # noqa: F811 - the fixture
    redis,
):
    app, client = await live(settings, auto_dispatch_priorities=[], recommend_refresh_s=0.05)
    async with app.router.lifespan_context(app), client:
        services = app.state.services
        async with engine.connect() as conn:
            ladders = list(
                (await conn.execute(text("SELECT id FROM units WHERE 'ladder' = ANY(capabilities)"))).scalars()
            )
        assert ladders
        await _set(client, floor["dispatcher"], ladders, "out_of_service")
        pubsub = redis.pubsub()
        await pubsub.subscribe(services.keys.events)
        incident_id = await call(client, floor["taker"], FIRE)  # its plan has a ladder

        for _ in range(3):
            await _pass(services.matcher)
        told = await _recommended(pubsub)
        assert len(told) == 1, told
        assert told[0]["incident_id"] == incident_id and told[0]["complete"] is False
        assert told[0]["missing"] == ["ladder"] and told[0]["first"] is True and told[0]["units"]

        # A ladder free again: what it lacks changed, so it is told once more (complete now), not as the first.
        await _set(client, floor["dispatcher"], ladders, "available")
        for _ in range(2):
            await _pass(services.matcher)
        told = await _recommended(pubsub)
        assert [(m["complete"], m["missing"], m["first"]) for m in told] == [(True, [], False)]

        # Dispatched to, then short again: the next wait is told as a first one.
        advice = (await client.get(f"/api/incidents/{incident_id}/recommendations", headers=floor["dispatcher"])).json()
        some = [p["unit_id"] for p in advice["picks"] if p["capability"] != "ladder"]
        taken = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": some}
        )
        assert taken.status_code == 200, taken.text
        await _set(client, floor["dispatcher"], ladders, "out_of_service")
        await _pass(services.matcher)
        told = await _recommended(pubsub)
        assert [(m["missing"], m["first"]) for m in told] == [(["ladder"], True)]
        await pubsub.aclose()
