"""The console's map in Debian's Chromium against the real service: its layers turned off and on by keyboard
(stations, standby posts, coverage, the units' call signs as labels), the map centred on the incident selected, and the
routes of that incident's units drawn stronger than the others."""

import math
import os
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_console_talk import SCREEN, sign_in
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, until

pytestmark = pytest.mark.slow
# The map module's own instance (an ES module is one per page): its centre, as Leaflet has it.
CENTRE = "() => import('/console/map.js').then((m) => { const c = m.map.getCenter(); return [c.lat, c.lng]; })"


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


async def toggle(page: Page, name: str) -> None:
    """By keyboard, as the control's boxes are in the Tab order."""
    await page.get_by_role("checkbox", name=name).focus()
    await page.keyboard.press("Space")


async def test_layers_toggle_and_the_map_follows_the_selected_incident(serve, crews, tmp_path):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: the routes are ours to make
    far = await take_call(
        addr, crews["call_taker"], {"location_text": "Landstrasse 100, Triesen", "type_code": "NOISE"}
    )
    sent = await take_call(addr, crews["call_taker"], {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER"})
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(crews["dispatcher"])) as client:
        where = (await client.get(f"/api/incidents/{far}")).json()["location"]
        picks = (await client.get(f"/api/incidents/{sent}/recommendations")).json()["picks"]
        assigned = await client.post(f"/api/incidents/{sent}/assign", json={"unit_ids": [picks[0]["unit_id"]]})
        assert assigned.status_code == 200, assigned.text
        units = [u for u in (await client.get("/api/units")).json() if u["lat"] is not None]
        cover = (await client.get("/api/coverage")).json()
        crew = await client.get("/api/coverage", headers=bearer(next(iter(crews["units"].values()))))
    # Coverage: the move-up's demand cells, each with the seconds a free unit of each fleet needs to get there,
    # none past the target; the floor's, not a crew's.
    assert crew.status_code == 403
    assert cover["fleets"] == ["engine", "ambulance", "police"] and cover["target_s"] == 480
    seconds = [s for c in cover["cells"] for s in c["seconds"].values() if s is not None]
    assert cover["cells"] and seconds and max(seconds) <= 480
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=SCREEN)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await sign_in(page, addr, crews["dispatcher"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=20_000)

        # Stations and standby posts are on by default, each its own layer; off and on again by keyboard.
        stations, posts = page.locator("#map path.station"), page.locator("#map path.post")
        await expect(stations.first).to_be_attached()
        count = await stations.count()
        assert count > 0 and await posts.count() > 0
        await toggle(page, "Stations")
        await expect(stations).to_have_count(0)
        assert await posts.count() > 0  # the other layer stays
        await toggle(page, "Stations")
        await expect(stations).to_have_count(count)
        await toggle(page, "Standby posts")
        await expect(posts).to_have_count(0)

        # Coverage, off until asked for: one square per demand cell, gone again when turned off.
        cells = page.locator("#map path.cell")
        await toggle(page, "Coverage")
        await expect(cells).to_have_count(len(cover["cells"]))
        await toggle(page, "Unit labels")
        await page.screenshot(path=Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "console-map-layers.png")
        await toggle(page, "Unit labels")
        await toggle(page, "Coverage")
        await expect(cells).to_have_count(0)

        # Unit labels: every unit's call sign shown at once, and gone again.
        labels = page.locator(".leaflet-tooltip.unit-label")
        await expect(labels).to_have_count(0)
        await toggle(page, "Unit labels")
        await expect(labels).to_have_count(len(units))
        assert {u["call_sign"] for u in units} == set(await labels.all_inner_texts())
        await toggle(page, "Unit labels")
        await expect(labels).to_have_count(0)

        # Selecting an incident brings it to the middle of the map.
        assert metres(tuple(await page.evaluate(CENTRE)), (where["lat"], where["lon"])) > 500
        await page.locator(f"#queue-list li[data-id='{far}']").click()
        await expect(page.locator("#detail h2").first).to_contain_text(f"#{far}")

        async def centred() -> bool:
            return metres(tuple(await page.evaluate(CENTRE)), (where["lat"], where["lon"])) < 50

        await until(centred)

        # The route of the unit sent to the other incident: plain, then stronger once that incident is selected.
        route = page.locator("#map path.route")
        await expect(route).to_have_count(1, timeout=15_000)
        await expect(page.locator("#map path.route.chosen")).to_have_count(0)
        await page.locator(f"#active-list li[data-id='{sent}'], #queue-list li[data-id='{sent}']").first.click()
        await expect(page.locator("#map path.route.chosen")).to_have_count(1)
        assert not errors, errors
        await browser.close()
