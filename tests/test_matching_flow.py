"""The matcher on the real services: queue → decision → reservation → assignment, unit status, racing matchers.

These tests commit for real (the matcher opens its own sessions, as in production) and put every unit and
incident back as they found them.
"""

import asyncio
from dataclasses import replace
from functools import partial

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from dispatch.app import create_app
from dispatch.auth.models import Role
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.incidents import repository as repo
from dispatch.incidents.events import replay
from dispatch.matching.core import IncidentIn, Policy, Slot, decide
from dispatch.matching.eta import unit_etas
from dispatch.matching.worker import Matcher
from tests.builders import free_everything, make_user_with_token

FIRE = {
    "channel": "phone",
    "caller_number": "+423 790 00 01",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "FIRE-STRUCT",
    "narrative": "Rauch aus dem Dach",
}
NOISE = {
    "channel": "phone",
    "caller_number": "+423 790 00 02",
    "location_text": "Landstrasse 100, Triesen",
    "type_code": "NOISE",
}


@pytest.fixture
async def floor(settings, engine, imported_map, redis):
    """Committed accounts: a call-taker, a dispatcher and the device of Engine 1."""
    await free_everything(engine)
    async with make_sessionmaker(engine)() as session:
        headers = {}
        for name, role, unit in [
            ("taker", Role.call_taker, None),
            ("dispatcher", Role.dispatcher, None),
            ("engine1", Role.unit, "Engine 1"),
        ]:
            _, token = await make_user_with_token(session, settings, role=role, unit_call_sign=unit)
            headers[name] = {"Authorization": f"Bearer {token}"}
        await session.commit()
    yield headers
    await free_everything(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text("DELETE FROM api_tokens WHERE user_id IN (SELECT id FROM users WHERE unit_id IS NOT NULL)")
        )
        await conn.execute(text("DELETE FROM users WHERE unit_id IS NOT NULL"))


async def live(settings, **changes):
    app = create_app(settings.model_copy(update=changes))
    return app, AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


async def call(client, headers, body) -> int:
    response = await client.post("/api/calls", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_a_priority_one_call_is_dispatched_to_a_unit_for_every_slot(settings, engine, floor):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], FIRE)
        assert await app.state.services.matcher.run_once()
        async with engine.connect() as conn:
            slots = (
                await conn.execute(
                    text(
                        "SELECT a.slot, u.capabilities FROM assignments a JOIN units u ON u.id = a.unit_id "
                        "WHERE a.incident_id = :i AND a.status = 'assigned'"
                    ),
                    {"i": incident_id},
                )
            ).all()
            status = await conn.scalar(text("SELECT status::text FROM incidents WHERE id = :i"), {"i": incident_id})
        plan = {
            s["capability"]: s["count"]
            for s in (await client.get(f"/api/incidents/{incident_id}", headers=floor["taker"])).json()["response_plan"]
        }
        assert sorted(s for s, _ in slots) == sorted(c for c, n in plan.items() for _ in range(n))
        assert all(slot in caps for slot, caps in slots) and status == "dispatched"
        assert (await app.state.services.queue.size()) == (0, 0)
        board = {u.id: u for u in await app.state.services.board.units()}
        assert sum(1 for u in board.values() if u.incident_id == incident_id and u.status == "dispatched") == len(slots)


