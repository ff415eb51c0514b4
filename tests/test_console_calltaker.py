"""The call-taker's form in Debian's Chromium (Playwright) against the real service: Enter never throws a call
away nor takes it (it moves on; Ctrl+Enter takes the call), leaving a started call asks first with "No" as the
default, a call without a chosen type goes out without type_code and gets the server's keyword type (shown before
it is taken), the type is searched by name or code from the keyboard; and POST /api/calls/classify behind it."""

import orjson
import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from dispatch.auth.models import Role
from dispatch.incidents.types import incident_types
from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import bearer, crews, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations

PLACE = "Städtle 23, Vaduz"
NARRATIVE = "Man fell down the stairs"


async def open_form(page: Page, addr: str, token: str) -> None:
    await sign_in(page, addr, token)
    await page.wait_for_selector("#conn[data-state=live]", timeout=20_000)
    await page.keyboard.press("n")
    await expect(page.locator("#call-location")).to_be_focused()


def calls_sent(page: Page) -> list[dict]:
    """The bodies of the calls the page posts (POST /api/calls), as it sends them."""
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/api/calls") else None,
    )
    return sent


async def incidents(addr: str, token: str) -> list[dict]:
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.get("/api/incidents", headers=bearer(token))
        assert response.status_code == 200
        return response.json()


