"""The call form's key questions and its duplicates, in Debian's Chromium against the real service: the questions
of the call's type appear as soon as the type is known (picked, or read from the narrative), Enter goes from one
answer to the next, the answers go with the call and are kept with the incident; a suspected duplicate is joined
in one key (Alt+1), the call attached to it rather than made a new incident."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.test_console_calltaker import PLACE, calls_sent, incidents, open_form
from tests.test_console_talk import SCREEN
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations


async def get(addr: str, token: str, path: str):
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.mark.slow
async def test_a_second_call_joins_the_incident_it_repeats_in_one_key(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    first = await take_call(addr, crews["dispatcher"], {"location_text": PLACE, "type_code": "FIRE-STRUCT"})
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        sent = calls_sent(page)
        await open_form(page, addr, crews["dispatcher"])
        await page.keyboard.type(PLACE)
        attach = page.locator(f"#call-duplicates [data-attach='{first}']")
        await expect(attach).to_be_visible(timeout=10_000)
        await expect(attach).to_contain_text("Alt+1")
        await expect(page.locator("#call-duplicates")).to_contain_text("m ·")  # with its distance
        assert await axe_violations(page) == []
        await page.focus("#call-narrative")
        await page.keyboard.type("Smoke from the roof, second caller")
        await page.keyboard.press("Alt+1")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        assert len(sent) == 1 and sent[0]["duplicate_of"] == first, sent
        # No new incident: the call joined the first, which the console now shows.
        assert [i["id"] for i in await incidents(addr, crews["dispatcher"])] == [first]
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{first}")
        # The second caller's words are on the incident, not lost in the join.
        await expect(page.locator("#detail .calls")).to_contain_text("Smoke from the roof, second caller")
        await browser.close()


@pytest.mark.slow
async def test_the_types_key_questions_are_asked_and_their_answers_kept(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    types = {t["code"]: t for t in await get(addr, crews["dispatcher"], "/api/incident-types")}
    road, fall = types["RTC-INJ"]["questions"], types["FALL"]["questions"]
    assert len(road) >= 2 and len(fall) >= 2
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        await open_form(page, addr, crews["dispatcher"])
        await page.keyboard.type(PLACE)
        # Read from the narrative first: its type's questions appear before any type is picked.
        await page.fill("#call-narrative", "Man fell down the stairs")
        asked = page.locator("#call-questions input[data-question]")
        await expect(asked).to_have_count(len(fall))
        await expect(page.locator("#call-questions")).to_contain_text(fall[0])
        # A type picked by its code brings its own questions.
        await page.fill("#call-type", "RTC-INJ")
        await expect(asked).to_have_count(len(road))
        await expect(page.locator("#call-questions label").first).to_contain_text(road[0])
        await asked.nth(0).fill("Two cars")
        await asked.nth(0).press("Enter")  # on to the next question, not the form's Enter
        await expect(asked.nth(1)).to_be_focused()
        await page.keyboard.type("Yes")
        assert await axe_violations(page) == []
        await page.click("#call-submit")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        # The incident's panel shows them with the rest of what the caller said.
        await expect(page.locator("#detail .answers")).to_contain_text("Two cars")
        [made] = await incidents(addr, crews["dispatcher"])
        detail = await get(addr, crews["dispatcher"], f"/api/incidents/{made['id']}")
        assert detail["answers"] == [
            {"question": road[0], "answer": "Two cars"},
            {"question": road[1], "answer": "Yes"},
        ]
        await browser.close()


@pytest.mark.slow
async def test_enter_only_moves_on_and_typing_on_after_a_call_is_no_console_key(serve, crews):  # noqa: F811
    """A call-taker typed on after Enter had taken a half-recorded call: the call went out without its caller, and
    the letters that followed became console keys (O opened a note on another incident and saved the words)."""
    _, addr = await serve(auto_dispatch_priorities=[])
    posted: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
        await open_form(page, addr, crews["call_taker"])
        await page.keyboard.type(PLACE)
        await page.keyboard.press("Enter")
        await expect(page.locator("#call-number")).to_be_focused()
        await page.keyboard.type("+423 790 11 22")
        await page.keyboard.press("Enter")  # a place and a number: still not taken
        await expect(page.locator("#call-name")).to_be_focused()
        await page.fill("#call-type", "RTC-INJ")
        await page.focus("#call-type")
        await page.keyboard.press("Enter")  # picks it from the list
        await page.keyboard.press("Enter")  # a type too: Enter goes on to its first key question
        await expect(page.locator("#call-questions input").first).to_be_focused()
        assert not [u for u in posted if u.endswith("/api/calls")]
        await page.keyboard.press("Control+Enter")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        await page.keyboard.type("Two cars, one on its roof. Nobody trapped")  # still typing: no console key
        await expect(page.locator("#call-dialog")).to_be_hidden()
        assert not [u for u in posted if "/notes" in u]
        assert await page.evaluate("document.activeElement.tagName") not in ("INPUT", "TEXTAREA")
        assert len([u for u in posted if u.endswith("/api/calls")]) == 1
        await page.wait_for_timeout(1100)  # a key pressed on its own is a console key again
        await page.keyboard.press("n")
        await expect(page.locator("#call-location")).to_be_focused()
        await browser.close()
