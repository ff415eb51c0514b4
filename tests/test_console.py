"""The dispatcher console in Debian's Chromium (Playwright): take a call, see it queued, assign the
recommended unit from the keyboard, and watch the unit's status change when its device acknowledges."""

import asyncio
import os
import re
from pathlib import Path

import orjson
import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.test_push import crews, device, next_of, serve  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"


async def test_a_call_taken_in_the_console_is_assigned_and_acknowledged(serve, crews, tmp_path):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # recommend mode: the dispatcher assigns
    devices = {unit_id: await device(addr, token, last_seq=0) for unit_id, token in crews["units"].items()}
    hosts: set[str] = set()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # A script, style, image or socket the security policy refuses is logged as a console error.
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        await page.goto(f"http://{addr}/console/")
        await page.fill("#token", crews["dispatcher"])
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("#conn[data-state=live]", timeout=20_000)
        await page.wait_for_selector("#map canvas", state="attached")  # the map, drawn from our own data
        assert "OpenStreetMap contributors" in await page.inner_text(".leaflet-control-attribution")

        async with AsyncClient(base_url=f"http://{addr}") as client:  # an earlier call about the same fire
            earlier = await client.post(
                "/api/calls",
                headers={"Authorization": f"Bearer {crews['call_taker']}"},
                json={"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"},
            )
            assert earlier.status_code == 201
        await page.keyboard.press("n")
        await page.fill("#call-location", "Städtle 23, Vaduz")
        await page.fill("#call-type", "FIRE-OTHER")  # a code typed out is that type
        assert "engine" in await page.inner_text("#call-plan")
        await page.fill("#call-number", "+423 799 00 01")
        # Before the call is taken: where it is, and that it may repeat the earlier one.
        # Waits by locator, not wait_for_function: that evaluates a string, which the page's policy refuses.
        await expect(page.locator("#call-warning")).to_contain_text("duplicate", timeout=10_000)
        assert f"#{earlier.json()['id']}" in await page.inner_text("#call-warning")
        assert "Städtle 23" in await page.inner_text("#call-located")
        await page.click("#call-submit")
        await expect(page.locator("#queue-list li")).to_have_count(2, timeout=10_000)
        item = page.locator("#queue-list li").last
        await item.wait_for(timeout=10_000)
        assert "FIRE-OTHER" in await item.inner_text()
        await page.wait_for_selector("#assign", timeout=15_000)  # the recommendation is shown
        incident_id = int(await item.get_attribute("data-id"))

        await page.keyboard.press("a")  # assign the top recommendation
        for _ in range(100):
            chosen = [u.id for u in await app.state.services.board.units() if u.incident_id == incident_id]
            if chosen:
                break
            await asyncio.sleep(0.1)
        unit_id = chosen[0]
        message = await next_of(devices[unit_id], "assignment")
        assert message["incident_id"] == incident_id and message["slot"] == "engine"
        await devices[unit_id].send(orjson.dumps({"type": "ack", "of": message["id"], "id": "ack-1"}).decode())
        await next_of(devices[unit_id], "ok")
        call_sign = (await app.state.services.board.get(unit_id)).call_sign
        row = page.locator("#unit-board tr", has_text=call_sign).first
        await expect(
            page.locator("#unit-board tr")
            .filter(has=page.locator("td:first-child", has_text=re.compile(f"^{re.escape(call_sign)}$")))
            .locator("td.status")
        ).to_have_text("◇ acknowledged", timeout=10_000)  # its marker, then its words
        assert "acknowledged" in await row.inner_text()
        # DISPATCH_SCREENSHOTS=docs refreshes the picture in the docs; otherwise it goes to a temporary folder.
        shot = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "console.png"
        await page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert not errors, errors
        await browser.close()
    for ws in devices.values():
        await ws.close()
    assert hosts == {addr}  # no request left this service
