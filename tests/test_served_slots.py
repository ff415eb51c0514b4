"""A plan slot filled by a unit that reached the scene is served, even after that unit cleared: the
recommendations, a dispatcher's assignment, the matcher, the open list's units_missing and the queue all say so
(one rule, incident_slots_served). Only a slot never reached and not held now is missing.

Committed for real, as the matcher opens its own sessions (see tests/test_matching_flow.py)."""

from sqlalchemy import text

from dispatch.db import make_sessionmaker
from dispatch.incidents import repository as repo
from tests.test_matching_flow import FIRE, call, floor, live  # noqa: F401 - floor is a fixture

VEHICLE_FIRE = {**FIRE, "type_code": "FIRE-VEH", "caller_number": "+423 790 00 77"}  # engine + police


async def _sent(engine, incident_id: int) -> dict[str, int]:
    """slot -> unit of each assignment on the incident, oldest first (a later one of a slot wins)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT slot, unit_id FROM assignments WHERE incident_id = :i ORDER BY id"), {"i": incident_id}
        )
        return {r[0]: r[1] for r in rows}


async def _report(client, headers, unit_id: int, *statuses: str) -> None:
    for status in statuses:
        answer = await client.post(
            f"/api/units/{unit_id}/status",
            headers=headers,
            json={"status": status, "reason": "as the crew said by radio"},
        )
        assert answer.status_code == 200, answer.text


async def _listed(engine, incident_id: int) -> dict:
    async with make_sessionmaker(engine)() as session:
        return next(i for i in await repo.open_incidents(session) if i["id"] == incident_id)


async def test_units_that_reached_the_scene_and_cleared_leave_no_slot_missing(
    settings,
    engine,
    floor,  # noqa: F811 - the fixture
):
    app, client = await live(settings)
    dispatcher = floor["dispatcher"]
    async with app.router.lifespan_context(app), client:
        services = app.state.services
        incident_id = await call(client, floor["taker"], VEHICLE_FIRE)
        assert await services.matcher.run_once()
        first = await _sent(engine, incident_id)
        assert set(first) == {"engine", "police"}

        # The engine arrives and clears; the police car turns back before it got there: only police is missing.
        await _report(client, dispatcher, first["engine"], "acknowledged", "en_route", "on_scene", "available")
        await _report(client, dispatcher, first["police"], "acknowledged", "available")
        advice = (await client.get(f"/api/incidents/{incident_id}/recommendations", headers=dispatcher)).json()
        assert advice["served"] == {"engine": 1} and advice["assigned"] == {}
        assert {p["capability"] for p in advice["picks"]} == {"police"}
        listed = await _listed(engine, incident_id)
        assert listed["units_missing"] == 1 and listed["cleared_at"] is not None
        assert await services.queue.position(incident_id) is not None

        # The matcher fills that one slot, and no engine.
        assert await services.matcher.run_once()
        second = await _sent(engine, incident_id)
        async with engine.connect() as conn:
            active = await conn.execute(
                text("SELECT slot FROM assignments WHERE incident_id = :i AND status = 'assigned'"), {"i": incident_id}
            )
            assert list(active.scalars()) == ["police"]
        await _report(client, dispatcher, second["police"], "acknowledged", "en_route", "on_scene", "available")

        # Both slots were reached and both units cleared: nothing is missing anywhere.
        advice = (await client.get(f"/api/incidents/{incident_id}/recommendations", headers=dispatcher)).json()
        assert advice["served"] == {"engine": 1, "police": 1}
        assert advice["complete"] and advice["picks"] == [] and advice["unfilled"] == []
        assert (await _listed(engine, incident_id))["units_missing"] == 0
        assert await services.queue.position(incident_id) is None
        queue = (await client.get("/api/queue", headers=dispatcher)).json()
        assert incident_id not in [i["id"] for i in queue["items"]]

        # A dispatcher may still send the engine again: an extra unit, and nothing is said to be missing.
        again = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=dispatcher, json={"unit_ids": [first["engine"]]}
        )
        assert again.status_code == 200, again.text
        assert again.json()["units_missing"] == 0
        assert (await _listed(engine, incident_id))["units_missing"] == 0
        assert await services.queue.position(incident_id) is None
        assert not await services.matcher.run_once()  # nothing waits: no second police car goes
        async with engine.connect() as conn:
            slots = (
                await conn.execute(
                    text("SELECT slot FROM assignments WHERE incident_id = :i ORDER BY slot"), {"i": incident_id}
                )
            ).scalars()
            assert list(slots) == ["engine", "extra", "police", "police"]

        # Stood down before it arrived, the extra engine leaves no gap either.
        await _report(client, dispatcher, first["engine"], "available")
        assert (await _listed(engine, incident_id))["units_missing"] == 0
        assert await services.queue.position(incident_id) is None
