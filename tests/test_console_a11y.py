"""The dispatcher's main console for every eye and any keyboard, in Debian's Chromium (Playwright) against the real
service: axe finds nothing serious or critical on a desk's screens (1920×1080, 1366×768) and a tablet's
(1280×800), with calls waiting, one on its units and units of several statuses; Tab reaches the queue, whose
item shows where the focus is; Enter and Space select, the arrows move within a list, J and K still work; a
mouse click selects too; the map's legend says what each unit's shape means."""

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import sign_in, tab_to
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations

pytestmark = pytest.mark.slow
SCREENS = {"desk 1920×1080": (1920, 1080), "desk 1366×768": (1366, 768), "tablet 1280×800": (1280, 800)}
PLACES = ("Städtle 23, Vaduz", "Landstrasse 10, Schaan", "Äulestrasse 20, Vaduz")


async def serious(page: Page) -> list[str]:
    """axe's serious and critical violations, each with where it was found."""
    return await axe_violations(page, serious=True)


async def test_the_console_is_usable_by_keyboard_and_reads_for_everyone(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    calls = [
        await take_call(addr, crews["call_taker"], {"location_text": PLACES[0], "type_code": "FALL"}),
        *[
            await take_call(addr, crews["call_taker"], {"location_text": place, "narrative": "Smoke from a kitchen"})
            for place in PLACES[1:]
        ],
    ]
    async with AsyncClient(base_url=f"http://{addr}") as client:  # one on its way: units of several statuses
        recs = await client.get(f"/api/incidents/{calls[0]}/recommendations", headers=bearer(crews["dispatcher"]))
        assigned = await client.post(  # all it needs: active, no longer waiting in the queue
            f"/api/incidents/{calls[0]}/assign",
            json={"unit_ids": [p["unit_id"] for p in recs.json()["picks"]]},
            headers=bearer(crews["dispatcher"]),
        )
        assert assigned.status_code == 200 and assigned.json()["units_missing"] == 0, assigned.text
        # One unit of the several a fire needs: it stays in the queue, as the service's queue has it, saying so.
        recs = await client.get(f"/api/incidents/{calls[1]}/recommendations", headers=bearer(crews["dispatcher"]))
        one = await client.post(
            f"/api/incidents/{calls[1]}/assign",
            json={"unit_ids": [recs.json()["picks"][0]["unit_id"]]},
            headers=bearer(crews["dispatcher"]),
        )
        assert one.status_code == 200 and one.json()["units_missing"] > 0, one.text
        waiting = (await client.get("/api/queue", headers=bearer(crews["dispatcher"]))).json()["items"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        queue = page.locator("#queue-list li[role=option]")
        title = page.locator("#detail h2").first  # the incident's own heading
        await expect(queue).to_have_count(len(waiting))  # the console's queue is the service's
        assert len(waiting) == 2
        await expect(page.locator(f"#queue-list li[data-id='{calls[1]}']")).to_contain_text("1 on it")
        await expect(page.locator(f"#queue-list li[data-id='{calls[1]}'] .flag")).to_contain_text("short")
        await expect(page.locator("#active-list li[role=option]")).to_have_count(1)
        await expect(page.locator("#queue-list")).to_have_attribute("role", "listbox")

        # Tab reaches the queue: one stop for the list, its first incident, which shows the focus.
        await tab_to(page, "#queue-list li[tabindex='0']")
        first, second = [await queue.nth(n).get_attribute("data-id") for n in range(2)]
        focused = page.locator("#queue-list li:focus")
        await expect(focused).to_have_attribute("data-id", first)
        # Read from the focused element itself: a live change may have drawn the list anew (the focus kept).
        ring = await page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
        )
        assert ring[0] != "none" and float(ring[1].removesuffix("px")) >= 2, ring
        assert await page.locator("#queue-list li[tabindex='0']").count() == 1  # one Tab stop, not one per call

        await page.keyboard.press("Enter")  # selects: the incident's panel shows it
        await expect(title).to_contain_text(f"#{first}")
        await expect(page.locator(f"#queue-list li[data-id='{first}']")).to_have_attribute("aria-selected", "true")
        await expect(page.locator(f"#queue-list li[data-id='{first}']")).to_be_focused()  # kept through the redraw
        await page.keyboard.press("ArrowDown")  # moves the focus, not the selection
        await expect(page.locator(f"#queue-list li[data-id='{second}']")).to_be_focused()
        await expect(title).to_contain_text(f"#{first}")
        await page.keyboard.press(" ")  # Space selects too
        await expect(title).to_contain_text(f"#{second}")
        await page.keyboard.press("k")  # and J/K go on working, the focus following the selection
        await expect(title).to_contain_text(f"#{first}")
        await expect(page.locator(f"#queue-list li[data-id='{first}']")).to_be_focused()
        await page.keyboard.press("j")
        await expect(title).to_contain_text(f"#{second}")
        await page.locator("#active-list li").click()  # and the mouse
        await expect(title).to_contain_text(f"#{calls[0]}")

        # Statuses in words (and a mark) on the board, not by colour alone.
        await expect(page.locator("#unit-board td.status-dispatched").first).to_contain_text("dispatched")
        await expect(page.locator("#unit-board td.status-available").first).to_contain_text("available")

        # The map's shapes are told in words too, in its legend (opened: axe reads it as well).
        await page.locator(".legend summary").click()
        await expect(page.locator(".legend")).to_contain_text("returning")
        await expect(page.locator(".legend li")).to_have_count(7)

        for name, (width, height) in SCREENS.items():
            await page.set_viewport_size({"width": width, "height": height})
            found = await serious(page)
            assert found == [], f"{name}: {found}"
        assert not errors, errors
        await browser.close()
