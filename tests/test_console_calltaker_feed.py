"""A call-taker at the console, in Debian's Chromium (Playwright) against the real service: the live feed
(refused to call-takers before, which left the header reconnecting and the panel stale), what a caller's number
and place have behind them shown before the call is taken, and a suspected duplicate with its distance and age."""

import orjson
import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect
from websockets.asyncio.client import connect

from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM

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
            await expect(board_row.locator("td").nth(1)).to_have_text("dispatched", timeout=10_000)
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
