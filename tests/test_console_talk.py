"""A dispatcher talks with a crew from the console, in Debian's Chromium (Playwright) against the real service:
written by keyboard only and received by the unit's device as `message`, marked delivered when the device
acknowledges it, a quick phrase, an empty message refused in the form, the crew's answer (written offline) shown
with the unit's call sign and a badge until read, the conversation read back after a reload and merged with
live messages without doubles, a refusal from the server in its own words, axe."""

import os
import re
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect
from websockets.asyncio.client import ClientConnection

from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations, until

pytestmark = pytest.mark.slow
SCREEN = {"width": 1600, "height": 1000}


async def sign_in(page: Page, addr: str, token: str) -> None:
    """By keyboard: the token field is the page's first stop."""
    await page.goto(f"http://{addr}/console/")
    await page.keyboard.press("Tab")
    await page.keyboard.type(token)
    await page.keyboard.press("Enter")


async def tab_to(page: Page, selector: str, limit: int = 300) -> None:
    """Tab until the element is focused, as a dispatcher without a mouse would."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.locator(selector).evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} not reached by Tab")


async def crew_message(ws: ClientConnection) -> dict:
    """The device's next `message`, acknowledged as a device does."""
    message = await next_of(ws, "message")
    await ws.send(orjson.dumps({"type": "ack", "of": message["id"]}).decode())
    return message


