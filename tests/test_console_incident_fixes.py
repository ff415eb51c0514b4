"""The incident panel as a user test at 1366×768 found it wanting, in Debian's Chromium against the real service:
the panel's actions and Assign in sight without scrolling; "Add unit" offering only units the server would take
(never one on scene), saying why the others are not offered; A with nothing to send saying so; an incident whose
units have all cleared offering to close it. (The pin moved only deliberately: tests/test_console_incident_life.py.)"""

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_incident import OTHER_FIRE, SMALL_FIRE, open_console, panel_violations, pick, unit_on
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
SMALL_SCREEN = {"width": 1366, "height": 768}


async def in_sight(page: Page, selector: str) -> None:
    """Inside the window and inside the panel's visible box, with the panel not scrolled."""
    box, panel = await page.locator(selector).bounding_box(), await page.locator("#detail").bounding_box()
    assert box is not None and panel is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= SMALL_SCREEN["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= SMALL_SCREEN["width"], (selector, box)
    assert panel["y"] <= box["y"] and box["y"] + box["height"] <= panel["y"] + panel["height"], (selector, box, panel)


async def test_the_panel_fits_a_small_screen_and_offers_only_what_can_be_sent(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # recommend mode: the dispatcher decides
    board = app.state.services.board
    working = await take_call(addr, crews["call_taker"], OTHER_FIRE)
    fire = await take_call(addr, crews["call_taker"], SMALL_FIRE)
    # A unit on scene at the other fire: it may not be taken from there.
    engine = next(u for u in await board.units() if u.status == "available" and u.call_sign.startswith("Engine"))
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        sent = await client.post(f"/api/incidents/{working}/assign", json={"unit_ids": [engine.id], "divert": False})
        assert sent.status_code == 200, sent.text
        there = await client.post(f"/api/units/{engine.id}/status", json={"status": "on_scene"})
        assert there.status_code == 200, there.text
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"], SMALL_SCREEN)
        await pick(page, fire)
        await expect(page.locator("#incident-recs li.pick")).to_have_count(1, timeout=15_000)

        # At 1366×768 the actions' row and Assign are in sight without scrolling the panel.
        assert await page.locator("#detail").evaluate("(e) => e.scrollTop") == 0
        for selector in ("#close-incident", "#reprioritise", "#add-note", "#move-incident", "#assign"):
            await in_sight(page, selector)

        # The on-scene engine is not offered, and the hint says why; typed anyway, it is refused here (no 409).
        await page.locator("#add-unit-sign").focus()
        offered = await page.locator("#add-unit-list option").evaluate_all("(os) => os.map((o) => o.value)")
        assert offered and engine.call_sign not in offered
        await expect(page.locator("#add-unit-hint")).to_contain_text(f"{engine.call_sign} (on scene on #{working})")
        await page.keyboard.type(engine.call_sign)
        await page.keyboard.press("Enter")
        await expect(page.locator("#incident-result")).to_have_text(
            f"{engine.call_sign} cannot be sent: on scene on #{working}."
        )
        await expect(page.locator("#ask-dialog")).to_be_hidden()

        # A sends the picks; A again, with every slot filled, says there is nothing to send.
        top = int(await page.locator("#incident-recs li.pick").get_attribute("data-unit"))
        await page.locator("#incident-title").click()
        await page.keyboard.press("a")
        await unit_on(board, top, fire)
        await expect(page.locator(f"#detail-units li[data-unit='{top}']")).to_be_visible()
        await expect(page.locator("#assign")).to_have_count(0)
        await page.wait_for_timeout(1100)  # A again counts a second after the first (console/static/keys.js)
        await page.keyboard.press("a")
        nothing = f"Nothing to send: every slot of #{fire} is filled."
        await expect(page.locator("#incident-result")).to_have_text(nothing)
        assert await panel_violations(page) == []

        # The engine clears at the other fire: with no unit left on it, the panel offers to close it.
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
            done = await client.post(f"/api/units/{engine.id}/status", json={"status": "available"})
            assert done.status_code == 200, done.text
        await pick(page, working)
        await expect(page.locator("#incident-title")).to_contain_text("on scene")
        hint = page.locator("#incident-hint")
        await expect(hint).to_contain_text(f"All units have cleared — close #{working}?")
        await page.locator("#close-hint").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#ask-title")).to_have_text(f"Close incident #{working}")
        await page.keyboard.press("Escape")
        await expect(page.locator("#close-hint")).to_be_focused()
        assert await panel_violations(page) == []
        assert errors == []
