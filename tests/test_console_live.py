"""The console stays true while it is open: in Debian's Chromium (Playwright) against the real service, the live
unit board after a run of changes (assignments, a unit set out of service and one back from its scene by hand, a
stand-down, a cancel, a diversion) reads row for row as a console loaded afresh reads it."""

import re

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, until

pytestmark = pytest.mark.slow
CALL = {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}


async def board(page: Page) -> list[list[str]]:
    """Each unit's call sign, status and incident, as the board shows them."""
    return await page.locator("#unit-board tbody tr").evaluate_all(
        "rows => rows.map(r => [0, 2, 4].map(i => r.cells[i].innerText.trim()))"
    )


async def live_console(browser, addr: str, token: str) -> Page:
    page = await browser.new_page(viewport=SCREEN)
    await sign_in(page, addr, token)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
    return page


async def test_the_live_board_reads_as_a_fresh_one_after_every_kind_of_change(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    token = crews["dispatcher"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        live = await live_console(browser, addr, token)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:
            free = [u["id"] for u in (await api.get("/api/units")).json() if u["status"] == "available"]
            one, two, three = [await take_call(addr, token, CALL) for _ in range(3)]

            async def assign(incident: int, *units: int, divert: bool = False) -> None:
                r = await api.post(
                    f"/api/incidents/{incident}/assign", json={"unit_ids": list(units), "divert": divert}
                )
                assert r.status_code == 200, r.text

            async def status(unit: int, value: str, reason: str | None = "test") -> None:
                body = {"status": value, **({"reason": reason} if reason else {})}
                r = await api.post(f"/api/units/{unit}/status", json=body)
                assert r.status_code == 200, r.text

            await assign(one, free[0], free[1])
            await assign(two, free[2], free[3])
            await assign(three, free[4])
            await expect(live.locator(f"#unit-board tr[data-unit='{free[0]}'] button.job")).to_contain_text(f"#{one}")
            await status(free[0], "out_of_service")  # taken off its job by hand: its row must drop the incident
            r = await api.post(f"/api/incidents/{one}/units/{free[1]}/stand-down", json={"reason": "not needed"})
            assert r.status_code == 200, r.text
            await status(free[2], "on_scene")
            await status(free[2], "returning", None)  # done there: free, on no incident
            await assign(one, free[3], divert=True)  # from #two to #one
            r = await api.post(f"/api/incidents/{three}/cancel", json={"reason": "false alarm"})
            assert r.status_code == 200, r.text

        fresh = await live_console(browser, addr, token)
        want = await board(fresh)
        assert any(row[2] == "—" for row in want)

        async def same() -> bool:
            return await board(live) == want

        try:
            await until(same, 10)
        except AssertionError:
            shown = await board(live)
            wrong = [(row, want[i] if i < len(want) else None) for i, row in enumerate(shown) if row not in want]
            assert not wrong, f"the live board (left) against a fresh one: {wrong}"
        await browser.close()


async def test_recommendations_follow_a_unit_taken_elsewhere_and_a_never_acts_on_a_stale_pick(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # the matcher recommends, the dispatcher sends
    token = crews["dispatcher"]
    here, there, third = [await take_call(addr, token, CALL) for _ in range(3)]
    deaf = {"on": False}  # while on, the console hears no unit's change (as a console a moment behind)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)

        def relay(ws) -> None:
            server = ws.connect_to_server()
            server.on_message(lambda m: None if deaf["on"] and '"type":"unit.' in str(m) else ws.send(m))

        await page.route_web_socket("**/ws/console", relay)
        await sign_in(page, addr, token)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        picks = page.locator("#incident-recs li.pick")
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:
            await page.locator(f"#queue li[data-id='{here}']").click()
            await expect(picks).to_have_count(1, timeout=15_000)
            taken = int(await picks.first.get_attribute("data-unit"))
            # Another dispatcher sends the pick elsewhere: it stops being offered here within seconds.
            r = await api.post(f"/api/incidents/{there}/assign", json={"unit_ids": [taken]})
            assert r.status_code == 200, r.text
            await expect(page.locator(f"#incident-recs li.pick[data-unit='{taken}']")).to_have_count(0, timeout=5_000)
            await expect(picks).to_have_count(1)

            # Unheard: the panel still offers a pick someone else has just sent. A asks again before it acts,
            # sends nothing and says the recommendation changed; the next A sends the new pick.
            deaf["on"] = True
            stale = int(await picks.first.get_attribute("data-unit"))
            r = await api.post(f"/api/incidents/{third}/assign", json={"unit_ids": [stale]})
            assert r.status_code == 200, r.text
            await page.wait_for_timeout(500)
            await expect(page.locator(f"#incident-recs li.pick[data-unit='{stale}']")).to_have_count(1)
            await page.locator("#detail").click(position={"x": 5, "y": 5})
            await page.keyboard.press("a")
            result = page.locator("#incident-result")
            await expect(result).to_contain_text("changed", timeout=5_000)
            await expect(result).not_to_contain_text("failed")
            await expect(page.locator(f"#incident-recs li.pick[data-unit='{stale}']")).to_have_count(0)
            fresh = int(await picks.first.get_attribute("data-unit"))
            await page.wait_for_timeout(1_100)  # a command key counts only after a second without another (keys.js)
            await page.keyboard.press("a")
            await expect(result).to_contain_text("Assigned", timeout=5_000)
            on = {u: (await api.get(f"/api/units/{u}/route")).json()["incident_id"] for u in (fresh, stale)}
        assert on == {fresh: here, stale: third}
        await browser.close()


async def test_a_moved_incident_redraws_the_route_and_eta_of_its_units(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    token = crews["dispatcher"]
    incident = await take_call(addr, token, CALL)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await live_console(browser, addr, token)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:
            unit = next(u["id"] for u in (await api.get("/api/units")).json() if u["status"] == "available")
            r = await api.post(f"/api/incidents/{incident}/assign", json={"unit_ids": [unit]})
            assert r.status_code == 200, r.text
            r = await api.post(f"/api/units/{unit}/status", json={"status": "en_route"})
            assert r.status_code == 200, r.text
            await page.locator(f"#queue li[data-id='{incident}']").click()
            await expect(page.locator("#incident-title")).to_contain_text(f"#{incident}")
            shown = page.locator(f"#detail-units li[data-unit='{unit}'] .on-unit")
            await expect(shown).to_contain_text("ETA", timeout=10_000)
            before = (await api.get(f"/api/units/{unit}/route")).json()["route"]["seconds"]
            # Moved across the country: the crew's route is drawn again, and the panel's ETA is the new one.
            async with page.expect_request(f"**/api/units/{unit}/route", timeout=10_000):
                r = await api.patch(f"/api/incidents/{incident}", json={"lat": 47.0631, "lon": 9.5005})
                assert r.status_code == 200, r.text
            after = (await api.get(f"/api/units/{unit}/route")).json()["route"]["seconds"]
            assert abs(after - before) > 180, (before, after)
            await expect(shown).to_contain_text(f"({round(after / 60)} min)", timeout=10_000)
        await browser.close()


P1 = {"location_text": "Städtle 23, Vaduz", "type_code": "CARDIAC"}
VAGUE = {"location_text": "somewhere behind the big tree", "type_code": "FIRE-OTHER"}


async def test_an_alert_is_true_when_shown_and_said_once_per_cause(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[1])  # priority 1 sent by the matcher, the rest recommended
    token = crews["dispatcher"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await live_console(browser, addr, token)
        alerts = page.locator("#alert-list li.alert")
        # A priority-1 call the matcher sends at once is no call waiting: never said.
        sent = await take_call(addr, token, P1)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:

            async def dispatched() -> bool:
                return (await api.get(f"/api/incidents/{sent}")).json()["status"] != "pending"

            await until(dispatched, 10)
            await page.wait_for_timeout(2_000)
            # Not said, or (the matcher slower than the alert's grace, on a busy machine) folded as dispatched.
            waiting = alerts.filter(has_text=f"#{sent} ").filter(has_text="new call waiting")
            await expect(waiting.locator(":scope:not(.acked)")).to_have_count(0)

            # A place the geocoder is not sure of: said once, however often the queue is read or the console
            # loaded again, and folded once the place is corrected.
            r = await api.post("/api/calls", json=VAGUE)
            assert r.status_code == 201, r.text
            vague = r.json()["id"]
            said = alerts.filter(has_text=f"#{vague} ").filter(has_text="needs location")
            await expect(said).to_have_count(1, timeout=10_000)
            for _ in range(3):
                await take_call(addr, token, {**P1, "type_code": "FIRE-OTHER"})  # the queue read again
            await page.wait_for_timeout(1_000)
            await expect(said).to_have_count(1)
            await page.reload()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
            await page.wait_for_timeout(1_500)
            await expect(said).to_have_count(0)  # the console loaded anew does not say it again

            # Said again after a reload is what the console must not do; folded once the place is corrected.
            page = await live_console(browser, addr, token)  # a new tab: said there once
            said = page.locator("#alert-list li.alert").filter(has_text=f"#{vague} ").filter(has_text="needs location")
            await expect(said).to_have_count(1, timeout=10_000)
            r = await api.patch(f"/api/incidents/{vague}", json={"location_text": "Städtle 23, Vaduz"})
            assert r.status_code == 200, r.text
            await expect(said).to_have_class(re.compile("acked"), timeout=10_000)
            await expect(said).to_contain_text("location confirmed")
        await browser.close()


async def test_the_divert_dialog_shows_the_trade_off_and_starts_on_cancel(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    token = crews["dispatcher"]
    more = await take_call(addr, token, {**CALL, "type_code": "SUSPICIOUS"})  # priority 3
    less = await take_call(addr, token, {**CALL, "type_code": "NOISE"})  # priority 4
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await live_console(browser, addr, token)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:
            police = [u for u in (await api.get("/api/units")).json() if u["kind"] == "patrol"]
            busy = police[0]
            r = await api.post(f"/api/incidents/{more}/assign", json={"unit_ids": [busy["id"]]})
            assert r.status_code == 200, r.text
            r = await api.post(f"/api/units/{busy['id']}/status", json={"status": "en_route"})
            assert r.status_code == 200, r.text
            await page.locator(f"#queue li[data-id='{less}']").click()
            await expect(page.locator("#incident-recs li.pick")).to_have_count(1, timeout=15_000)
            await page.fill("#add-unit-sign", busy["call_sign"])
            await page.click("#add-unit button[type=submit]")
            dialog = page.locator("#ask-dialog")
            await expect(dialog).to_be_visible()
            text = await dialog.inner_text()
            assert f"P3 #{more}" in text and f"P4 #{less}" in text, text
            assert re.search(r"is free, \d+\.\d min away", text), text
            await expect(page.locator("#ask-cancel")).to_be_focused()  # Enter does the safe thing
            await expect(page.locator("#ask-title")).to_contain_text("less urgent")
            # Divert without the tick: refused; nothing sent.
            await page.click("#ask-ok")
            await expect(page.locator("#ask-error")).to_contain_text("Tick")
            await page.keyboard.press("Escape")
            await expect(dialog).to_be_hidden()
            on = (await api.get(f"/api/units/{busy['id']}/route")).json()["incident_id"]
            assert on == more
            # Ticked: diverted.
            await page.click("#add-unit button[type=submit]")
            await page.check("#ask-sure")
            await page.click("#ask-ok")
            await expect(page.locator("#incident-result")).to_contain_text("Assigned", timeout=10_000)
            on = (await api.get(f"/api/units/{busy['id']}/route")).json()["incident_id"]
            assert on == less
        await browser.close()


async def test_the_pin_is_dragged_on_the_map_in_its_own_window(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    token = crews["dispatcher"]
    incident = await take_call(addr, token, CALL)
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=SCREEN)
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, token)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        async with context.expect_page() as opened:
            await page.click("#pop-map")
        alone = await opened.value
        alone.on("pageerror", lambda e: errors.append(str(e)))
        await expect(alone.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        await page.locator(f"#queue li[data-id='{incident}']").click()
        pin = alone.locator(".incident-pin")
        await expect(pin).to_have_count(1, timeout=10_000)
        await expect(pin).not_to_have_class(re.compile("armed"))
        await page.click("#move-incident")
        await page.click("#ask-extra")  # Drag the pin: armed where the map is
        await expect(page.locator("#incident-result")).to_contain_text("in its own window")
        await expect(pin).to_have_class(re.compile("armed"), timeout=5_000)
        box = await pin.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await alone.mouse.move(x, y)
        await alone.mouse.down()
        await alone.mouse.move(x + 60, y + 80, steps=8)
        await alone.mouse.up()
        await expect(alone.locator("#ask-title")).to_have_text(f"Move incident #{incident} here?")
        await alone.click("#ask-ok")
        await expect(page.locator("#incident-result")).to_contain_text("Location now", timeout=10_000)
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as api:
            moved = (await api.get(f"/api/incidents/{incident}")).json()["location"]
        assert moved["match"] == "coordinates", moved
        await browser.close()
    assert not errors, errors


async def test_a_duplicate_is_said_once_on_the_console_that_took_it_and_close_starts_on_resolved(serve, crews):  # noqa: F811
    """A console that takes calls and dispatches heard of its own call's duplicate twice (its form's line and the
    feed's); the close dialog opened on "Treated on scene", its first disposition, rather than its default."""
    _, addr = await serve(auto_dispatch_priorities=[])
    token = crews["dispatcher"]
    first = await take_call(addr, token, CALL)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await live_console(browser, addr, token)
        await page.wait_for_timeout(1_100)
        await page.keyboard.press("n")
        await expect(page.locator("#call-location")).to_be_focused()
        await page.keyboard.type(CALL["location_text"])
        await page.keyboard.press("Enter")
        await page.keyboard.type("+423 790 11 23")
        await page.fill("#call-narrative", "Smoke from a bin outside")
        await page.keyboard.press("Control+Enter")
        await expect(page.locator("#call-dialog")).to_be_hidden(timeout=10_000)
        duplicate = page.locator("#alert-list li.alert", has_text="possible duplicate")
        await expect(duplicate).to_have_count(1, timeout=10_000)
        await page.wait_for_timeout(1_500)  # the feed's word of it has come by now
        await expect(duplicate).to_have_count(1)
        await page.locator(f"#active li[data-id='{first}'], #queue li[data-id='{first}']").first.click()
        await page.locator("#close-incident").click()
        await expect(page.locator("#ask-disposition")).to_have_value("resolved")
        await browser.close()
