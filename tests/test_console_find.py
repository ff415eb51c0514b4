"""Find in the console, in Debian's Chromium against the real service: incidents open, closed and cancelled
found by a caller's name, a number, an #incident and filters; the results walked by keyboard and any one opened
read-only with its whole timeline and shown on the console by mouse; axe on the Find view."""

import asyncio
import os
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations

pytestmark = pytest.mark.slow
CALL = {"channel": "phone", "location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}


async def serious_violations(page: Page) -> list[str]:
    """axe on the Find view (the dialog), its serious and critical findings."""
    return await axe_violations(page, "#find-dialog", serious=True)


async def test_incidents_open_and_closed_are_found_and_read(serve, crews, tmp_path):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    calls = crews["call_taker"]
    shut = await take_call(
        addr,
        calls,
        {
            **CALL,
            "caller_name": "Quirinus Findling",
            "caller_number": "+423 791 11 11",
            "narrative": "Brandgeruch im Treppenhaus",
        },
    )
    called_off = await take_call(
        addr, calls, {**CALL, "caller_name": "Quirinus Findling", "caller_number": "+423 791 11 12"}
    )
    still_open = await take_call(
        addr,
        calls,
        {
            **CALL,
            "location_text": "Landstrasse 100, Triesen",
            "type_code": "NOISE",
            "caller_name": "Quirinus Findling",
            "caller_number": "+423 791 11 13",
        },
    )
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        assert (
            await client.post(f"/api/incidents/{shut}/close", json={"disposition": "false_alarm"})
        ).status_code == 200
        assert (
            await client.post(f"/api/incidents/{called_off}/cancel", json={"reason": "caller withdrew"})
        ).status_code == 200
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["call_taker"])  # Find is the whole floor's, not only a dispatcher's
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(page.locator(".keys")).to_contain_text("/ find")

        # "/" opens Find with the words field ready; a caller's name finds all three, open and closed.
        await page.locator("#map").click()
        await page.keyboard.press("/")
        dialog, results = page.locator("#find-dialog"), page.locator("#find-results .find-item")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#find-q")).to_be_focused()
        await page.keyboard.type("Findling")
        await expect(results).to_have_count(3)
        await expect(page.locator("#find-said")).to_have_text("3 incidents found.")
        assert [int(i) for i in await results.evaluate_all("bs => bs.map((b) => b.dataset.id)")] == [
            still_open,
            called_off,
            shut,
        ]  # newest first

        # Down walks the results; Enter opens one: the closed incident, read-only, with its whole timeline.
        for _ in range(3):
            await page.keyboard.press("ArrowDown")
        await expect(results.nth(2)).to_be_focused()
        await page.keyboard.press("Enter")
        detail = page.locator("#find-detail")
        await expect(detail.locator("h3")).to_contain_text(f"#{shut}")
        await expect(detail.locator("h3")).to_contain_text("closed")
        await expect(detail).to_contain_text("false alarm")
        await expect(detail).to_contain_text("Brandgeruch im Treppenhaus")
        await expect(detail.locator(".timeline li")).not_to_have_count(0)
        assert await detail.locator(".timeline li").count() >= 2  # created, closed at least
        await expect(detail.locator("button")).to_have_text(["Show on the console"])  # nothing else to press
        await expect(results.nth(2)).to_be_focused()  # the keyboard stays in the list to open the next
        assert not await serious_violations(page)
        await page.screenshot(path=Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "console-find.png")

        # Filters: only open ones; then a number finds the cancelled one alone.
        await page.locator("#find-status").select_option("open")
        await expect(results).to_have_count(1)
        await expect(results.first).to_have_attribute("data-id", str(still_open))
        await page.locator("#find-status").select_option("all")
        await page.locator("#find-q").fill(f"#{called_off}")
        await page.locator("#find-q").press("Enter")
        await expect(results).to_have_count(1)
        await expect(results.first).to_contain_text("cancelled")
        await page.locator("#find-q").press("ArrowDown")
        await page.keyboard.press("Enter")
        await expect(detail.locator("h3")).to_contain_text("cancelled")
        await expect(detail).to_contain_text("caller withdrew")

        # Esc closes; the keyboard goes back where it was.
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#map")).to_be_focused()

        # Esc in the words field, with words in it, closes at once too (not first emptying the field).
        await page.locator("#map").click()  # on the console again (a key right after typing would be typing)
        await page.keyboard.press("/")
        await expect(page.locator("#find-q")).to_be_focused()
        await expect(page.locator("#find-q")).not_to_have_value("")
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

        # By mouse: the header's button; the cancelled one on the console, its panel read-only.
        await page.locator("#find-open").click()
        await results.first.click()
        await page.locator("#find-show").click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{called_off}")
        await expect(page.locator("#incident-readonly")).to_be_visible()

        # A priority filter, and an open incident shown on the console.
        await page.locator("#find-open").click()
        await page.locator("#find-q").fill("Findling")
        await page.locator("#find-priority").select_option("4")
        await expect(results).to_have_count(1)
        # The one found by this search (the last search's one result may still be shown a moment).
        await expect(results.first).to_have_attribute("data-id", str(still_open))

        # While its panel is read (slowly here), the last one's panel and its Show button are gone.
        async def slowly(route):
            await asyncio.sleep(1.0)
            await route.continue_()

        await page.route(f"**/api/incidents/{still_open}", slowly)
        await results.first.click()
        await expect(page.locator("#find-detail")).to_contain_text(f"Reading incident #{still_open}")
        await expect(page.locator("#find-show")).to_have_count(0)
        await expect(detail.locator("h3")).to_contain_text(f"#{still_open}")
        await page.unroute(f"**/api/incidents/{still_open}")
        await page.locator("#find-show").click()
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{still_open}")
        assert not errors, errors
        await browser.close()
