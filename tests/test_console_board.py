"""The console's unit board, in Debian's Chromium (Playwright) against the real service, on a 1366×768 screen:
its headers sort by mouse and by keyboard (aria-sort says how), its filters by kind and status, a unit's status
set by hand with a reason (refused without one), seen on the board and by the crew's device, every panel on the
screen with no page scroll; then the board and the map each in a window of their own, signed in with the same
token and live, the main window giving their space to the rest until they are closed. axe finds nothing."""

import re

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import sign_in, tab_to
from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, axe_violations, until

pytestmark = pytest.mark.slow
LAPTOP = {"width": 1366, "height": 768}
PANELS = ["#queue", "#map", "#detail", "#alerts", "#units"]
CALL = {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"}


def natural(text: str) -> list:
    """Call signs as the board orders them: "Engine 2" before "Engine 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


async def column(page: Page, index: int) -> list[str]:
    return await page.locator(f"#unit-board tbody tr:not([hidden]) td:nth-child({index})").all_inner_texts()


async def on_one_screen(page: Page) -> None:
    """Each panel inside the window, and the page itself not scrolling."""
    for panel in PANELS:
        box = await page.locator(panel).bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= LAPTOP["height"] + 1, (panel, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= LAPTOP["width"] + 1, (panel, box)
    assert await page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    assert await page.locator("header.bar").evaluate("bar => bar.scrollWidth <= bar.clientWidth")  # all of it


async def test_the_board_sorts_filters_and_sets_a_status_by_hand(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        units = (await client.get("/api/units")).json()
    signs = sorted((u["call_sign"] for u in units), key=natural)
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=LAPTOP)
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        rows = page.locator("#unit-board tbody tr:not([hidden])")
        await expect(rows).to_have_count(len(units))
        await on_one_screen(page)
        headers = page.locator("#unit-board thead th")
        assert await headers.all_inner_texts() == ["Unit", "Kind", "Status", "Since", "Incident", "Crew / message"]
        assert await headers.first.is_visible()
        await expect(headers.first).to_have_attribute("aria-sort", "ascending")
        assert await column(page, 1) == signs  # by call sign, as a person counts

        # By mouse: the Unit header again turns the order round.
        await page.click("#unit-board th button[data-sort=unit]")
        await expect(headers.first).to_have_attribute("aria-sort", "descending")
        assert await column(page, 1) == signs[::-1]
        # By keyboard: Tab to the Kind header, Enter sorts by kind; the Unit header lets go of its order.
        await tab_to(page, "#unit-board th button[data-sort=kind]")
        await page.keyboard.press("Enter")
        await expect(headers.nth(1)).to_have_attribute("aria-sort", "ascending")
        await expect(headers.first).to_have_attribute("aria-sort", "none")
        kinds = await column(page, 2)
        assert kinds == sorted(kinds) and len(set(kinds)) > 1
        # The focused header keeps the keyboard while the rows move under it.
        await page.keyboard.press("Space")
        await expect(headers.nth(1)).to_have_attribute("aria-sort", "descending")
        assert await page.evaluate("document.activeElement.dataset.sort") == "kind"

        # The kind filter, by keyboard: its choices are the kinds the units have.
        offered = await page.locator("#unit-kind option").all_inner_texts()
        assert offered == ["all kinds", *sorted({u["kind"] for u in units})]
        await page.focus("#unit-kind")
        await page.keyboard.press("ArrowDown")
        first_kind = offered[1]
        await expect(rows).to_have_count(sum(u["kind"] == first_kind for u in units))
        assert set(await column(page, 2)) == {first_kind}
        await page.select_option("#unit-kind", "")  # by mouse (a pick from the list): all again
        await expect(rows).to_have_count(len(units))

        # A status set by hand: from the row's button, a reason asked for, the board showing it with its marker.
        medic = next(u for u in units if u["kind"] == "ambulance")
        crew = await device(addr, crews["units"][medic["id"]], last_seq=0)
        row = page.locator(f"#unit-board tr[data-unit='{medic['id']}']")
        opener = row.locator("button.set-status")
        await expect(opener).to_have_attribute("data-needs", "dispatcher")
        await opener.click()
        dialog = page.locator("#status-dialog")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#status-title")).to_have_text(f"Set status of {medic['call_sign']}")
        # On no job: out of service or back in service, not the steps of a job.
        choices = await page.locator("#status-choices label").all_inner_texts()
        assert [" ".join(choice.split()) for choice in choices] == ["● available", "◐ returning", "✕ out of service"]
        await page.check("#status-choices input[value=out_of_service]")
        await page.click("#status-submit")
        await expect(page.locator("#status-error")).to_contain_text("reason")
        await page.fill("#status-reason", "Stretcher broken, back in an hour")
        await page.click("#status-submit")
        await expect(dialog).to_be_hidden()
        await expect(row.locator("td.status")).to_have_text("✕ out of service")
        assert await opener.evaluate("element => element === document.activeElement")  # back where it was
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
            now = {u["id"]: u["status"] for u in (await client.get("/api/units")).json()}
        assert now[medic["id"]] == "out_of_service"
        told = await next_of(crew, "unit_status")  # the crew's device has it, with the dispatcher's words
        assert (told["status"], told["reason"]) == ("out_of_service", "Stretcher broken, back in an hour")
        await crew.close()

        # The status filter, by mouse: out of service shows that unit alone; then back in service by keyboard.
        await page.select_option("#unit-status", "out_of_service")
        await expect(rows).to_have_count(1)
        await page.select_option("#unit-status", "")
        await opener.focus()
        await page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await page.keyboard.press("Escape")  # Esc closes, the keyboard back on the row's button
        await expect(dialog).to_be_hidden()
        assert await opener.evaluate("element => element === document.activeElement")
        await page.keyboard.press("Enter")
        await page.keyboard.press("Space")  # the first choice: available
        await page.keyboard.press("Tab")
        await expect(page.locator("#status-reason")).to_be_focused()
        await page.keyboard.press("Enter")  # back in service: no reason asked (the service asks none)
        await expect(row.locator("td.status")).to_have_text("● available")
        await expect(dialog).to_be_hidden()
        assert not await axe_violations(page)
        await browser.close()
    assert not errors


async def test_the_map_and_the_board_each_in_a_window_of_their_own(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=LAPTOP)
        context.on("weberror", lambda e: errors.append(str(e.error)))
        page = await context.new_page()
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        map_width = (await page.locator("#map").bounding_box())["width"]

        # The board to another window: signed in there by the same token (no login asked), the board alone, live.
        async with context.expect_page() as opened:
            await page.click("#pop-board")
        board = await opened.value
        await board.set_viewport_size(LAPTOP)
        await expect(board.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)
        assert "view=board" in board.url
        await expect(board.locator("#login")).to_be_hidden()
        await expect(board.locator("#unit-board")).to_be_visible()
        for gone in ["#queue", "#map", "#detail", "#alerts"]:
            await expect(board.locator(gone)).to_be_hidden()
        assert (await board.locator("#units").bounding_box())["width"] > LAPTOP["width"] * 0.9
        # The main window gave the board's room to the map.
        await expect(page.locator("#units")).to_be_hidden()
        await expect(page.locator("#pop-board")).to_have_attribute("aria-pressed", "true")
        await expect(page.locator("#pop-board")).to_have_text("Board back in this window")
        assert (await page.locator("#map").bounding_box())["height"] > LAPTOP["height"] * 0.8
        # Live: a unit's change made elsewhere shows in the board's own window.
        first = await take_call(addr, crews["dispatcher"], CALL)
        second = await take_call(addr, crews["dispatcher"], {**CALL, "location_text": "Landstrasse 1, Schaan"})
        async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
            unit = (await client.get("/api/units")).json()[0]
            response = await client.post(f"/api/incidents/{second}/assign", json={"unit_ids": [unit["id"]]})
            assert response.status_code == 200, response.text
        row = board.locator(f"#unit-board tr[data-unit='{unit['id']}']")
        await expect(row.locator("td.status")).to_have_text("◆ dispatched", timeout=10_000)
        await expect(row.locator("button.job")).to_have_text(re.compile(f"#{second} FIRE-OTHER$"))
        assert not await axe_violations(board)
        # One selection across the windows: chosen in the main window's queue, it is the board window's too;
        # the incident of a unit chosen on the board's own window opens in the main window's panel.
        await page.click(f"#queue-list li[data-id='{first}']")
        await expect(board.locator("#detail h2").first).to_contain_text(f"#{first}", timeout=10_000)
        await row.locator("button.job").click()
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{second}", timeout=10_000)

        # The map to a third window, by keyboard: the map alone, drawn; the main window's board takes its place.
        await page.locator("#pop-board").click()  # the board comes back first
        await expect(page.locator("#units")).to_be_visible()

        async def closed() -> bool:
            return board.is_closed()

        await until(closed)
        async with context.expect_page() as opened:
            await page.focus("#pop-map")
            await page.keyboard.press("Enter")
        alone = await opened.value
        await expect(alone.locator("#map .leaflet-pane").first).to_be_attached(timeout=20_000)
        await expect(alone.locator("#login")).to_be_hidden()
        await expect(alone.locator("#unit-board")).to_be_hidden()
        assert not await axe_violations(alone)
        await expect(page.locator("#map")).to_be_hidden()
        assert (await page.locator("#units").bounding_box())["width"] > map_width * 0.9
        await on_one_screen_without_map(page)
        # Closed by its own frame: the main window has its map back.
        await alone.close()
        await expect(page.locator("#map")).to_be_visible(timeout=5_000)
        await expect(page.locator("#pop-map")).to_have_text("Map in its own window")
        await browser.close()
    assert not errors


async def on_one_screen_without_map(page: Page) -> None:
    for panel in ["#queue", "#detail", "#alerts", "#units"]:
        box = await page.locator(panel).bounding_box()
        assert box and box["y"] + box["height"] <= LAPTOP["height"] + 1, (panel, box)
    assert await page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
