"""The incident's own changes from the console's panel, in Debian's Chromium against the real service: a note by
the keyboard's O (in the timeline with its text), a new priority with a reason, the place corrected by address
and by dragging the pin (the panel shows the new address at once, and A sends units afterwards), a unit stood
down (its crew free again, the incident queued again), cancelling, closing with a disposition (the confirmation
asked when no unit reached the scene), a closed incident shown read-only without a single console error."""

import re

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect
from sqlalchemy import text

from tests.test_console_incident import SMALL_FIRE, open_console, panel_violations, pick, unit_on
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
NOWHERE = {"location_text": "somewhere behind the big tree", "type_code": "FIRE-OTHER"}


async def test_a_note_a_priority_and_the_place_corrected_by_address_and_by_pin(serve, crews, engine):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board = app.state.services.board
    lost = await take_call(addr, crews["call_taker"], NOWHERE)
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"])
        await pick(page, lost)
        where = page.locator("#incident-where")
        await expect(where).to_contain_text("unknown")
        await expect(where).to_contain_text("needs location")

        # A note by the keyboard: O opens its dialog, Enter adds it; it heads the timeline with its words.
        await page.locator("#incident-title").click()
        await page.keyboard.press("o")
        await expect(page.locator("#note-text")).to_be_focused()
        await page.keyboard.type("Gate code 4711")
        await page.keyboard.press("Enter")
        await expect(page.locator("#timeline li").first).to_contain_text("Gate code 4711")
        await expect(page.locator("#ask-dialog")).to_be_hidden()

        # A new priority, with its reason.
        await page.click("#reprioritise")
        await page.select_option("#ask-priority", "2")
        await page.fill("#ask-reason", "children inside")
        await page.click("#ask-ok")
        await expect(page.locator("#incident-title")).to_contain_text("P2")
        await expect(page.locator("#timeline li").first).to_contain_text("children inside")

        # Corrected by the call-taker's console, noted there too: this panel hears of both live. (It kept
        # 'unknown' and the recommendations made without a place: a correction reached no console.)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["call_taker"])) as client:
            fixed = await client.patch(f"/api/incidents/{lost}", json={"location_text": "Städtle 15, Vaduz"})
            assert fixed.status_code == 200, fixed.text
            await expect(where).to_contain_text("Städtle 15")
            assert (await client.post(f"/api/incidents/{lost}/notes", json={"text": "caller at the door"})).is_success
            await expect(page.locator("#timeline li").first).to_contain_text("caller at the door")

        # The place by address here (Move…, by keys): the panel says where at once, and A sends the unit
        # recommended from there.
        await page.locator("#move-incident").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#relocate-text")).to_be_focused()
        await page.keyboard.type("Städtle 23, Vaduz")
        await page.keyboard.press("Enter")
        await expect(where).to_contain_text("Städtle 23")
        await expect(where).not_to_contain_text("needs location")
        await expect(page.locator("#incident-result")).to_contain_text("Location now Städtle 23")
        pick_row = page.locator("#incident-recs li.pick")
        await expect(pick_row).to_have_count(1, timeout=15_000)
        unit_id = int(await pick_row.get_attribute("data-unit"))
        await page.locator("#timeline").click()  # back on the console (typing in the dialog is over)
        await page.keyboard.press("a")
        await unit_on(board, unit_id, lost)

        # The pin, moved deliberately: not draggable by accident (a drag pans the map, nothing is asked); armed
        # by Move… → Drag the pin, a drop asks with the address it lands on; No puts it back, Yes moves it.
        other = await take_call(addr, crews["call_taker"], SMALL_FIRE)
        await pick(page, other)
        await expect(page.locator("#incident-recs li.pick")).to_have_count(1, timeout=15_000)
        pin = page.locator(".incident-pin")
        await expect(pin).not_to_have_class(re.compile("armed"))

        async def drag() -> dict:
            box = await pin.bounding_box()
            assert box is not None
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            await page.mouse.move(x, y)
            await page.mouse.down()
            await page.mouse.move(x + 40, y + 60, steps=8)
            await page.mouse.up()
            return box

        await drag()
        await expect(page.locator("#ask-dialog")).to_be_hidden()
        await page.click("#move-incident")
        await page.click("#ask-extra")
        await expect(pin).to_have_class(re.compile("armed"))
        before = await drag()
        await expect(page.locator("#ask-title")).to_have_text(f"Move incident #{other} here?")
        await expect(page.locator("#ask-text")).to_contain_text(" m from where it was")
        await page.click("#ask-cancel")  # No, put it back
        await expect(page.locator("#incident-result")).to_contain_text("Not moved")
        back = await pin.bounding_box()
        assert back is not None and abs(back["x"] - before["x"]) < 2 and abs(back["y"] - before["y"]) < 2
        await expect(pin).not_to_have_class(re.compile("armed"))
        await page.click("#move-incident")
        await page.click("#ask-extra")
        await drag()
        await page.click("#ask-ok")
        await expect(page.locator("#incident-result")).to_contain_text("Location now", timeout=10_000)
        await expect(page.locator("#timeline li").first).to_have_attribute("data-kind", "located")
        async with engine.connect() as conn:
            moved = (
                await conn.execute(
                    text("SELECT address_label, geocode_match FROM incidents WHERE id = :id"), {"id": other}
                )
            ).one()
        assert moved.geocode_match == "coordinates"
        await expect(where).to_contain_text(moved.address_label)
        await expect(page.locator("#incident-recs li.pick")).to_have_count(1, timeout=15_000)
        second = int(await page.locator("#incident-recs li.pick").get_attribute("data-unit"))
        await page.keyboard.press("a")
        await unit_on(board, second, other)
        assert await panel_violations(page) == []
        assert errors == []