async def test_unit_reports_move_the_incident_through_its_intervals(settings, engine, floor):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        engine1 = next(u for u in await app.state.services.board.units() if u.call_sign == "Engine 1")
        incident_id = await call(client, floor["taker"], {**FIRE, "type_code": "FIRE-OTHER"})  # one engine
        assert await app.state.services.matcher.run_once()
        assigned = (await client.get(f"/api/incidents/{incident_id}/events", headers=floor["taker"])).json()
        units = [e["payload"]["unit_id"] for e in assigned if e["kind"] == "dispatched"]
        assert units, "the matcher dispatched nothing"
        unit_id = units[0]
        dispatcher = floor["dispatcher"]
        for status in ("acknowledged", "en_route", "on_scene", "available"):
            response = await client.post(f"/api/units/{unit_id}/status", headers=dispatcher, json={"status": status})
            assert response.status_code == 200, response.text
        # A unit's own device may not report for another unit, nor a status about an assignment it does not name.
        other = next(u.id for u in await app.state.services.board.units() if u.id != engine1.id)
        assert (
            await client.post(f"/api/units/{other}/status", headers=floor["engine1"], json={"status": "available"})
        ).status_code == 403
        unnamed = await client.post(
            f"/api/units/{engine1.id}/status", headers=floor["engine1"], json={"status": "on_scene"}
        )
        assert unnamed.status_code == 422 and "assignment_id" in unnamed.json()["detail"]
        async with make_sessionmaker(engine)() as session:
            row = await repo.incident_row(session, incident_id)
            events = await repo.events(session, incident_id)
        state = replay([(e["kind"], e["at"], e["payload"]) for e in events])
        for column in ("dispatched_at", "acknowledged_at", "en_route_at", "on_scene_at"):
            assert row[column] is not None and getattr(state, column) == row[column], column
        assert len(units) == 1 and row["cleared_at"] is not None and state.cleared_at == row["cleared_at"]
        assert (await app.state.services.board.get(unit_id)).status == "available"


async def test_recommend_mode_waits_for_the_dispatcher_who_assigns_a_free_unit(settings, engine, floor):
    app, client = await live(settings, auto_dispatch_priorities=[1])
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], NOISE)
        assert await app.state.services.matcher.run_once()
        async with engine.connect() as conn:
            assert (
                await conn.scalar(text("SELECT count(*) FROM assignments WHERE incident_id = :i"), {"i": incident_id})
                == 0
            )
        advice = await client.get(f"/api/incidents/{incident_id}/recommendations", headers=floor["dispatcher"])
        assert advice.status_code == 200, advice.text
        advice = advice.json()
        assert advice["mode"] == "recommend" and advice["picks"]
        pick = advice["picks"][0]
        assert pick["capability"] == "police" and pick["eta_s"] > 0 and "min by road" in pick["reason"]
        assert all(p["reason"] for p in advice["passed"])
        taken = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": [pick["unit_id"]]}
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["units_missing"] == 0
        again = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": [pick["unit_id"]]}
        )
        assert again.status_code == 409  # that unit is on it now
        assert (
            await client.post(
                f"/api/incidents/{incident_id}/assign", headers=floor["taker"], json={"unit_ids": [pick["unit_id"]]}
            )
        ).status_code == 403
        assert (
            await client.post(
                f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": []}
            )
        ).status_code == 422
        assert (await app.state.services.queue.size()) == (0, 0)


async def test_a_dispatch_written_when_redis_fails_before_the_crews_are_told_is_answered_as_stored(
    settings, engine, floor
):
    """The assignment is committed; telling the devices fails (Redis went away in between). The dispatcher must
    hear that it is stored (not 503 "nothing was stored", which invites a second dispatch); the sweep sends it
    to the crew once Redis answers."""
    import redis.exceptions

    app, client = await live(settings, auto_dispatch_priorities=[1])
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], NOISE)
        free = next(
            u for u in await app.state.services.board.units() if u.status == "available" and "police" in u.capabilities
        )

        async def redis_gone(*args, **kwargs):
            raise redis.exceptions.ConnectionError("Redis went away")

        app.state.services.pusher.assignments = redis_gone
        taken = await client.post(
            f"/api/incidents/{incident_id}/assign", headers=floor["dispatcher"], json={"unit_ids": [free.id]}
        )
        assert taken.status_code == 200, taken.text
        async with engine.connect() as conn:
            assert (
                await conn.scalar(
                    text("SELECT count(*) FROM assignments WHERE incident_id = :i AND unit_id = :u"),
                    {"i": incident_id, "u": free.id},
                )
                == 1
            )


