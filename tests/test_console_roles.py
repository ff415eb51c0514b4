"""Each role sees the console the server allows it, in Debian's Chromium against the real service: a call-taker
takes calls, corrects places and writes notes but neither assigns, reprioritises, cancels, closes nor writes to
crews, by button or by key; a commander's console only watches; a dispatcher has all of it. No key a role presses
sends what the server refuses (403)."""

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, async_playwright, expect

from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from tests.builders import make_user_with_token
from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM

pytestmark = pytest.mark.slow
GUARDED = ("/assign", "/messages")  # a dispatcher's requests (matching, units routes: Dispatcher)
# The incident panel's controls by who may use them (incidents and matching routes: Dispatcher, TakesCalls).
DISPATCHERS = ("#assign", ".assign-one", "#add-unit", "#reprioritise", "#cancel-incident", "#close-incident")
FLOORS = ("#add-note", "#move-incident")
PAUSE_MS = 1100  # a console key counts only a second after another printable key (console/static/keys.js)


async def shown(page: Page, selectors: tuple[str, ...]) -> list[str]:
    """Those of the selectors that are on the page and visible (each is drawn for this pending incident)."""
    for selector in selectors:
        await expect(page.locator(selector).first).to_be_attached()
    return [s for s in selectors if await page.locator(s).first.is_visible()]


async def open_incident(page: Page, incident_id: int) -> None:
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
    await page.locator(f"#queue-list li[data-id='{incident_id}']").click()
    await expect(page.locator("#detail h2").first).to_contain_text(f"#{incident_id}")
    await expect(page.locator("#assign")).to_be_attached()  # recommendations drawn


async def test_each_role_has_the_controls_the_server_allows_it(serve, crews, settings, engine):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # recommend mode: the incident waits for a dispatcher
    async with make_sessionmaker(engine)() as session:
        _, commander = await make_user_with_token(session, settings, role=Role.commander)
        await session.commit()
    incident_id = await take_call(
        addr, crews["call_taker"], {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}
    )
    refused: list[str] = []
    guarded: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

        async def console(token: str) -> Page:
            page = await (await browser.new_context(viewport=SCREEN)).new_page()
            page.on("response", lambda r: refused.append(r.url) if r.status == 403 else None)
            page.on("request", lambda r: guarded.append(r.url) if urlsplit(r.url).path.endswith(GUARDED) else None)
            await sign_in(page, addr, token)
            await open_incident(page, incident_id)
            return page

        # The call-taker: new call by N, notes kept for later; no assign, no message, by button or key.
        page = await console(crews["call_taker"])
        await expect(page.locator("body")).to_have_attribute("data-role", "call_taker")
        # Waiting for a dispatcher (recommend mode), held by the matcher only to keep its ranking fresh: not "matching".
        waiting = page.locator(f"#queue-list li[data-id='{incident_id}']")
        await expect(waiting).to_contain_text("· for a dispatcher")
        await expect(waiting).not_to_contain_text("matching")
        assert await shown(page, DISPATCHERS) == []
        assert await shown(page, FLOORS) == list(FLOORS)
        await expect(page.locator("button.talk-open").first).to_be_attached()
        assert await page.locator("button.talk-open:visible").count() == 0
        await expect(page.locator(".keys")).to_have_text(
            "N new call · J/K queue · O note · / find · X ack alert · Esc close", use_inner_text=True
        )
        await page.locator("#detail h2").first.click()  # the keys are the page's, not a field's
        for key in ("a", "m", "A"):
            await page.keyboard.press(key)
        await expect(page.locator("#talk-dialog")).to_be_hidden()
        await page.wait_for_timeout(PAUSE_MS)  # a key counts on its own, a second after any other
        await page.keyboard.press("n")
        await expect(page.locator("#call-dialog")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#call-dialog")).to_be_hidden()
        await expect(page.locator("#find-open")).to_be_visible()
        await page.wait_for_timeout(PAUSE_MS)
        await page.keyboard.press("o")  # a note: the call-taker's too
        await expect(page.locator("#note-text")).to_be_focused()
        await page.keyboard.type("Caller rang again: smoke thicker")
        async with page.expect_response(lambda r: r.url.endswith("/notes")) as noted:
            await page.keyboard.press("Enter")
        assert (await noted.value).status == 201

        # The commander watches: no new call, no assign, no message; the detail and Find are there.
        page = await console(commander)
        await expect(page.locator("body")).to_have_attribute("data-role", "commander")
        await expect(page.locator(".keys")).to_have_text(
            "J/K queue · / find · X ack alert · Esc close", use_inner_text=True
        )
        assert await shown(page, DISPATCHERS) == [] and await shown(page, FLOORS) == []
        assert await page.locator("button.talk-open:visible").count() == 0
        await page.locator("#detail h2").first.click()
        for key in ("n", "a", "m", "o", "N"):
            await page.keyboard.press(key)
        await expect(page.locator("#note-text")).to_have_count(0)  # no note dialog opened
        await expect(page.locator("#call-dialog")).to_be_hidden()
        await expect(page.locator("#talk-dialog")).to_be_hidden()
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{incident_id}")

        assert not guarded, f"a call-taker or commander sent a dispatcher's request: {guarded}"

        # The dispatcher has every control, and its A assigns.
        page = await console(crews["dispatcher"])
        assert await shown(page, DISPATCHERS + FLOORS) == list(DISPATCHERS + FLOORS)
        await expect(page.locator("button.talk-open").first).to_be_visible()
        await expect(page.locator(".keys")).to_contain_text("A assign · O note · M message crew", use_inner_text=True)
        await page.locator("#detail h2").first.click()
        async with page.expect_response(lambda r: r.url.endswith("/assign")) as answer:
            await page.keyboard.press("a")
        assert (await answer.value).status == 200
        await page.wait_for_timeout(PAUSE_MS)
        await page.keyboard.press("m")
        await expect(page.locator("#talk-dialog")).to_be_visible()
        await browser.close()
    assert not refused, f"refused (403): {refused}"
