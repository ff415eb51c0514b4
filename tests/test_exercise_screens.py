"""An exercise incident on the screens, in Debian's Chromium against the real service: the console's queue item
and the incident's title say EXERCISE, a real incident's do not; the crew's device heads the job with it."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.crew_app import assign, free_unit, launch, signed_in
from tests.test_console_incident import OTHER_FIRE, SMALL_FIRE, open_console, pick
from tests.test_push import crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import PHONE

pytestmark = pytest.mark.slow


async def test_the_console_and_the_crew_see_exercise_on_a_drill_only(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: the incidents stay in the queue
    drill = await take_call(addr, crews["call_taker"], {**SMALL_FIRE, "exercise": True})
    real = await take_call(addr, crews["call_taker"], OTHER_FIRE)
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        page, console_errors = await open_console(p, addr, crews["dispatcher"])
        await expect(page.locator(f"#queue li[data-id='{drill}'] .exercise-badge")).to_have_text("EXERCISE")
        await expect(page.locator(f"#queue li[data-id='{real}']")).to_be_visible()
        await expect(page.locator(f"#queue li[data-id='{real}'] .exercise-badge")).to_have_count(0)
        await pick(page, drill)
        await expect(page.locator("#incident-title .exercise-badge")).to_have_text("EXERCISE")
        await pick(page, real)
        await expect(page.locator("#incident-title .exercise-badge")).to_have_count(0)

        unit_id = await free_unit(client, crews, drill)
        device = await signed_in(await launch(p), addr, crews["units"][unit_id], PHONE, errors)
        await expect(device.locator("#job-exercise")).to_be_hidden()
        await assign(client, crews, drill, unit_id)
        await expect(device.locator("body")).to_have_attribute("data-alerting", "true", timeout=15_000)
        await expect(device.locator("#job-exercise")).to_be_visible()
        await expect(device.locator("#job-exercise")).to_have_text("EXERCISE · not a real call")
    assert errors == [] and console_errors == []
