"""The console keeps the centre's clock: a browser set to another time zone still shows the centre's time (the
zone /api/me gives), on the header's clock and in the timeline."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.test_console_talk import SCREEN
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM

pytestmark = pytest.mark.slow
CALL = {"channel": "phone", "location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}


def centre_minutes(zone: str) -> set[str]:
    """This minute and the next on the centre's clock ("14:05"), so that a minute turning over does not fail."""
    now = datetime.now(UTC).astimezone(ZoneInfo(zone))
    return {f"{t:%H:%M}" for t in (now, now + timedelta(minutes=1))}


async def test_a_browser_in_another_zone_shows_the_centres_clock(serve, crews, settings):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    incident = await take_call(addr, crews["call_taker"], CALL)
    async with AsyncClient(base_url=f"http://{addr}") as client:
        me = (await client.get("/api/me", headers=bearer(crews["dispatcher"]))).json()
    assert me["time_zone"] == settings.report_time_zone == "Europe/Vaduz"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=SCREEN, timezone_id="America/New_York")  # 6 h behind Vaduz
        page = await context.new_page()
        await page.goto(f"http://{addr}/console/")
        await page.locator("#token").fill(crews["dispatcher"])
        await page.locator("#token").press("Enter")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await expect(page.locator("#clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
        shown = (await page.locator("#clock").text_content())[:5]
        assert shown in centre_minutes("Europe/Vaduz"), shown
        assert shown not in centre_minutes("America/New_York")
        await page.locator(f"#queue li[data-id='{incident}']").click()
        first = page.locator("#detail .timeline li time").first
        await expect(first).to_be_visible()
        assert (await first.text_content())[:5] in centre_minutes("Europe/Vaduz")
        await browser.close()


async def test_a_centre_that_counts_in_miles_reads_miles_and_feet_on_the_console(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[], distance_unit="mi")
    incident = await take_call(addr, crews["call_taker"], CALL)
    async with AsyncClient(base_url=f"http://{addr}") as client:
        me = (await client.get("/api/me", headers=bearer(crews["dispatcher"]))).json()
    assert me["distance_unit"] == "mi"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        await page.goto(f"http://{addr}/console/")
        await page.locator("#token").fill(crews["dispatcher"])
        await page.locator("#token").press("Enter")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await page.locator(f"#queue li[data-id='{incident}']").click()
        ranked = page.locator("#detail").get_by_text(re.compile(r" · \d+(\.\d)? mi\b| · \d+ ft\b")).first
        await expect(ranked).to_be_visible(timeout=10_000)
        assert not re.search(r"\d km\b| \d+ m\b", await page.locator("#detail").inner_text())
        await browser.close()
