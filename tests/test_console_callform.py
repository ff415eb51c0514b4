"""The call form's key questions and its duplicates, in Debian's Chromium against the real service: the questions
of the call's type appear as soon as the type is known (picked, or read from the narrative), Enter goes from one
answer to the next, the answers go with the call and are kept with the incident; a suspected duplicate is joined
in one key (Alt+1), the call attached to it rather than made a new incident."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.test_console_calltaker import PLACE, incidents, open_form
from tests.test_console_talk import SCREEN
from tests.test_push import bearer, crews, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations


async def take_call(addr: str, token: str, **body) -> dict:
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.post("/api/calls", json={"channel": "phone", **body}, headers=bearer(token))
        assert response.status_code == 201, response.text
        return response.json()


async def get(addr: str, token: str, path: str):
    async with AsyncClient(base_url=f"http://{addr}") as client:
        response = await client.get(path, headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.mark.slow
async def test_a_second_call_joins_the_incident_it_repeats_in_one_key(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    first = await take_call(addr, crews["dispatcher"], location_text=PLACE, type_code="FIRE-STRUCT")
    sent: list[dict] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        page.on(
            "request",
            lambda r: sent.append(r.post_data_json) if r.method == "POST" and r.url.endswith("/api/calls") else None,
        )
        await open_form(page, addr, crews["dispatcher"])
        await page.keyboard.type(PLACE)
        attach = page.locator(f"#call-duplicates [data-attach='{first['id']}']")
        await expect(attach).to_be_visible(timeout=10_000)
        await expect(attach).to_contain_text("Alt+1")
        await expect(page.locator("#call-duplicates")).to_contain_text("m ·")  # with its distance
        assert await axe_violations(page) == []
        await page.focus("#call-narrative")
        await page.keyboard.type("Smoke from the roof, second caller")
        await page.keyboard.press("Alt+1")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        assert len(sent) == 1 and sent[0]["duplicate_of"] == first["id"], sent
        # No new incident: the call joined the first, which the console now shows.
        assert [i["id"] for i in await incidents(addr, crews["dispatcher"])] == [first["id"]]
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{first['id']}")
        await browser.close()