async def test_stand_down_cancel_and_close_with_its_confirmation(serve, crews, engine):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board = app.state.services.board
    fire = await take_call(addr, crews["call_taker"], SMALL_FIRE)
    spare = await take_call(addr, crews["call_taker"], {**SMALL_FIRE, "location_text": "Städtle 15, Vaduz"})
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"])
        await pick(page, fire)
        recommended = page.locator("#incident-recs li.pick")
        await expect(recommended).to_have_count(1, timeout=15_000)
        unit_id = int(await recommended.get_attribute("data-unit"))
        await page.keyboard.press("a")
        await unit_on(board, unit_id, fire)
        on_it = page.locator(f"#detail-units li[data-unit='{unit_id}']")
        await expect(on_it).to_be_visible()

        # Stood down with a reason: its crew is free, the incident waits in the queue again.
        await on_it.get_by_role("button", name=re.compile("^Stand down")).click()
        await page.fill("#ask-reason", "sent to the wrong address")
        await page.click("#ask-ok")
        await expect(on_it).to_be_hidden()
        await expect(page.locator(f"#queue-list li[data-id='{fire}']")).to_be_visible()
        assert (await board.get(unit_id)).status == "available"
        await expect(page.locator("#incident-result")).to_contain_text("queued again")

        # Closed as treated by keyboard, no unit having reached the scene: asked first, then closed.
        await page.locator("#close-incident").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#ask-disposition")).to_be_focused()
        await page.keyboard.press("Home")  # the first disposition: treated
        await expect(page.locator("#ask-disposition")).to_have_value("treated")
        await page.keyboard.press("Tab")
        await page.keyboard.type("patient treated by a passer-by")
        for _ in range(2):
            await page.keyboard.press("Tab")
        await expect(page.locator("#ask-ok")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#ask-title")).to_have_text("Close it anyway?")
        await expect(page.locator("#ask-ok")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.locator("#incident-readonly")).to_be_visible()
        # The browser logs the first close's 409 (the question asked); nothing else was refused, then or since.
        assert [e for e in errors if "409" not in e or f"/api/incidents/{fire}/close" not in e] == []
        assert len(errors) == 1
        errors.clear()
        await expect(page.locator("#incident-facts")).to_contain_text("treated")
        await expect(page.locator("#close-incident")).to_have_count(0)
        await expect(page.locator("#incident-recs")).to_have_count(0)

        # Another, cancelled with a reason; then the closed one selected again: read-only, nothing refused.
        await pick(page, spare)
        await page.click("#cancel-incident")
        await page.fill("#ask-reason", "caller withdrew")
        await page.click("#ask-ok")
        await expect(page.locator("#incident-title")).to_contain_text("cancelled")
        await page.evaluate(f"import('/console/incident.js').then((m) => m.select({fire}))")
        await expect(page.locator("#incident-title")).to_contain_text(f"#{fire} · closed")
        await expect(page.locator("#timeline li").first).to_contain_text("closed")
        async with engine.connect() as conn:
            status = (await conn.execute(text("SELECT status FROM incidents WHERE id = :id"), {"id": fire})).scalar()
        assert status == "closed"
        assert await panel_violations(page) == []
        assert errors == []