@pytest.mark.slow
async def test_enter_moves_on_and_leaving_a_started_call_asks_first(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await open_form(page, addr, crews["dispatcher"])
        await page.keyboard.type(PLACE)
        await page.keyboard.press("Enter")  # it used to press Cancel, the form's first button
        await expect(page.locator("#call-number")).to_be_focused()  # the order a caller is asked in
        assert await page.locator("#call-dialog").get_attribute("open") is not None
        assert await page.input_value("#call-location") == PLACE
        assert await incidents(addr, crews["dispatcher"]) == []  # nothing was taken either

        await page.keyboard.press("Escape")
        ask = page.locator("#discard-dialog")
        await expect(ask).to_be_visible()
        assert "Discard this call?" in await ask.inner_text()
        await expect(page.locator("#discard-no")).to_be_focused()  # the default is No
        await page.keyboard.press("Enter")
        await expect(ask).to_be_hidden()
        assert await page.locator("#call-dialog").get_attribute("open") is not None
        assert await page.input_value("#call-location") == PLACE
        await expect(page.locator("#call-number")).to_be_focused()  # back where the call-taker was

        await page.keyboard.press("Escape")  # Esc in the question is No too
        await expect(ask).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(ask).to_be_hidden()
        assert await page.input_value("#call-location") == PLACE

        await page.click("#queue")  # the console again, then N for another call: asked too
        await page.keyboard.press("n")
        await expect(ask).to_be_visible()
        await page.click("#discard-no")
        await expect(page.locator("#call-location")).to_have_value(PLACE)
        await expect(page.locator("#call-location")).to_be_focused()

        await page.click("#call-cancel")  # Cancel asks the same; Yes throws the call away
        await expect(ask).to_be_visible()
        await page.click("#discard-yes")
        await expect(page.locator("#call-dialog")).to_be_hidden()
        await page.keyboard.press("n")
        await expect(page.locator("#call-location")).to_be_focused()
        await expect(page.locator("#call-location")).to_have_value("")
        await page.keyboard.press("Escape")  # nothing typed: nothing to ask about
        await expect(page.locator("#call-dialog")).to_be_hidden()
        await expect(ask).to_be_hidden()
        assert await incidents(addr, crews["dispatcher"]) == []
        assert not errors, errors
        await browser.close()


@pytest.mark.slow
async def test_a_call_without_a_chosen_type_is_typed_by_its_narrative(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    expected, _ = incident_types().suggest(NARRATIVE)  # the server's own keyword table
    assert expected.code != "CARDIAC"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        sent = calls_sent(page)
        await open_form(page, addr, crews["dispatcher"])
        await page.keyboard.type(PLACE)
        await page.fill("#call-narrative", NARRATIVE)
        # Before the call is taken, the form says which type the server will give it.
        await expect(page.locator("#call-plan")).to_contain_text(f"{expected.name} ({expected.code})")
        await page.focus("#call-name")
        await page.keyboard.type("Anna Beck")
        await page.keyboard.press("Enter")  # complete, but Enter only moves on: a call is taken by Ctrl+Enter
        await expect(page.locator("#call-narrative")).to_be_focused()
        assert sent == []
        await page.keyboard.press("Control+Enter")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        assert len(sent) == 1 and sent[0].get("type_code") is None, sent
        made = await incidents(addr, crews["dispatcher"])
        assert [(i["type_code"], i["priority"]) for i in made] == [(expected.code, expected.priority)]
        await browser.close()


@pytest.mark.slow
async def test_the_type_is_searched_by_name_and_code_from_the_keyboard(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    road = [t for t in incident_types() if "road" in t.name.lower() or "road" in t.code.lower()]
    assert {"RTC-INJ", "RTC-TRAP", "RTC"} <= {t.code for t in road}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        await open_form(page, addr, crews["dispatcher"])
        await page.focus("#call-type")
        await page.keyboard.type("Road")
        options = page.locator("#call-type-list [role=option]")
        await expect(options).to_have_count(len(road))
        texts = await options.all_inner_texts()
        for t, text in zip(road, texts, strict=True):
            assert text.startswith(t.name) and t.code in text  # the name first, not the priority
        assert await page.get_attribute("#call-type", "aria-expanded") == "true"
        assert await axe_violations(page) == []  # with the list open

        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        assert await page.get_attribute("#call-type", "aria-activedescendant") == "call-type-opt-1"
        await page.keyboard.press("Enter")  # picks; never submits nor discards
        await expect(page.locator("#call-type")).to_be_focused()
        assert await page.input_value("#call-type") == f"{road[1].name} ({road[1].code})"
        await expect(page.locator("#call-type-list")).to_be_hidden()
        await expect(page.locator("#call-plan")).to_contain_text(f"P{road[1].priority}")
        assert await page.locator("#call-dialog").get_attribute("open") is not None

        await page.fill("#call-type", "collision")  # by mouse too
        await page.locator("#call-type-list [role=option]").first.click()
        first = next(t for t in incident_types() if "collision" in t.name.lower())
        await expect(page.locator("#call-type")).to_have_value(f"{first.name} ({first.code})")
        await page.fill("#call-type", "rtc-trap")  # a code typed out is that type
        await expect(page.locator("#call-plan")).to_contain_text(f"P{incident_types().get('RTC-TRAP').priority}")
        await page.fill("#call-type", "no such type")  # not a type: the form refuses to take the call
        await page.fill("#call-location", PLACE)
        await page.click("#call-submit")
        assert not await page.locator("#call-type").evaluate("e => e.validity.valid")
        assert await page.locator("#call-dialog").get_attribute("open") is not None
        assert await incidents(addr, crews["dispatcher"]) == []

        await page.keyboard.press("Escape")  # the question, scanned too
        await expect(page.locator("#discard-dialog")).to_be_visible()
        assert await axe_violations(page) == []
        await browser.close()


@pytest.mark.slow  # the call taken alongside needs the bundled map
async def test_classify_answers_the_type_intake_would_give(client, auth, imported_map):
    taker = await auth(Role.call_taker)
    expected, _ = incident_types().suggest(NARRATIVE)
    found = await client.post("/api/calls/classify", headers=taker, json={"narrative": NARRATIVE})
    assert found.status_code == 200
    body = found.json()
    assert (body["type_code"], body["name"], body["priority"]) == (expected.code, expected.name, expected.priority)
    assert body["plan"] == expected.plan_dict() and body["matched"] and 0 < body["confidence"] <= 1
    made = await client.post("/api/calls", headers=taker, json={"location_text": PLACE, "narrative": NARRATIVE})
    assert made.status_code == 201 and made.json()["type_code"] == body["type_code"]  # the same rule

    nothing = await client.post("/api/calls/classify", headers=taker, json={"narrative": "   "})
    assert nothing.status_code == 200
    assert nothing.json()["type_code"] == incident_types().unknown.code and nothing.json()["confidence"] == 0
    for bad in ({}, {"narrative": 5}, {"narrative": NARRATIVE, "type_code": "FIRE"}, {"narrative": "x" * 4001}):
        refused = await client.post("/api/calls/classify", headers=taker, json=bad)
        assert refused.status_code == 422, bad
        assert refused.headers["content-type"] == "application/problem+json"
    bad_json = await client.post("/api/calls/classify", headers=taker, content=b"{")
    assert bad_json.status_code == 422
    commander = await auth(Role.commander)  # watches the floor, takes no calls
    assert (
        await client.post("/api/calls/classify", headers=commander, json={"narrative": NARRATIVE})
    ).status_code == 403
    assert orjson.loads((await client.post("/api/calls/classify", json={})).content)["status"] == 401
