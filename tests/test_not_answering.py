"""A unit whose device has not answered (a message given up on after every resend) is sent only when no other
unit can go, until the device is heard from again; the board says so, and a dispatch of it anyway is alerted."""

import asyncio
from dataclasses import replace

import orjson
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect
from websockets.asyncio.client import connect

from dispatch.matching.core import Slot, decide
from tests.crew_app import free_unit
from tests.test_console_talk import sign_in
from tests.test_matching_core import MEDIC, incident, unit
from tests.test_push import bearer, crews, device, first_assignment, next_of, serve, take_call  # noqa: F401
from tests.test_unit_app import CHROMIUM

CHEST = {
    "channel": "phone",
    "caller_number": "+423 790 00 07",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "CHEST-PAIN",
    "narrative": "Druck auf der Brust",
}


def test_a_unit_not_answering_goes_last_and_alone_it_still_goes():
    plan = incident(plan=(Slot("ambulance"),))
    near, far = replace(unit(1, MEDIC), silent=True), unit(2, MEDIC)
    decision = decide(plan, [near, far], {1: 60.0, 2: 600.0})
    assert decision.unit_ids == (2,)
    assert {p.unit_id: p.reason for p in decision.passed}[1] == "its device is not answering"
    alone = decide(plan, [near], {1: 60.0})
    assert alone.unit_ids == (1,) and "not answering" in alone.picks[0].reason


async def answer_all(ws, came: asyncio.Queue) -> None:
    """A device that acknowledges every message it is sent, and hands each on."""
    async for raw in ws:
        message = orjson.loads(raw)
        if message.get("id"):
            await ws.send(orjson.dumps({"type": "ack", "of": message["id"]}).decode())
        await came.put(message)


async def reach(console, unit_id: int, timeout: float = 15.0) -> dict:
    while True:
        message = await next_of(console, "unit.reach", timeout)
        if message["unit_id"] == unit_id:
            return message


async def test_the_matcher_passes_over_a_unit_whose_device_stopped_answering_until_it_is_heard_again(serve, crews):  # noqa: F811
    # No move-up: its orders, which these test devices never acknowledge, would leave every unit not answering.
    app, addr = await serve(auto_dispatch_priorities=[1], ack_deadline_s=0.5, move_up=False)
    sockets = {u: await device(addr, t, last_seq=0) for u, t in crews["units"].items()}
    for ws in sockets.values():  # each acknowledges where it stands, as the crew app does (else all go silent)
        current = await next_of(ws, "current", 10)
        await ws.send(orjson.dumps({"type": "ack", "of": current["id"]}).decode())
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    async with AsyncClient(base_url=f"http://{addr}") as client:
        # The ambulance the matcher would send to the address (a priority-2 call waits for a dispatcher).
        probe = await take_call(addr, crews["call_taker"], {**CHEST, "type_code": "FALL"})
        nearest = await free_unit(client, crews, probe)
        cancelled = await client.post(
            f"/api/incidents/{probe}/cancel", json={"reason": "test"}, headers=bearer(crews["dispatcher"])
        )
        assert cancelled.status_code == 200, cancelled.text
        # A move order its device never acknowledges: after every resend the unit is marked as not answering.
        await app.state.services.pusher.move(
            {"unit_id": nearest, "post_id": 1, "post": "Schaan", "lat": 47.165, "lon": 9.51, "reason": "cover"}
        )
        assert (await reach(console, nearest))["silent"] is True
        units = (await client.get("/api/units", headers=bearer(crews["dispatcher"]))).json()
        assert {u["id"]: u["silent"] for u in units}[nearest] is True
        # A priority-1 call goes to another ambulance.
        first = await take_call(addr, crews["call_taker"], CHEST)
        sent, assignment = await first_assignment({u: ws for u, ws in sockets.items() if u != nearest})
        assert assignment["incident_id"] == first and sent != nearest
        await sockets[sent].send(orjson.dumps({"type": "ack", "of": assignment["id"]}).decode())
        # Its device comes back (reconnects and says hello): it is reachable, and the next call is its own.
        await sockets[nearest].close()
        sockets[nearest] = await device(addr, crews["units"][nearest], last_seq=0)
        assert (await reach(console, nearest))["silent"] is False
        # From now on it is a device that answers: it acknowledges whatever comes (`current` on resuming, a resend),
        # as the crew app does; unanswered, the resends would mark the unit not answering again on a busy machine.
        came: asyncio.Queue = asyncio.Queue()
        answering = asyncio.create_task(answer_all(sockets[nearest], came))
        assert not (await app.state.services.board.get(nearest)).silent
        second = await take_call(addr, crews["call_taker"], CHEST)
        while (message := await asyncio.wait_for(came.get(), 15))["type"] != "assignment":
            pass
        assert message["incident_id"] == second
        answering.cancel()
    for ws in [*sockets.values(), console]:
        await ws.close()


async def test_the_only_unit_goes_though_not_answering_and_the_dispatcher_is_alerted(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[1])
    console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    board = app.state.services.board
    ambulances = [u.id for u in await board.units() if "ambulance" in u.capabilities]
    for unit_id in ambulances:  # every ambulance's device is silent
        await board.silent(unit_id, 1)
    first = await take_call(addr, crews["call_taker"], CHEST)
    while True:
        alert = await next_of(console, "alert", 15)
        if alert["kind"] == "sent_not_answering":
            break
    assert alert["incident_id"] == first and alert["unit_id"] in ambulances
    await console.close()


async def test_the_board_says_which_units_are_not_answering_and_when_they_answer_again(serve, crews):  # noqa: F811
    app, addr = await serve(matcher=False, ack_deadline_s=0.25)
    unit_id, token = next(iter(crews["units"].items()))
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        status = page.locator(f'#unit-board tr[data-unit="{unit_id}"] td.status')
        await expect(status).not_to_contain_text("not answering")
        ws = await device(addr, token, last_seq=0)
        await app.state.services.pusher.move(
            {"unit_id": unit_id, "post_id": 1, "post": "Schaan", "lat": 47.165, "lon": 9.51, "reason": "cover"}
        )
        await expect(status).to_contain_text("not answering", timeout=15_000)
        await page.reload()  # a console opened later reads it too (GET /api/units)
        await expect(status).to_contain_text("not answering", timeout=20_000)
        await ws.send(orjson.dumps({"type": "hello", "last_seq": 0}).decode())  # heard from again
        await expect(status).not_to_contain_text("not answering", timeout=10_000)
        await ws.close()
        await browser.close()
    assert not errors, errors