async def test_two_matchers_racing_never_give_one_unit_to_two_incidents(settings, engine, floor):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        ids = [
            await call(client, floor["taker"], {**NOISE, "caller_number": f"+423 791 00 {i:02d}"}) for i in range(12)
        ]
        other_engine = make_async_engine(settings)  # its own connections, as another process would have
        state = app.state.services
        rival = Matcher(
            owner="rival",
            queue=state.queue,
            board=state.board,
            redis=state.redis,
            sessions=make_sessionmaker(other_engine),
            routers=state.routers,
            types=state.matcher.types,
            settings=state.settings,
            publish=state.queue_keeper.publish,
            dispatcher=replace(state.dispatcher, sessions=make_sessionmaker(other_engine), on_dispatched=[]),
        )

        async def drain(matcher):
            handled = 0
            for _ in range(40):
                if await matcher.run_once():
                    handled += 1
            return handled

        handled = await asyncio.gather(drain(state.matcher), drain(rival))
        assert sum(handled) >= len(ids) and all(handled)  # both took part
        async with engine.connect() as conn:
            doubled = await conn.scalar(
                text(
                    "SELECT count(*) FROM (SELECT unit_id FROM assignments WHERE status = 'assigned' "
                    "GROUP BY unit_id HAVING count(*) > 1) d"
                )
            )
            per_incident = (
                await conn.execute(
                    text(
                        "SELECT incident_id, count(*) FROM assignments "
                        "WHERE status = 'assigned' AND incident_id = ANY(:ids) "
                        "GROUP BY incident_id"
                    ),
                    {"ids": ids},
                )
            ).all()
        assert doubled == 0
        assert all(n == 1 for _, n in per_incident)  # a noise complaint needs one patrol, and got one at most
        board = await state.board.units()
        on = [u.incident_id for u in board if u.status == "dispatched"]
        assert len(on) == len(set(on)) == len(per_incident)
        await other_engine.dispose()


async def test_on_the_bundled_map_drive_time_picks_differently_from_straight_line(settings, engine, floor):
    """Somewhere in the mountains or across the valley, the unit closest on the map is not first by road."""
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        units = await app.state.services.board.units()
        candidates = [u.as_candidate() for u in units]
        async with engine.connect() as conn:
            places = (
                await conn.execute(
                    text(
                        "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses "
                        "WHERE municipality IN ('Triesenberg', 'Planken', 'Schellenberg', 'Gamprin') ORDER BY id"
                    )
                )
            ).all()
        differs = []
        for i, (lat, lon) in enumerate(places[::7]):
            incident = IncidentIn(i + 1, 2, (Slot("police"),), lat, lon)
            etas = unit_etas(app.state.services.routers.router, lat, lon, units)
            by_road = decide(incident, candidates, etas, policy=Policy.drive_time)
            by_crow = decide(incident, candidates, etas, policy=Policy.straight_line)
            if by_road.unit_ids != by_crow.unit_ids:
                differs.append((etas[by_road.unit_ids[0]], etas[by_crow.unit_ids[0]]))
        assert differs, "no place where roads change the choice"
        assert all(road < crow for road, crow in differs)


async def test_move_up_sends_an_idle_unit_to_cover_the_part_of_the_region_left_empty(settings, engine, floor):
    """Two patrols left, both waiting in Vaduz: one is sent to cover the north, and the order says why."""
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        board = app.state.services.board
        patrols = [u for u in await board.units() if "police" in u.capabilities]
        vaduz = next(u for u in patrols if u.area == "Vaduz")
        for unit in patrols[2:]:
            await board.update(unit.id, status="out_of_service")
        for unit in patrols[:2]:
            await board.update(unit.id, status="available", lat=vaduz.lat, lon=vaduz.lon)
        heard = []

        async def publish(message):
            heard.append(message)

        app.state.services.matcher.moveups._publish = publish
        issued = await app.state.services.matcher.plan_move_ups()
        assert issued == heard
        # Other fleets may be re-placed too, by whatever demand earlier tests left: this is about the patrols.
        orders = [o for o in issued if o["unit_id"] in {u.id for u in patrols}]
        assert [o["type"] for o in orders] == ["unit.move"]
        order = orders[0]
        assert order["unit_id"] in {u.id for u in patrols[:2]}
        assert order["coverage_after"] > order["coverage_before"] and "cover" in order["reason"]
        assert await app.state.services.matcher.plan_move_ups() == []  # not due again yet
        assert await app.state.services.matcher.moveups.run() == []  # another process planned just now (the lock)


