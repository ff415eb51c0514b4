"""A call-taker at the console, in Debian's Chromium (Playwright) against the real service: the live feed
(refused to call-takers before, which left the header reconnecting and the panel stale), what a caller's number
and place have behind them shown before the call is taken, and a suspected duplicate with its distance and age."""

import re
import time

import orjson
import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect
from websockets.asyncio.client import connect

from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations

pytestmark = pytest.mark.slow
SCREEN = {"width": 1600, "height": 1000}


async def signed_in(browser, addr: str, token: str, errors: list[str]) -> Page:
    page = await browser.new_page(viewport=SCREEN)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"http://{addr}/console/")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")
    return page


async def test_a_call_takers_console_follows_the_centre_live(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: the incident waits for it
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await signed_in(browser, addr, crews["call_taker"], errors)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(page.locator("#conn")).to_have_text("live")

        # Another call-taker's call appears in the queue without a reload...
        incident_id = await take_call(
            addr, crews["dispatcher"], {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}
        )
        await expect(page.locator(f"#queue-list li[data-id='{incident_id}']")).to_be_visible(timeout=10_000)
        await page.click(f"#queue-list li[data-id='{incident_id}']")
        await expect(page.locator("#detail h2").first).to_contain_text("pending")

        # ...and leaves it once a dispatcher sent units, which the call-taker sees on their way.
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
            picks = (await client.get(f"/api/incidents/{incident_id}/recommendations")).json()["picks"]
            assert picks
            sent = await client.post(
                f"/api/incidents/{incident_id}/assign", json={"unit_ids": [pick["unit_id"] for pick in picks]}
            )
            assert sent.status_code == 200, sent.text
        await expect(page.locator(f"#queue-list li[data-id='{incident_id}']")).to_have_count(0, timeout=10_000)
        await expect(page.locator(f"#active-list li[data-id='{incident_id}']")).to_contain_text(
            f"{len(picks)} unit", timeout=10_000
        )
        await expect(page.locator("#detail h2").first).not_to_contain_text("pending", timeout=10_000)
        for pick in picks:
            board_row = page.locator(f"#unit-board tr[data-unit='{pick['unit_id']}']")
            await expect(board_row.locator("td.status")).to_have_text("◆ dispatched", timeout=10_000)
        assert not errors, errors
        await browser.close()


async def test_a_call_taker_is_not_sent_the_crews_conversations(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    unit_id, unit_token = next(iter(crews["units"].items()))
    crew = await device(addr, unit_token, last_seq=0)
    dispatcher = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
    call_taker = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["call_taker"]))
    for console in (dispatcher, call_taker):
        await next_of(console, "snapshot")
    await crew.send(orjson.dumps({"type": "message", "text": "Patient is my neighbour", "id": "m-1"}).decode())
    assert (await next_of(dispatcher, "unit.message"))["unit_id"] == unit_id
    incident_id = await take_call(addr, crews["call_taker"], {"location_text": "Städtle 23, Vaduz"})
    # The events reach every console in the order they were published: the call-taker's next one is the call.
    while (message := orjson.loads(await call_taker.recv()))["type"] == "ping":
        pass
    assert message["type"] == "incident.created" and message["incident_id"] == incident_id
    for ws in (crew, dispatcher, call_taker):
        await ws.close()


