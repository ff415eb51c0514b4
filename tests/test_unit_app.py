"""The crew's device at /unit/ in Debian's Chromium (Playwright), against the real service: sign in with the
unit's token, position sent, an assignment with its alert and deadline, acknowledged, statuses (a refused one
said in plain words; one pressed offline queued and sent with its moment once back), a dispatcher's message shown
and the crew's replies reaching the consoles, `current` after a reload, a cancel, day and night themes, phone and
tablet layouts, axe."""

import asyncio
import os
import re
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import text
from websockets.asyncio.client import connect

from dispatch.incidents.types import incident_types
from tests.test_push import bearer, crews, next_of, serve, take_call  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent.parent / "console" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 412, "height": 915}
TABLET = {"width": 1280, "height": 800}
FLAG = "Gas cylinders stored in the basement"
VADUZ = {"latitude": 47.1392, "longitude": 9.5225}
# Counts vibrations: headless Chromium has no motor to ask.
VIBRATE = "window.vibrations = 0; navigator.vibrate = () => { window.vibrations += 1; return true; };"


async def axe_violations(page: Page, within: str | None = None, *, serious: bool = False) -> list[str]:
    """axe's violations on the page (or within one selector), each with where it was found; `serious`: only the
    serious and critical ones."""
    # Evaluated through the debugger, which the page's security policy does not govern (a script tag it would).
    await page.evaluate(AXE.read_text())
    return await page.evaluate(
        """async ([within, serious]) => (await axe.run(within || document, { resultTypes: ['violations'] }))
        .violations.filter(v => !serious || v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target).join(', ')})`)""",
        [within, serious],
    )


