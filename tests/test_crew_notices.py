"""What the crew's device at /unit/ must make plain (Debian's Chromium, Playwright, against the real service): an
incident moved while the crew is on it, a dispatcher's message that waited while the device was offline, and a
normal job whose requests all succeed."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.crew_app import LABELS, TRANSPORT, assign, call, free_unit, launch, on_a_job, signed_in
from tests.test_push import bearer, crews, device, next_of, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import TABLET, status_is, until

pytestmark = pytest.mark.slow


async def test_a_moved_incident_is_announced_on_the_device_with_the_new_address_and_route(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id, _, browser, page = await on_a_job(p, client, addr, crews, "Fell in the shop", TABLET, errors)
        await expect(page.locator("#job-address")).to_contain_text("Städtle")
        steps_before = await page.locator("#job-steps li").all_text_contents()
        await page.evaluate("window.vibrations = 0")
        # The dispatcher types the new address.
        moved = await client.patch(
            f"/api/incidents/{incident_id}",
            json={"location_text": "Landstrasse 100, Schaan"},
            headers=bearer(crews["dispatcher"]),
        )
        assert moved.status_code == 200, moved.text
        notice = page.locator("#notice")
        await expect(notice).to_have_class("notice moved", timeout=10_000)
        await expect(notice).to_contain_text("Location changed")
        await expect(notice).to_contain_text("Landstrasse")
        await expect(notice).to_contain_text("Schaan")
        await expect(page.locator("#job-address")).to_contain_text("Landstrasse")
        assert await page.evaluate("window.vibrations") >= 1  # the chime, as for a stand-down
        steps_after = await page.locator("#job-steps li").all_text_contents()
        assert steps_after and steps_after != steps_before  # directions to the new place
        # Then drags the pin back to Vaduz: a point, as the console sends it; said again, chimed again.
        await page.evaluate("window.vibrations = 0")
        dragged = await client.patch(
            f"/api/incidents/{incident_id}", json={"lat": 47.1395, "lon": 9.5226}, headers=bearer(crews["dispatcher"])
        )
        assert dragged.status_code == 200, dragged.text
        await expect(notice).to_have_class("notice moved", timeout=10_000)
        await expect(notice).to_contain_text("Vaduz")
        assert await page.evaluate("window.vibrations") >= 1
        await browser.close()
    assert not errors, errors


async def test_a_dispatchers_message_shows_when_it_was_sent_and_how_old_it_is(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        unit_id = next(iter(crews["units"]))
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], TABLET, errors)
        await page.clock.install()
        await page.context.set_offline(True)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
        sent = await client.post(
            f"/api/units/{unit_id}/messages", json={"text": "Use the back gate"}, headers=bearer(crews["dispatcher"])
        )
        assert sent.status_code in (200, 201), sent.text
        log = await client.get(f"/api/units/{unit_id}/messages", headers=bearer(crews["dispatcher"]))
        at = log.json()["messages"][0]["at"]
        sent_clock = await page.evaluate(
            """(at) => new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23",
                timeZone: localStorage.getItem("unit-tz") || undefined }).format(new Date(at))""",
            at,
        )
        await page.clock.fast_forward("05:00")  # the device comes back five minutes later
        await page.context.set_offline(False)
        await expect(page.locator("#inbox-text")).to_have_text("Use the back gate", timeout=15_000)
        await expect(page.locator("#inbox-from")).to_contain_text(f"sent {sent_clock}")
        await expect(page.locator("#inbox-from")).to_contain_text("min ago")
        await browser.close()
    assert not errors, errors


async def test_a_normal_job_makes_no_request_that_fails(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board = app.state.services.board
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id = await call(addr, crews, note="Fell from a ladder")
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        failed: list[str] = []
        page = await signed_in(browser, addr, crews["units"][unit_id], TABLET, errors)
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        await page.reload()  # a start with the token kept, as every shift begins
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        await assign(client, crews, incident_id, unit_id)
        await page.click("#ack", timeout=15_000)
        await until(lambda: status_is(board, unit_id, "acknowledged"))
        for status in TRANSPORT:
            await page.click(f"#statuses [data-status={status}]")
            await expect(page.locator("#notice")).to_have_text(f"“{LABELS[status]}” recorded.", timeout=10_000)
        await page.click("#jobs-open")
        await expect(page.locator("#jobs-list li").first).to_be_visible(timeout=10_000)
        await browser.close()
    assert not failed, failed
    assert not errors, errors


async def test_a_message_written_while_the_device_was_away_follows_the_current_it_resumes_with(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token, last_seq=0)
    await next_of(ws, "current")
    await ws.close()
    async with AsyncClient(base_url=f"http://{addr}") as client:
        sent = await client.post(
            f"/api/units/{unit_id}/messages", json={"text": "Call us back"}, headers=bearer(crews["dispatcher"])
        )
        assert sent.status_code in (200, 201), sent.text
    # A device that cannot be replayed to (its last seq of another Redis life) resumes with `current`: the
    # dispatcher's words are not in it and must still come.
    ws = await device(addr, token, last_seq=0)
    current = await next_of(ws, "current")
    message = await next_of(ws, "message", timeout=3)
    assert message["text"] == "Call us back" and message["sent_at"] <= current["sent_at"]
    await ws.close()


async def test_a_new_priority_reaches_the_crew_on_its_way_at_once_and_after_a_reload(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id, _, browser, page = await on_a_job(p, client, addr, crews, "Water in the cellar", TABLET, errors)
        before = await page.locator("#job-priority").text_content()
        new = 1 if before != "P1" else 2
        raised = await client.post(
            f"/api/incidents/{incident_id}/priority",
            json={"priority": new, "reason": "electrics under water"},
            headers=bearer(crews["dispatcher"]),
        )
        assert raised.status_code == 200, raised.text
        await expect(page.locator("#job-priority")).to_have_text(f"P{new}", timeout=10_000)
        await expect(page.locator("#notice")).to_contain_text(f"Priority changed: now P{new}")
        await page.reload()
        await expect(page.locator("#job-priority")).to_have_text(f"P{new}", timeout=15_000)
        await browser.close()
    assert not errors, errors