async def test_a_dispatcher_and_a_crew_talk_through_the_console(serve, crews, tmp_path, settings):  # noqa: F811
    app, addr = await serve(matcher=False)
    board = app.state.services.board
    unit_id, token = next(iter(crews["units"].items()))
    call_sign = (await board.get(unit_id)).call_sign
    crew = await device(addr, token, last_seq=0)
    shots = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path)
    hosts: set[str] = set()
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        row = page.locator(f"#unit-board tr[data-unit='{unit_id}']")
        await expect(row.locator("td").first).to_have_text(call_sign)

        # From the unit's row, by keyboard: the form opens with the text field ready.
        await tab_to(page, f"button.talk-open[data-unit='{unit_id}']")
        await page.keyboard.press("Enter")
        dialog = page.locator("#talk-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#talk-title")).to_have_text(f"Message crew · {call_sign}")
        await expect(page.locator("#talk-text")).to_be_focused()
        await expect(page.locator("#talk-log")).to_contain_text("No messages")

        # Nothing written: refused in the form, said in words, nothing sent.
        await page.keyboard.press("Enter")
        await expect(page.locator("#talk-result")).to_have_text("Empty message: write something before sending.")
        await expect(page.locator("#talk-text")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#talk-log li.dispatch")).to_have_count(0)

        await page.keyboard.type("Take the north gate")
        await page.keyboard.press("Enter")
        message = await crew_message(crew)
        assert message["text"] == "Take the north gate" and message["from"], message
        await expect(page.locator("#talk-result")).to_have_text(f"Sent to {call_sign}.")
        await expect(page.locator("#talk-text")).to_have_value("")
        await expect(page.locator("#talk-text")).not_to_have_attribute("aria-invalid", "true")
        sent = page.locator("#talk-log li.dispatch")
        await expect(sent).to_have_count(1)  # once, though the answer and the consoles' event both tell of it
        # The device acknowledged it (crew_message): the consoles are told, and the line says when.
        delivered = re.compile(
            rf"^{re.escape(message['from'])} to {re.escape(call_sign)} · \d\d:\d\d · delivered \d\d:\d\d$"
        )
        await expect(sent.locator(".meta")).to_have_text(delivered)
        await expect(sent).to_contain_text("Take the north gate")

        # A quick phrase, by keyboard too.
        await tab_to(page, "#talk-quick button:text-is('Hold position')")
        await page.keyboard.press("Enter")
        assert (await crew_message(crew))["text"] == "Hold position"
        await expect(sent).to_have_count(2)

        # Escape closes, and the keyboard is back on the unit's button.
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(page.locator(f"button.talk-open[data-unit='{unit_id}']")).to_be_focused()

        # The crew answers; written offline five minutes ago, it arrives now: badge, announcement, then read.
        written = int(time.time() * 1000) - 5 * 60_000
        await crew.send(orjson.dumps({"type": "message", "text": "Need police", "at": written}).decode())
        badge = row.locator(".badge")
        await expect(badge).to_have_text("1", timeout=10_000)
        await expect(page.locator("#talk-announce")).to_have_text(f"Message from {call_sign}: Need police")
        await expect(page.locator("#talk-unread")).to_have_text("✉ 1 new message")
        await page.keyboard.press("m")  # the shortcut goes to the crew that wrote
        await expect(page.locator("#talk-title")).to_have_text(f"Message crew · {call_sign}")
        answer = page.locator("#talk-log li.crew")
        await expect(answer).to_contain_text("Need police")
        # On the centre's clock, as the console shows every time.
        offline = datetime.fromtimestamp(written / 1000, ZoneInfo(settings.report_time_zone)).strftime("%H:%M")
        await expect(answer.locator(".meta")).to_have_text(
            re.compile(rf"^{re.escape(call_sign)} · \d\d:\d\d · written offline at {offline}$")
        )
        await expect(badge).to_have_count(0)
        await expect(page.locator("#talk-unread")).to_be_hidden()
        await page.screenshot(path=str(shots / "console-talk.png"))
        assert not await axe_violations(page)
        await page.keyboard.press("Escape")

        # Reloaded, the console reads the conversation back from the service: both messages with their delivered
        # marks, the crew's answer with the moment it was written; nothing twice as live messages join it.
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await page.click(f"button.talk-open[data-unit='{unit_id}']")
        await expect(sent).to_have_count(2)
        await expect(sent.nth(0)).to_contain_text("Take the north gate")
        await expect(sent.nth(1)).to_contain_text("Hold position")
        for n in range(2):
            await expect(sent.nth(n).locator(".meta")).to_have_text(delivered)
        await expect(answer).to_have_count(1)
        await expect(answer.locator(".meta")).to_have_text(
            re.compile(rf"^{re.escape(call_sign)} · \d\d:\d\d · written offline at {offline}$")
        )
        await expect(page.locator("#talk-log li")).to_have_count(3)  # in the order they were written
        assert await page.locator("#talk-log li .text").all_inner_texts() == [
            "Take the north gate",
            "Hold position",
            "Need police",
        ]
        await crew.send(orjson.dumps({"type": "message", "text": "On scene in 2"}).decode())
        await expect(answer).to_have_count(2)
        await expect(answer.nth(1)).to_contain_text("On scene in 2")
        await page.keyboard.type("Copy")
        await page.keyboard.press("Enter")
        assert (await crew_message(crew))["text"] == "Copy"
        await expect(sent).to_have_count(3)
        await expect(sent.nth(2).locator(".meta")).to_have_text(delivered)
        await page.keyboard.press("Escape")
        await page.click(f"button.talk-open[data-unit='{unit_id}']")  # read back again: the same five lines
        await expect(page.locator("#talk-log")).to_have_attribute("aria-busy", "false")  # the read is merged
        await expect(page.locator("#talk-log li")).to_have_count(5)
        assert not await axe_violations(page)
        await page.keyboard.press("Escape")

        # A call-taker has no Message (a dispatcher's, roles.js); the server refuses one anyway.
        other = await browser.new_page(viewport=SCREEN)
        other.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(other, addr, crews["call_taker"])
        await expect(other.locator(f"#unit-board tr[data-unit='{unit_id}']")).to_be_visible(timeout=20_000)
        await expect(other.locator(f"button.talk-open[data-unit='{unit_id}']")).to_be_hidden()
        async with AsyncClient(base_url=f"http://{addr}") as client:
            refused = await client.post(
                f"/api/units/{unit_id}/messages", json={"text": "Call dispatch"}, headers=bearer(crews["call_taker"])
            )
        assert refused.status_code == 403 and "may not do this" in refused.json()["detail"]
        await browser.close()
    await crew.close()
    assert not errors, errors
    assert hosts == {addr}  # no request left this service
    assert (shots / "console-talk.png").stat().st_size > 10_000


async def test_the_crews_on_an_incident_are_written_to_from_its_detail(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns
    incident_id = await take_call(
        addr, crews["call_taker"], {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}
    )
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:

        async def picks():
            found = await client.get(f"/api/incidents/{incident_id}/recommendations")
            return found.status_code == 200 and found.json()["picks"]

        unit_id = (await until(picks))[0]["unit_id"]
        call_sign = (await app.state.services.board.get(unit_id)).call_sign
        crew = await device(addr, crews["units"][unit_id], last_seq=0)
        assigned = await client.post(f"/api/incidents/{incident_id}/assign", json={"unit_ids": [unit_id]})
        assert assigned.status_code == 200, assigned.text
        job = await next_of(crew, "assignment")
        await crew.send(orjson.dumps({"type": "ack", "of": job["id"]}).decode())

        errors: list[str] = []
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = await browser.new_page(viewport=SCREEN)
            page.on("pageerror", lambda e: errors.append(str(e)))
            await sign_in(page, addr, crews["dispatcher"])
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
            await page.click(f"#active-list li[data-id='{incident_id}']")
            on_it = page.locator("#detail-units li", has_text=call_sign)
            await expect(on_it).to_contain_text("acknowledged", timeout=10_000)
            await on_it.locator("button.talk-crew").click()
            await expect(page.locator("#talk-title")).to_have_text(f"Message crew · {call_sign}")

            # Written from elsewhere (another console, the API): this console's log shows it, with who wrote it.
            posted = await client.post(f"/api/units/{unit_id}/messages", json={"text": "Second engine on its way"})
            assert posted.status_code == 201, posted.text
            assert (await next_of(crew, "message"))["text"] == "Second engine on its way"
            entry = page.locator("#talk-log li.dispatch")
            await expect(entry).to_contain_text("Second engine on its way")
            await expect(entry.locator("strong")).to_have_text(posted.json()["from"])
            assert not await axe_violations(page)
            await browser.close()
    await crew.close()
    assert not errors, errors


async def test_a_message_never_acknowledged_is_marked_and_another_crews_answer_badged(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False, ack_deadline_s=0.2)  # no device for the first unit: never acknowledged
    (silent, _), (other, other_token) = list(crews["units"].items())[:2]
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        other_sign = await page.locator(f"#unit-board tr[data-unit='{other}'] td").first.inner_text()
        await page.click(f"button.talk-open[data-unit='{silent}']")
        await page.fill("#talk-text", "Call dispatch on the landline")
        await page.keyboard.press("Enter")
        entry = page.locator("#talk-log li.dispatch")
        await expect(entry).to_contain_text("sent")
        # Resent at each deadline, then given up on: the consoles' alert names the message, the log says so.
        await expect(entry).to_contain_text("not acknowledged: the crew may not have it", timeout=15_000)
        await expect(page.locator("#alert-list")).to_contain_text("not acknowledged")

        # Another crew writes while this one's log is open: its own badge, and the unit list says so.
        crew = await device(addr, other_token, last_seq=0)
        await crew.send(orjson.dumps({"type": "message", "text": "Fuel low"}).decode())
        await expect(page.locator(f"#unit-board tr[data-unit='{other}'] .badge")).to_have_text("1", timeout=10_000)
        await expect(page.locator(f"#unit-board tr[data-unit='{silent}'] .badge")).to_have_count(0)
        await expect(page.locator(f"#talk-unit option[value='{other}']")).to_have_text(f"{other_sign} (1 new)")
        assert not await axe_violations(page)  # with a badge on the board and the new-messages button
        await page.select_option("#talk-unit", str(other))
        await expect(page.locator("#talk-log li.crew")).to_contain_text("Fuel low")
        await expect(page.locator("#talk-log li.crew")).not_to_contain_text("written offline")  # written just now
        await expect(page.locator(f"#unit-board tr[data-unit='{other}'] .badge")).to_have_count(0)

        # No answer at all (the link broke): not called a refusal, and the text stays to send again.
        await page.route("**/api/units/*/messages", lambda route: route.abort())
        await page.fill("#talk-text", "Refuel at station 2")
        await page.keyboard.press("Enter")
        await expect(page.locator("#talk-result")).to_contain_text("Not sent: no answer from the service")
        await expect(page.locator("#talk-text")).to_have_value("Refuel at station 2")
        await expect(page.locator("#talk-log li.dispatch")).to_have_count(0)
        await browser.close()
        await crew.close()
    assert not errors, errors