async def until(check, timeout: float = 15.0):
    for _ in range(int(timeout * 10)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_the_crew_takes_an_assignment_on_the_device(serve, crews, engine, tmp_path):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: we choose the unit
    try:
        await crew_takes_an_assignment(app, addr, crews, tmp_path, engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM premise_flags WHERE description = :d"), {"d": FLAG})


async def crew_takes_an_assignment(app, addr, crews, tmp_path, engine):  # noqa: F811
    board = app.state.services.board
    shots = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path)
    async with AsyncClient(base_url=f"http://{addr}") as client:
        flag = {"category": "hazard", "description": FLAG, "location_text": "Städtle 23, Vaduz"}
        added = await client.post("/api/premise-flags", json=flag, headers=bearer(crews["dispatcher"]))
        assert added.status_code == 201, added.text
        incident_id = await take_call(
            addr,
            crews["call_taker"],
            {
                "location_text": "Städtle 23, Vaduz",
                "type_code": "FIRE-OTHER",
                "caller_number": "+423 799 00 01",
                "caller_name": "Anna Beck",
                "narrative": "Smoke from the back of the building",
            },
        )

        async def picks():
            found = await client.get(
                f"/api/incidents/{incident_id}/recommendations", headers=bearer(crews["dispatcher"])
            )
            return found.status_code == 200 and found.json()["picks"]

        unit_id = (await until(picks))[0]["unit_id"]
        token = crews["units"][unit_id]
        call_sign = (await client.get("/api/units", headers=bearer(crews["dispatcher"]))).json()
        call_sign = next(u["call_sign"] for u in call_sign if u["id"] == unit_id)

        hosts: set[str] = set()
        errors: list[str] = []
        async with async_playwright() as p:
            browser = await p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
            )
            context = await browser.new_context(viewport=PHONE, geolocation=VADUZ, permissions=["geolocation"])
            await context.add_init_script(VIBRATE)
            page = await context.new_page()
            page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
            await page.goto(f"http://{addr}/unit/")
            await page.fill("#token", "dsp_not-a-token")
            await page.click("#login-form button[type=submit]")
            await expect(page.locator("#login-error")).to_contain_text("not accepted")
            await page.fill("#token", token)
            await page.click("#login-form button[type=submit]")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
            # The unit by its call sign (from welcome), not its account's name.
            await expect(page.locator("#unit-name")).to_have_text(call_sign)
            await expect(page.locator("#gps")).to_have_text("GPS on")
            await expect(page.locator("#map path.map-road").first).to_be_attached(
                timeout=10_000
            )  # the service's own layers

            async def located():  # the position message reached the board
                unit = await board.get(unit_id)
                return unit and unit.lat is not None and abs(unit.lat - VADUZ["latitude"]) < 1e-4

            await until(located)

            assigned = await client.post(
                f"/api/incidents/{incident_id}/assign",
                json={"unit_ids": [unit_id]},
                headers=bearer(crews["dispatcher"]),
            )
            assert assigned.status_code == 200, assigned.text
            # The assignment takes the screen: what, where, who called, with its alert and deadline.
            await expect(page.locator("body")).to_have_attribute("data-job", "new", timeout=15_000)
            await expect(page.locator("#map")).to_be_hidden()
            await expect(page.locator("#job-priority")).to_have_text(re.compile(r"^P[1-4]$"))
            # The type by its name, not its code.
            await expect(page.locator("#job-type")).to_have_text(incident_types().get("FIRE-OTHER").name)
            await expect(page.locator("#job-address")).to_contain_text("Städtle")
            await expect(page.locator("#job-narrative")).to_have_text("Smoke from the back of the building")
            await expect(page.locator("#job-callback")).to_have_attribute("href", "tel:+4237990001")
            await expect(page.locator("#job-callback-line")).to_contain_text("Caller Anna Beck:")
            await expect(page.locator("#ack-countdown")).to_contain_text("s left")
            await expect(page.locator("#job-flags li")).to_have_text(f"⚠ hazard: {FLAG}")
            await page.screenshot(path=str(shots / "unit-phone.png"))
            assert not await axe_violations(page)
            await expect(page.locator("body")).to_have_attribute("data-alerting", "true")
            assert await page.evaluate("window.vibrations") >= 1

            await page.click("#ack")
            await expect(page.locator("body")).to_have_attribute("data-job", "working")
            await expect(page.locator("body")).to_have_attribute("data-alerting", "false")
            await until(lambda: status_is(board, unit_id, "acknowledged"))
            await expect(page.locator("#statuses-for")).to_have_text(
                f"Status for incident #{incident_id}: {incident_types().get('FIRE-OTHER').name}"
            )

            # Turn by turn from the route, and the device's own navigation app as a fallback.
            await expect(page.locator("#job-directions")).to_be_visible(timeout=10_000)
            await page.click("#job-directions summary")
            await expect(page.locator("#job-steps li").first).to_contain_text("Head")
            await expect(page.locator("#job-steps li").last).to_have_text("Arrive at the destination")
            await expect(page.locator("#job-navigate")).to_have_attribute(
                "href", re.compile(r"^geo:47\.\d+,9\.\d+\?q=")
            )
            # The dispatcher corrects the place: the crew sees the new address and a new route at once.
            moved = await client.patch(
                f"/api/incidents/{incident_id}",
                json={"location_text": "Landstrasse 100, Schaan"},
                headers=bearer(crews["dispatcher"]),
            )
            assert moved.status_code == 200, moved.text
            await expect(page.locator("#job-address")).to_contain_text("Landstrasse", timeout=10_000)
            await expect(page.locator("#job-municipality")).to_have_text("Schaan")
            await expect(page.locator("#job-steps li").last).to_have_text("Arrive at the destination")

            await page.click("#statuses [data-status=transporting]")  # a skip: refused, and said so
            await expect(page.locator("#notice")).to_contain_text("Refused", timeout=10_000)
            # Offline, a press (and a message) is kept on the device with its moment, shown as waiting, and sent
            # in order once back.
            console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
            await next_of(console, "snapshot")
            await context.set_offline(True)
            await expect(page.locator("#conn")).to_have_attribute("data-state", "offline", timeout=10_000)
            await page.click("#statuses [data-status=en_route]")
            await expect(page.locator("#outbox")).to_contain_text("Waiting to send: En route")
            await expect(page.locator("#notice")).to_contain_text("waiting to send")
            await page.click("#talk summary")
            await page.click("#quick button:text('Delayed by traffic')")
            await expect(page.locator("#outbox p")).to_have_count(2)
            assert not await axe_violations(page)
            await page.click("#talk summary")
            await asyncio.sleep(0.5)
            assert (await board.get(unit_id)).status == "acknowledged"
            await context.set_offline(False)
            await expect(page.locator("#notice")).to_contain_text("recorded", timeout=15_000)
            await expect(page.locator("#outbox")).to_be_hidden()
            late = await next_of(console, "unit.message")
            assert (late["unit_id"], late["text"]) == (unit_id, "Delayed by traffic") and late.get("at"), late
            await expect(page.locator("#statuses [data-status=en_route]")).to_have_attribute("aria-pressed", "true")
            await until(lambda: status_is(board, unit_id, "en_route"))
            async with engine.connect() as conn:
                events = (
                    await conn.scalars(
                        text("SELECT payload FROM incident_events WHERE incident_id = :i AND kind = 'en_route'"),
                        {"i": incident_id},
                    )
                ).all()
            assert len(events) == 1 and events[0]["device_at"], events  # sent once, with the moment of the press

            # A dispatcher's words, shown with who wrote them; the crew's quick reply reaches the consoles.
            posted = await client.post(
                f"/api/units/{unit_id}/messages",
                json={"text": "Use the north gate"},
                headers=bearer(crews["dispatcher"]),
            )
            assert posted.status_code in (200, 201), posted.text
            await expect(page.locator("#inbox-text")).to_have_text("Use the north gate", timeout=10_000)
            await expect(page.locator("#inbox-from")).to_contain_text(posted.json()["from"])
            await page.click("#talk summary")
            # The conversation kept by the service: what the dispatcher wrote can be read again.
            await expect(page.locator("#talk-log li.to_crew").last).to_contain_text("Use the north gate")
            await page.click("#quick button:text('Need police')")
            wrote = await next_of(console, "unit.message")
            assert (wrote["unit_id"], wrote["text"]) == (unit_id, "Need police")
            await page.fill("#talk-text", "Two patients, one trapped")
            await page.click("#talk-form button[type=submit]")
            assert (await next_of(console, "unit.message"))["text"] == "Two patients, one trapped"
            await console.close()
            for button in await page.locator("#statuses button, #quick button, #inbox-seen, #talk summary").all():
                assert (await button.bounding_box())["height"] >= 48

            assert not await axe_violations(page)
            await page.click("#inbox-seen")
            await expect(page.locator("#inbox")).to_be_hidden()

            # A device that lost what it held says hello with 0: `current` puts the job back as it stands.
            await page.evaluate("localStorage.removeItem('unit-job'); localStorage.setItem('unit-last-seq', '0')")
            await page.reload()
            await expect(page.locator("#statuses [data-status=en_route]")).to_have_attribute(
                "aria-pressed", "true", timeout=15_000
            )
            await expect(page.locator("#job-address")).to_contain_text("Landstrasse")  # as corrected

            await page.set_viewport_size(TABLET)
            await page.click("#theme")
            await expect(page.locator("html")).to_have_attribute("data-theme", "night")
            await expect(page.locator("#map")).to_be_visible()
            await page.screenshot(path=str(shots / "unit-tablet.png"))
            assert not await axe_violations(page)

            cancelled = await client.post(
                f"/api/incidents/{incident_id}/cancel",
                json={"reason": "false alarm"},
                headers=bearer(crews["dispatcher"]),
            )
            assert cancelled.status_code == 200, cancelled.text
            await expect(page.locator("#job")).to_be_hidden(timeout=10_000)
            await expect(page.locator("#notice")).to_contain_text(f"Stood down from incident #{incident_id}")
            await context.close()

            # Location refused: said on screen, and the device keeps working.
            context = await browser.new_context(viewport=PHONE)
            page = await context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://{addr}/unit/")
            await page.fill("#token", token)
            await page.click("#login-form button[type=submit]")
            await expect(page.locator("#gps")).to_contain_text("Location refused", timeout=10_000)
            await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
            await browser.close()
        assert not errors, errors
        assert hosts == {addr}  # no request left this service
        for shot in ("unit-phone.png", "unit-tablet.png"):
            assert (shots / shot).stat().st_size > 10_000


async def status_is(board, unit_id: int, status: str) -> bool:
    unit = await board.get(unit_id)
    return unit is not None and unit.status == status