async def test_the_callers_and_the_places_history_show_before_the_call_is_taken(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    number = f"+423 7{time.time_ns() % 10**8:08d}"  # a number no other test called from
    earlier = await take_call(
        addr,
        crews["call_taker"],
        {"location_text": "Städtle 15, Vaduz", "type_code": "FIRE-OTHER", "caller_number": number},
    )
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        names = {t["code"]: t["name"] for t in (await client.get("/api/incident-types")).json()}
        flag = await client.post(
            "/api/premise-flags",
            json={
                "category": "hazard",
                "description": "Gas cylinders in the garage",
                "location_text": "Städtle 23, Vaduz",
            },
        )
        assert flag.status_code == 201, flag.text
        try:
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = await signed_in(browser, addr, crews["call_taker"], errors)
                await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
                history = page.locator("#call-history")

                # A number never heard: said plainly.
                await page.keyboard.press("n")
                await page.fill("#call-number", "+423 700 00 00")
                await expect(history).to_contain_text("No earlier calls from this number", timeout=10_000)

                # The number that called before: its call, before anything else is typed or the call taken.
                await page.fill("#call-number", number)
                await expect(history).to_contain_text("1 earlier call", timeout=10_000)
                await expect(history).to_contain_text(names["FIRE-OTHER"])
                await expect(history).to_contain_text("pending")  # how it stands (or ended: its disposition)
                await expect(history).to_contain_text("Städtle 15")

                # The place with a hazard flag: unmissable, before the call is taken; the earlier call, 100 m or so
                # away, a suspected duplicate with its distance and age.
                await page.fill("#call-location", "Städtle 23, Vaduz")
                hazard = history.locator(".hazard")
                await expect(hazard).to_contain_text("Gas cylinders in the garage", timeout=10_000)
                assert "HAZARD" in await hazard.inner_text()
                colour = await hazard.evaluate("e => getComputedStyle(e).backgroundColor")
                assert colour == "rgb(201, 42, 42)"  # red
                duplicate = re.compile(
                    rf"#{earlier} {re.escape(names['FIRE-OTHER'])} · [1-9][0-9]* m · (just now|1 min ago)"
                )
                await expect(page.locator("#call-warning")).to_contain_text(duplicate, timeout=10_000)
                assert not await axe_violations(page)
                assert await page.locator("#queue-list li").count() == 1  # nothing was taken meanwhile

                # Taken, the incident's panel reads its duplicate the same way (it read "#152 FIRE-OTHER m").
                await page.fill("#call-type", "FIRE-OTHER")  # a code typed out is that type
                await page.click("#call-submit")
                await expect(page.locator("#detail")).to_contain_text(duplicate, timeout=10_000)
                await expect(page.locator("#detail .hazard")).to_contain_text("Gas cylinders in the garage")
                assert not await axe_violations(page)
                assert not errors, errors
                await browser.close()
        finally:
            assert (await client.delete(f"/api/premise-flags/{flag.json()['id']}")).is_success


async def test_a_call_taker_gets_the_alerts_about_calls_and_none_of_the_dispatchers(serve, crews):  # noqa: F811
    """A call-taker does not dispatch: no priority-1 tone, no repeat address or duplicate of another's call; an
    incident that needs its location is theirs (they correct places), and so is what became of their own call."""
    _, addr = await serve(auto_dispatch_priorities=[])
    cardiac = {"location_text": "Städtle 23, Vaduz", "type_code": "CARDIAC"}  # priority 1
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        taker = await signed_in(browser, addr, crews["call_taker"], errors)
        dispatcher = await signed_in(browser, addr, crews["dispatcher"], errors)
        for page in (taker, dispatcher):
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        first = await take_call(addr, crews["dispatcher"], cardiac)
        second = await take_call(addr, crews["dispatcher"], cardiac)  # the same place: a duplicate, repeat address
        lost = await take_call(addr, crews["dispatcher"], {"location_text": "somewhere behind the big tree"})
        alerts = dispatcher.locator("#alert-list li.alert")
        await expect(alerts.filter(has_text=f"Priority 1 #{first} ")).to_have_count(1, timeout=10_000)
        await expect(alerts.filter(has_text=f"possible duplicate of #{first}")).to_have_count(1)
        await expect(alerts.filter(has_text=f"#{lost} ").filter(has_text="needs location")).to_have_count(1)
        mine = taker.locator("#alert-list li.alert")
        needs_location = mine.filter(has_text=f"#{lost} ").filter(has_text="needs location")
        await expect(needs_location).to_have_count(1, timeout=10_000)
        await expect(taker.locator(f"#queue-list li[data-id='{second}']")).to_be_visible()
        assert await mine.count() == 1, await mine.all_inner_texts()
        await expect(taker.locator("#alert-count")).to_have_text("1 alert")
        assert not errors, errors
        await browser.close()
