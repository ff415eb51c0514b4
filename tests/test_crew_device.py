"""What a crew's device reads over HTTP: its own unit's route and jobs, the incidents it is sent to (only the
caller's name and callback number and the place's flags, no history), nothing of another unit's."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents.crew import day_start
from tests.builders import make_assignment, make_incident


async def two_units(session) -> tuple[int, int]:
    rows = (await session.execute(text("SELECT id FROM units ORDER BY id LIMIT 2"))).scalars().all()
    return rows[0], rows[1]


async def call_sign(session, unit_id: int) -> str:
    return await session.scalar(text("SELECT call_sign FROM units WHERE id = :u"), {"u": unit_id})


async def test_a_unit_reads_its_own_route_and_not_another_units(client, session, auth, imported_map):
    mine, other = await two_units(session)
    crew = await auth(Role.unit, unit_call_sign=await call_sign(session, mine))
    assert (await client.get(f"/api/units/{other}/route", headers=crew)).status_code == 403
    own = await client.get(f"/api/units/{mine}/route", headers=crew)
    assert own.status_code == 200, own.text
    assert own.json()["unit_id"] == mine


async def test_a_unit_reads_only_the_incidents_it_is_sent_to_and_no_history(client, session, auth, imported_map):
    mine, other = await two_units(session)
    crew = await auth(Role.unit, unit_call_sign=await call_sign(session, mine))
    now = datetime.now(UTC)
    ours = await make_incident(session, received_at=now, status="dispatched", callback_number="+4231234567")
    await make_assignment(session, incident_id=ours, unit_id=mine, slot="engine", assigned_at=now, status="en_route")
    theirs = await make_incident(session, received_at=now, status="dispatched", callback_number="+4237654321")
    await make_assignment(session, incident_id=theirs, unit_id=other, slot="engine", assigned_at=now, status="en_route")
    long_ago = now - timedelta(days=3)
    old = await make_incident(session, received_at=long_ago, status="closed")
    await make_assignment(session, incident_id=old, unit_id=mine, slot="engine", assigned_at=long_ago)
    audited = "SELECT count(*) FROM audit_records WHERE action = 'incident.read' AND object_id = :i"
    before = await session.scalar(text(audited), {"i": str(ours)})

    assert (await client.get(f"/api/incidents/{theirs}", headers=crew)).status_code == 403
    assert (await client.get(f"/api/incidents/{old}", headers=crew)).status_code == 403  # not today's nor yesterday's
    got = await client.get(f"/api/incidents/{ours}", headers=crew)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["id"] == ours and body["caller"] == {"caller_name": None, "callback_number": "+4231234567"}
    assert "history" not in body and "events" not in body and "caller_number" not in body["caller"]
    assert isinstance(body["premise_flags"], list)
    assert await session.scalar(text(audited), {"i": str(ours)}) == before + 1
    # The floor still gets the whole view.
    floor = (await client.get(f"/api/incidents/{ours}", headers=await auth(Role.dispatcher))).json()
    assert "history" in floor and "events" in floor


async def test_a_crew_lists_its_jobs_of_today_and_yesterday(client, session, auth, settings, imported_map):
    mine, other = await two_units(session)
    crew = await auth(Role.unit, unit_call_sign=await call_sign(session, mine))
    today = day_start(settings.report_time_zone)
    at = [today + timedelta(hours=1), today - timedelta(hours=20), today - timedelta(days=1, hours=1)]
    jobs = []
    for when in at:
        incident = await make_incident(session, received_at=when, status="closed", type_code="CARDIAC")
        await session.execute(
            text("UPDATE incidents SET disposition = 'treated', address_label = 'Städtle 1' WHERE id = :i"),
            {"i": incident},
        )
        jobs.append(
            await make_assignment(
                session, incident_id=incident, unit_id=mine, slot="engine", assigned_at=when, on_scene_at=when
            )
        )

    listed = await client.get(f"/api/units/{mine}/jobs", headers=crew)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    # Newest first; other tests may have committed jobs of this unit today: these are the ones made here.
    made_here = [j for j in body if j["assignment_id"] in jobs]
    assert [j["assignment_id"] for j in made_here] == jobs[:2]
    first = made_here[0]
    assert first["type_name"] and first["address_label"] == "Städtle 1" and first["disposition"] == "treated"
    assert first["on_scene_at"] is not None and first["status"] == "cleared"
    assert (await client.get(f"/api/units/{other}/jobs", headers=crew)).status_code == 403
    by_dispatcher = await client.get(f"/api/units/{mine}/jobs", headers=await auth(Role.dispatcher))
    assert by_dispatcher.status_code == 200 and len(by_dispatcher.json()) == len(body)
    assert (await client.get(f"/api/units/{mine}/jobs", headers=await auth(Role.call_taker))).status_code == 403