async def test_two_units_out_of_order_and_a_close_agree_with_the_event_replay(settings, engine, floor):
    """The first unit goes straight to the scene, the second reports en route after: the incident stays on
    scene, its en-route time is the second unit's, and closing it stands the units down."""
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], {**FIRE, "type_code": "FIRE-VEH"})  # engine + patrol
        assert await app.state.services.matcher.run_once()
        events = (await client.get(f"/api/incidents/{incident_id}/events", headers=floor["taker"])).json()
        first, second = [e["payload"]["unit_id"] for e in events if e["kind"] == "dispatched"]
        say = floor["dispatcher"]
        for unit_id, status in [(first, "on_scene"), (second, "en_route")]:
            response = await client.post(f"/api/units/{unit_id}/status", headers=say, json={"status": status})
            assert response.status_code == 200, response.text
        async with make_sessionmaker(engine)() as session:
            row = await repo.incident_row(session, incident_id)
            state = replay([(e["kind"], e["at"], e["payload"]) for e in await repo.events(session, incident_id)])
        assert row["status"] == state.status == "on_scene"
        assert row["en_route_at"] is not None and state.en_route_at == row["en_route_at"]
        closed = await client.post(f"/api/incidents/{incident_id}/close", headers=say, json={"disposition": "resolved"})
        assert closed.status_code == 200, closed.text
        board = {u.id: u for u in await app.state.services.board.units()}
        assert board[first].status == board[second].status == "available"
        async with make_sessionmaker(engine)() as session:
            row = await repo.incident_row(session, incident_id)
            state = replay([(e["kind"], e["at"], e["payload"]) for e in await repo.events(session, incident_id)])
            active = await session.scalar(
                text(
                    "SELECT count(*) FROM assignments WHERE incident_id = :i AND status IN "
                    "('assigned', 'acknowledged', 'en_route', 'on_scene')"
                ),
                {"i": incident_id},
            )
        assert active == 0 and state.units == set()
        assert row["cleared_at"] is not None and state.cleared_at == row["cleared_at"]
        assert row["status"] == state.status == "closed"


def test_a_matcher_wakes_on_calls_and_freed_units_announced_by_any_process():
    import orjson

    from dispatch.matching.worker import Matcher

    calls = []
    fake = type(
        "Fake", (), {"wake": lambda self: calls.append("wake"), "unit_freed": lambda self: calls.append("freed")}
    )()
    for message in (
        {"type": "incident.created", "incident_id": 1},
        {"type": "incident.reprioritised"},
        {"type": "unit.status", "unit_id": 3, "status": "available", "previous": "on_scene"},
        {"type": "unit.status", "unit_id": 3, "status": "on_scene", "previous": "available"},
        {"type": "incident.closed", "incident_id": 1},
    ):
        Matcher.heard(fake, orjson.dumps(message))
    assert calls == ["wake", "wake", "freed"]


async def test_a_matcher_whose_lease_ran_out_while_deciding_gives_its_units_back(settings, engine, floor):
    app, client = await live(settings)
    async with app.router.lifespan_context(app), client:
        incident_id = await call(client, floor["taker"], {**FIRE, "type_code": "FIRE-OTHER"})
        matcher = app.state.services.matcher
        lease = await app.state.services.queue.lease(matcher.owner, lease_s=0.05)
        assert lease is not None and lease.incident_id == incident_id
        incident = await matcher._incident(incident_id)
        units, _, decision = await matcher.advise(incident)
        assert decision.picks
        await asyncio.sleep(0.1)  # the lease runs out while deciding...
        taken = await app.state.services.queue.lease("another-matcher", lease_s=30)  # ...and another matcher has it now
        assert taken is not None and taken.incident_id == incident_id
        hold = partial(app.state.services.queue.extend, incident_id, matcher.owner, 1.5)
        assert (
            await matcher.dispatcher.dispatch(incident, decision, actor="t", mode="auto", hold=hold, units=units)
            is None
        )
        for p in decision.picks:  # reserved side by side with the lost lease, and given back
            assert (await app.state.services.board.get(p.unit_id)).status == "available"
        async with engine.connect() as conn:
            assert (
                await conn.scalar(text("SELECT count(*) FROM assignments WHERE incident_id = :i"), {"i": incident_id})
                == 0
            )
