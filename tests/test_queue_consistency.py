"""The open list and the queue agree on what waits: an incident whose only unit never acknowledged (the escalation
sets it out of service) or was diverted is pending again and in the queue, not "dispatched, 0 units, 1 short"
beside an empty queue; and each queue item says whether it waits for the matcher, for units or for a dispatcher."""

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.incidents import repository as repo
from dispatch.matching.core import Pick, Slot
from dispatch.matching.service import write_dispatch
from tests.builders import free_everything, make_unit, make_user_with_token
from tests.test_incident_lifecycle import assert_log_rebuilds_row
from tests.test_intake import FIRE, post_call
from tests.test_matching_flow import call, live

ONE_ENGINE = {**FIRE, "type_code": "FIRE-OTHER"}  # priority 3, one engine


@pytest.fixture
async def floor(settings, engine, imported_map, redis):
    """Committed accounts (the matcher and the watcher open sessions of their own); units and incidents reset."""
    await free_everything(engine)
    async with make_sessionmaker(engine)() as session:
        headers = {}
        for role in (Role.call_taker, Role.dispatcher):
            _, token = await make_user_with_token(session, settings, role=role)
            headers[role.value] = {"Authorization": f"Bearer {token}"}
        await session.commit()
    yield headers
    await free_everything(engine)


async def listed(client, headers, incident_id: int) -> tuple[dict, dict | None]:
    """The incident as GET /api/incidents shows it, and as GET /api/queue does (None: not in the queue)."""
    open_list = (await client.get("/api/incidents", headers=headers)).json()
    queue = (await client.get("/api/queue", headers=headers)).json()["items"]
    return next(i for i in open_list if i["id"] == incident_id), next(
        (q for q in queue if q["id"] == incident_id), None
    )


async def test_an_escalated_assignment_puts_its_incident_back_in_the_queue_as_pending(settings, engine, floor):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        services, dispatcher = app.state.services, floor["dispatcher"]
        incident_id = await call(client, floor["call_taker"], ONE_ENGINE)
        assert await services.matcher.run_once()
        async with engine.connect() as conn:
            assignment_id, unit_id = (
                await conn.execute(
                    text("SELECT id, unit_id FROM assignments WHERE incident_id = :i AND status = 'assigned'"),
                    {"i": incident_id},
                )
            ).one()
        shown, queued = await listed(client, dispatcher, incident_id)
        assert (shown["status"], shown["units"], queued) == ("dispatched", [unit_id], None)

        # The crew never acknowledges: past the second deadline the watcher escalates, as in production.
        work = {"assignment_id": assignment_id, "incident_id": incident_id}
        await services.ack_watcher.escalate(unit_id, f"assignment-{assignment_id}", work)

        shown, queued = await listed(client, dispatcher, incident_id)
        # Both lists say the same: it waits for units (the console shows a queue item whose status is pending).
        assert (shown["status"], shown["units"], shown["units_missing"]) == ("pending", [], 1)
        assert queued is not None and queued["status"] == "pending" and queued["waiting_for"] == "matcher"
        assert (await services.board.get(unit_id)).status == "out_of_service"
        async with make_sessionmaker(engine)() as session:
            assert [e["kind"] for e in await repo.events(session, incident_id)][-2:] == ["unassigned", "queued"]
            await assert_log_rebuilds_row(session, incident_id)
        # The matcher sends the next unit; the incident leaves the queue again.
        assert await services.matcher.run_once()
        shown, queued = await listed(client, dispatcher, incident_id)
        assert shown["status"] == "dispatched" and len(shown["units"]) == 1 and shown["units"] != [unit_id]
        assert shown["units_missing"] == 0 and queued is None


async def test_an_incident_that_loses_its_only_unit_to_a_diversion_is_pending_again(client, auth, session, redis):
    taker = await auth(Role.call_taker)
    taken = await post_call(client, taker, ONE_ENGINE)
    assert taken.status_code == 201, taken.text
    lesser, unit = taken.json()["id"], await make_unit(session)
    plan = (Slot("engine", 1),)
    await write_dispatch(
        session,
        incident_id=lesser,
        picks=[Pick("engine", unit, "E", 60.0, 500.0, "nearest")],
        plan=plan,
        actor="t",
        mode="auto",
    )
    urgent = (await post_call(client, taker, {**FIRE, "caller_number": "+423 791 22 22"})).json()["id"]
    diverted = await write_dispatch(
        session,
        incident_id=urgent,
        picks=[Pick("engine", unit, "E", 60.0, 500.0, "diverted", lesser)],
        plan=(Slot("engine", 2),),
        actor="t",
        mode="auto",
    )
    assert [d["id"] for d in diverted.diverted_from] == [lesser]  # the caller queues it again
    row = next(i for i in await repo.open_incidents(session) if i["id"] == lesser)
    assert (row["status"], row["units"], row["units_missing"]) == ("pending", [], 1)
    assert lesser in [i for i, _, _ in await repo.pending_for_queue(session)]
    await assert_log_rebuilds_row(session, lesser)


async def test_the_queue_says_what_each_incident_waits_for(settings, engine, floor):
    # Priority 3 is only recommended for here: the matcher holds it while a dispatcher decides.
    app, client = await live(settings, auto_dispatch_priorities=[1, 2])
    async with app.router.lifespan_context(app), client:
        services, dispatcher = app.state.services, floor["dispatcher"]
        advised = await call(client, floor["call_taker"], ONE_ENGINE)
        assert await services.matcher.run_once()
        _, item = await listed(client, dispatcher, advised)
        assert item is not None and item["leased_by"] is not None and item["waiting_for"] == "dispatcher"

        urgent = await call(client, floor["call_taker"], {**FIRE, "caller_number": "+423 791 33 33"})
        _, item = await listed(client, dispatcher, urgent)
        assert item is not None and item["leased_by"] is None and item["waiting_for"] == "matcher"
        # A matcher takes it and finds no free unit: it parks it, waiting for one to come free.
        lease = await services.queue.lease("test-matcher", lease_s=30)
        assert lease is not None and lease.incident_id == urgent
        _, item = await listed(client, dispatcher, urgent)
        assert item["leased_by"] == "test-matcher" and item["waiting_for"] == "matcher"
        assert await services.queue.park(urgent, "test-matcher", 30)
        _, item = await listed(client, dispatcher, urgent)
        assert item["waiting_for"] == "units"
        _, item = await listed(client, dispatcher, advised)
        assert item["waiting_for"] == "dispatcher"
