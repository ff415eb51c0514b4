"""What a crew must not miss on its device, and what it must not do by a slip (Chromium, the real service): the
unit set out of service as not responding is said on a red line until the crew is available again; a stand-down
chimes; the keyboard lands on Acknowledge; the next status is marked; out of service and sign out ask for a
second tap; a status that needs a job is not sent without one."""

import asyncio

from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_push_team import CALL, assign
from tests.test_unit_app import CHROMIUM, PHONE, VADUZ, VIBRATE, axe_violations, status_is, until


async def test_the_crew_is_told_it_is_out_of_service_and_is_kept_from_slips(serve, crews):  # noqa: F811
    # A short deadline: the assignment left unacknowledged escalates within seconds.
    app, addr = await serve(auto_dispatch_priorities=[], ack_deadline_s=1.0)
    board = app.state.services.board
    unit_id = sorted(crews["units"])[0]
    dispatcher = crews["dispatcher"]
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=PHONE, geolocation=VADUZ, permissions=["geolocation"])
        await context.add_init_script(VIBRATE)
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"http://{addr}/unit/")
        await page.fill("#token", crews["units"][unit_id])
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        await expect(page.locator("#statuses [data-status=available]")).to_have_attribute("aria-pressed", "true")

        # Without a job, a status about one is not sent, and the crew is told why.
        await page.click("#statuses [data-status=en_route]")
        await expect(page.locator("#notice")).to_contain_text("this unit has none now")
        assert (await board.get(unit_id)).status == "available"

        # An alert nobody acknowledges: the unit is set out of service, and the device says so, loudly.
        missed = await take_call(addr, crews["call_taker"], CALL)
        await assign(client, dispatcher, missed, unit_id)
        await expect(page.locator("body")).to_have_attribute("data-job", "new", timeout=15_000)
        assert await page.evaluate("document.activeElement.id") == "ack"  # the keyboard is on Acknowledge
        await until(lambda: status_is(board, unit_id, "out_of_service"))
        await expect(page.locator("#oos")).to_be_visible(timeout=10_000)
        await expect(page.locator("#oos")).to_contain_text("OUT OF SERVICE")
        await expect(page.locator("#job")).to_be_hidden()
        await expect(page.locator("#statuses [data-status=out_of_service]")).to_have_attribute("aria-pressed", "true")
        await expect(page.locator("#statuses [data-status=available]")).to_have_class("status next")
        assert not await axe_violations(page)
        await page.click("#statuses [data-status=available]")
        await expect(page.locator("#oos")).to_be_hidden(timeout=10_000)
        await until(lambda: status_is(board, unit_id, "available"))

        # A job worked: the next status is marked; out of service wants a second tap; a stand-down chimes.
        await page.evaluate("window.vibrations = 0")
        job = await take_call(addr, crews["call_taker"], CALL)
        await assign(client, dispatcher, job, unit_id)
        await page.click("#ack", timeout=15_000)
        await expect(page.locator("#statuses [data-status=en_route]")).to_have_class("status next")
        await page.click("#statuses [data-status=out_of_service]")
        await expect(page.locator("#statuses [data-status=out_of_service]")).to_have_text("Tap again: out of service")
        await asyncio.sleep(4.5)  # not tapped again: nothing sent, the button is itself again
        await expect(page.locator("#statuses [data-status=out_of_service]")).to_have_text("Out of service")
        assert (await board.get(unit_id)).status == "acknowledged"
        vibrations = await page.evaluate("window.vibrations")
        cancelled = await client.post(
            f"/api/incidents/{job}/cancel", json={"reason": "fire out"}, headers=bearer(dispatcher)
        )
        assert cancelled.status_code == 200, cancelled.text
        await expect(page.locator("#notice")).to_contain_text("fire out", timeout=10_000)
        assert await page.evaluate("window.vibrations") > vibrations

        # Sign out wants a second tap too: a token is long to type again in a moving vehicle.
        await page.click("#sign-out")
        await expect(page.locator("#sign-out")).to_have_text("Tap again to sign out")
        await expect(page.locator("#app")).to_be_visible()
        await page.click("#sign-out")
        await expect(page.locator("#login")).to_be_visible()
        await browser.close()
    assert not errors, errors
