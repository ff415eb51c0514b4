"""The dispatcher's controls on one incident, in Debian's Chromium (Playwright) against the real service with
the crews' units: any recommended unit sent (not only the pick), a unit added by its call sign, a busy one
diverted after a confirmation naming the incident it leaves, the units on the incident with their status; the
keyboard's A; axe on the panel. The incident's own changes (note, priority, place, cancel, close) are in
tests/test_console_incident_life.py."""

import asyncio
import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations

pytestmark = pytest.mark.slow
SMALL_FIRE = {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}
OTHER_FIRE = {"location_text": "Landstrasse 100, Schaan", "type_code": "FIRE-OTHER"}


async def open_console(p, addr: str, token: str, screen: dict = SCREEN) -> tuple[Page, list[str]]:
    """A signed-in console, live, collecting page errors and every console error (a refused request among them)."""
    browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    page = await browser.new_page(viewport=screen, has_touch=True)  # a touch screen with a mouse and keys
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    await sign_in(page, addr, token)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
    return page, errors


async def pick(page: Page, incident_id: int) -> None:
    """Selects the incident from the queue or the active list, by mouse."""
    await page.locator(f"#queue li[data-id='{incident_id}']").click()
    await expect(page.locator("#incident-title")).to_contain_text(f"#{incident_id}")


async def panel_violations(page: Page) -> list[str]:
    """axe on the incident's panel: serious and critical findings only."""
    return await axe_violations(page, "#detail", serious=True)


async def unit_on(board, unit_id: int, incident_id: int, timeout: float = 10.0) -> None:
    for _ in range(int(timeout * 10)):
        unit = await board.get(unit_id)
        if unit.incident_id == incident_id:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"unit {unit_id} is on {unit.incident_id}, not {incident_id}")


async def test_a_dispatcher_sends_any_ranked_unit_adds_one_and_diverts_one(serve, crews, tmp_path):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # recommend mode: the dispatcher decides
    board = app.state.services.board
    first = await take_call(addr, crews["call_taker"], SMALL_FIRE)
    second = await take_call(addr, crews["call_taker"], OTHER_FIRE)
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"])
        await pick(page, first)

        # The slot's pick and the next best behind it, each with its own button; the second best is sent.
        recs = page.locator("#incident-recs")
        await expect(recs.locator("li.pick")).to_have_count(1, timeout=15_000)
        alternative = recs.locator("li.alternative").first
        await expect(alternative).to_contain_text("min")
        chosen = int(await alternative.get_attribute("data-unit"))
        top = int(await recs.locator("li.pick").get_attribute("data-unit"))
        assert chosen != top
        sign = (await board.get(chosen)).call_sign
        await alternative.get_by_role("button", name=re.compile(f"^Assign {re.escape(sign)}")).tap()  # by touch
        await unit_on(board, chosen, first)
        on_it = page.locator(f"#detail-units li[data-unit='{chosen}']")
        await expect(on_it).to_contain_text(re.compile(f"{re.escape(sign)} · (dispatched|acknowledged)"))
        await expect(on_it).to_contain_text(re.compile(r"ETA \d\d:\d\d \(\d+ min\)"))  # by road, from where it is
        await expect(page.locator("#incident-result")).to_contain_text(f"Assigned {sign}")
        assert (await board.get(top)).incident_id is None  # the pick stays free

        # Any free unit, by its call sign (typed; the list offers the free ones first).
        medic = next(u for u in await board.units() if u.status == "available" and u.call_sign.startswith("Medic"))
        await page.fill("#add-unit-sign", medic.call_sign)
        await page.keyboard.press("Enter")
        await unit_on(board, medic.id, first)
        await expect(page.locator(f"#detail-units li[data-unit='{medic.id}']")).to_be_visible()

        # The second fire: the keyboard's A sends its recommended set.
        await pick(page, second)
        recommended = page.locator("#incident-recs li.pick")
        await expect(recommended).to_have_count(1, timeout=15_000)
        second_pick = int(await recommended.get_attribute("data-unit"))
        await page.keyboard.press("a")
        await unit_on(board, second_pick, second)

        # The unit sent to the first fire is taken to the second too: asked first, naming the incident it leaves.
        await page.fill("#add-unit-sign", sign)
        await page.click("#add-unit button[type=submit]")
        dialog = page.locator("#ask-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog).to_contain_text(f"leaves P3 #{first} for P3 #{second}")
        await expect(page.locator("#ask-title")).to_have_text(f"Divert {sign}?")
        await page.keyboard.press("Escape")  # No: nothing changes, the keyboard is back where it was
        await expect(dialog).to_be_hidden()
        assert (await board.get(chosen)).incident_id == first
        await page.click("#add-unit button[type=submit]")
        await page.click("#ask-ok")
        await unit_on(board, chosen, second)
        await expect(page.locator(f"#detail-units li[data-unit='{chosen}']")).to_be_visible()
        await expect(page.locator(f"#detail-units li[data-unit='{second_pick}']")).to_be_visible()
        shot = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "console-incident.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert await panel_violations(page) == []
        assert errors == []
