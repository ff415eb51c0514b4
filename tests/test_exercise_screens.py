"""An exercise incident on the screens, in Debian's Chromium against the real service: the console's queue item
and the incident's title say EXERCISE, a real incident's do not; the crew's device heads the job with it."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.crew_app import assign, free_unit, launch, signed_in
from tests.test_console_calltaker import PLACE, calls_sent, incidents, open_form
from tests.test_console_incident import OTHER_FIRE, SMALL_FIRE, open_console, pick
from tests.test_console_talk import SCREEN
from tests.test_push import crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, PHONE

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


async def test_a_call_taker_marks_a_drill_in_the_form(serve, crews):  # noqa: F811
    """The call form's Exercise box: the call goes in as an exercise; the next call starts unmarked again."""
    _, addr = await serve(auto_dispatch_priorities=[])
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        sent = calls_sent(page)
        await open_form(page, addr, crews["call_taker"])
        await page.keyboard.type(PLACE)
        await page.locator("#call-narrative").fill("Drill: smoke in the stairwell")
        await page.get_by_label("Exercise: a drill, not a real call").check()
        await page.keyboard.press("Control+Enter")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        assert len(sent) == 1 and sent[0]["exercise"] is True, sent
        made = [i for i in await incidents(addr, crews["call_taker"]) if i.get("exercise")]
        assert len(made) == 1
        await expect(page.locator(f"#queue li[data-id='{made[0]['id']}'] .exercise-badge")).to_have_text("EXERCISE")
        await page.locator("#map").click()
        await page.keyboard.press("n")
        await expect(page.get_by_label("Exercise: a drill, not a real call")).not_to_be_checked()
        await browser.close()
