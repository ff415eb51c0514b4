"""Assignments (by the matcher or a dispatcher) and unit statuses set by hand leave an audit record in the
transaction that writes them; a crew's own status reports are in the incident's event log instead."""

from sqlalchemy import text

from tests.test_matching_flow import NOISE, call, floor, live  # noqa: F401 - floor is a fixture


async def _records(engine, action: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT actor AS actor_name, role AS actor_role, object_id, before, after FROM audit_records "
                "WHERE action = :a"
            ),
            {"a": action},
        )
        return [dict(r._mapping) for r in rows]


async def test_a_manual_assignment_and_a_status_by_hand_are_audited_with_their_dispatcher(
    settings,
    engine,
    floor,  # noqa: F811 - the fixture
):
    app, client = await live(settings, auto_dispatch_priorities=[])
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], NOISE)
        advice = (await client.get(f"/api/incidents/{incident_id}/recommendations", headers=floor["dispatcher"])).json()
        unit_id = advice["picks"][0]["unit_id"]
        taken = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": [unit_id]}
        )
        assert taken.status_code == 200, taken.text
        assigned = [r for r in await _records(engine, "assignment.create") if r["object_id"] == str(incident_id)]
        assert len(assigned) == 1 and assigned[0]["actor_role"] == "dispatcher"
        assert assigned[0]["after"]["mode"] == "manual"
        assert [a["unit_id"] for a in assigned[0]["after"]["assignments"]] == [unit_id]

        stood = await client.post(
            f"/api/units/{unit_id}/status",
            headers=floor["dispatcher"],
            json={"status": "out_of_service", "reason": "pump failure"},
        )
        assert stood.status_code == 200, stood.text
        by_hand = [r for r in await _records(engine, "unit.status") if r["object_id"] == str(unit_id)]
        assert len(by_hand) == 1 and by_hand[0]["actor_role"] == "dispatcher"
        assert by_hand[0]["before"] == {"status": "dispatched"}
        assert by_hand[0]["after"]["status"] == "out_of_service"
        assert by_hand[0]["after"]["reason"] == "pump failure"
