"""The commander's reports page, in Debian's Chromium against the real service on a simulated day: sign in, a
period and a grouping, the figures as the API gives them, a drill-down to the incidents and one's timeline, the
CSV and HTML downloads, the back button, axe, and a phone's width; other roles are sent to the console."""

import math
import os
from datetime import date
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from geo.routing import Router
from simulator.history import simulate_day, write_day
from simulator.world import load_world
from tests.builders import make_user_with_token
from tests.test_push import bearer, serve  # noqa: F401 (fixture)
from tests.test_unit_app import CHROMIUM, axe_violations

pytestmark = pytest.mark.slow
DAY = date(2019, 4, 9)  # long past, a day of its own: no other test writes or reads it
DESK = {"width": 1366, "height": 900}


def duration(seconds: float | None) -> str:
    """As the page says a time (reports/api.js)."""
    if seconds is None:
        return "–"
    s = math.floor(seconds + 0.5)  # JavaScript's Math.round: halves up, not to even
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}:{s % 60:02d} min"
    return f"{s // 3600} h {s // 60 % 60:02d} min"


def text_of(path) -> str:
    return Path(path).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def lived(settings, imported_map):
    router = Router.load(settings.libpq_url, settings.route_cache_dir)
    world = load_world(settings.libpq_url, router)
    calls, records = simulate_day(world, router, per_hour=6.0, seed=5)
    return write_day(settings.libpq_url, world, calls, records, day=DAY, tz="Europe/Vaduz", seed=5)


@pytest.fixture
async def tokens(settings, engine):
    async with make_sessionmaker(engine)() as session:
        _, commander = await make_user_with_token(session, settings, role=Role.commander)
        _, dispatcher = await make_user_with_token(session, settings, role=Role.dispatcher)
        await session.commit()
    return {"commander": commander, "dispatcher": dispatcher}


async def test_a_commander_reads_a_day_drills_down_and_downloads(serve, lived, tokens, tmp_path):  # noqa: F811
    _, addr = await serve()
    base, day = f"http://{addr}", DAY.isoformat()
    async with AsyncClient(base_url=base, headers=bearer(tokens["commander"]), timeout=30) as api:
        by_place = (
            await api.get("/api/reports/response-times", params={"from": day, "to": day, "group_by": "municipality"})
        ).json()
        csv = (
            await api.get(
                "/api/reports/response-times",
                params={"from": day, "to": day, "group_by": "municipality", "format": "csv"},
            )
        ).text
    assert by_place["groups"], "the simulated day has incidents in several municipalities"
    busiest = max(by_place["groups"], key=lambda g: g["intervals"]["response"]["count"])

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=DESK, accept_downloads=True)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        missing: list[str] = []
        page.on("response", lambda r: r.status >= 400 and missing.append(f"{r.status} {r.url}"))

        # Sign in by keyboard: the token field is the first stop after the skip link.
        await page.goto(f"{base}/reports/")
        await page.locator("#token").focus()
        await page.keyboard.type(tokens["commander"])
        await page.keyboard.press("Enter")
        await expect(page.locator("#app")).to_be_visible()
        await expect(page.locator("#today-body .tile")).to_have_count(4)

        # A custom period and a grouping; Enter in the form shows them.
        await page.locator("#preset").select_option("custom")
        await page.locator("#from").fill(day)
        await page.locator("#to").fill(day)
        await page.locator("#group-by").select_option("municipality")
        await page.locator("#to").press("Enter")
        await expect(page.locator("body")).to_have_attribute(
            "data-chart", f"{by_place['from']}/{by_place['to']}/municipality/response"
        )
        await expect(page.locator("#working")).to_contain_text(f"{day}, by municipality")
        assert "by=municipality" in page.url and f"from={day}" in page.url

        # The figures are the API's: every target by name and source, every municipality's median and 90th.
        rows = page.locator("#compliance-body tbody tr")
        await expect(rows).to_have_count(len(by_place["targets"]))
        for target in by_place["targets"]:
            await expect(page.locator("#compliance-body")).to_contain_text(target["source"])
        table = page.locator("#groups-table tbody")
        for group in by_place["groups"]:
            row = table.locator("tr", has=page.get_by_role("button", name=group["key"], exact=True))
            stats = group["intervals"]["response"]
            await expect(row.locator("td").nth(0)).to_have_text(str(stats["count"]))
            await expect(row.locator("td").nth(1)).to_have_text(duration(stats["p50"]))
            await expect(row.locator("td").nth(2)).to_have_text(duration(stats["p90"]))
        assert not [v for v in await axe_violations(page, serious=True)], "axe on the report"
        await page.screenshot(
            path=Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "reports.png", full_page=True
        )

        # Drill down by keyboard: the busiest municipality's incidents, longest response first, as the API lists them.
        async with AsyncClient(base_url=base, headers=bearer(tokens["commander"]), timeout=30) as api:
            behind = (
                await api.get(
                    "/api/reports/incidents",
                    params={
                        "from": day,
                        "to": day,
                        "group_by": "municipality",
                        "key": busiest["key"],
                        "interval": "response",
                        "limit": 50,
                    },
                )
            ).json()
        await page.get_by_role("button", name=busiest["key"], exact=True).focus()
        await page.keyboard.press("Enter")
        drill = page.locator("#drill")
        await expect(drill).to_be_visible()
        await expect(page.locator("#drill-body tbody tr")).to_have_count(len(behind["items"]))
        first = behind["items"][0]
        await expect(page.locator("#drill-body tbody tr").first.locator("th")).to_have_text(f"#{first['id']}")
        await expect(page.locator("#drill-said")).to_contain_text(f"{behind['count']} incident")

        # ... and one incident's whole timeline.
        await page.locator("#drill-body tbody tr").first.get_by_role("button").click()
        dialog = page.locator("#timeline")
        await expect(dialog).to_be_visible()
        await expect(page.locator("#timeline-title")).to_contain_text(f"#{first['id']}")
        await expect(dialog.locator(".timeline li")).not_to_have_count(0)
        assert await dialog.locator(".timeline li").count() >= 3  # created, dispatched, on scene at least
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()

        # The CSV is the API's, byte for byte; the HTML report is a whole document.
        async with page.expect_download() as got:
            await page.locator("#get-csv").click()
        assert text_of(await (await got.value).path()) == csv
        async with page.expect_download() as got:
            await page.locator("#get-html").click()
        assert (await got.value).suggested_filename.endswith(".html")
        assert "<html" in text_of(await (await got.value).path())[:500].lower()

        # One priority alone: the address keeps it, the figures are the API's for that priority.
        async with AsyncClient(base_url=base, headers=bearer(tokens["commander"]), timeout=30) as api:
            p1 = (
                await api.get(
                    "/api/reports/response-times",
                    params={"from": day, "to": day, "group_by": "municipality", "priority": 1},
                )
            ).json()
        await page.locator("#priority").select_option("1")
        await expect(page.locator("#working")).to_contain_text("priority 1 only")
        assert "priority=1" in page.url
        overall = page.locator("#groups-table tbody tr").first
        await expect(overall.locator("td").nth(0)).to_have_text(str(p1["overall"]["intervals"]["response"]["count"]))
        await expect(overall.locator("td").nth(2)).to_have_text(duration(p1["overall"]["intervals"]["response"]["p90"]))
        await page.go_back()
        await expect(page.locator("#priority")).to_have_value("")
        await expect(page.locator("#working")).not_to_contain_text("priority 1 only")

        # Another grouping, then back: the address brings the municipalities again.
        await page.locator("#group-by").select_option("priority")
        await expect(page.locator("body")).to_have_attribute(
            "data-chart", f"{by_place['from']}/{by_place['to']}/priority/response"
        )
        await page.go_back()
        await expect(page.locator("#group-by")).to_have_value("municipality")
        await expect(page.locator("body")).to_have_attribute(
            "data-chart", f"{by_place['from']}/{by_place['to']}/municipality/response"
        )

        # By hour of the day: all 24 hours, those without a sample too (no gap in the axis that reads as nothing).
        await page.locator("#group-by").select_option("hour")
        await expect(page.locator("body")).to_have_attribute(
            "data-chart", f"{by_place['from']}/{by_place['to']}/hour/response"
        )
        await expect(page.locator("#groups-table tbody tr")).to_have_count(1 + 24)

        # A phone: everything readable without the page scrolling sideways (wide tables scroll in their box).
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.wait_for_timeout(300)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert not errors, errors
        assert not missing, missing
        await browser.close()


async def test_other_roles_are_told_where_to_go(serve, tokens):  # noqa: F811
    _, addr = await serve()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport=DESK)
        await page.goto(f"http://{addr}/reports/")
        await page.locator("#token").fill(tokens["dispatcher"])
        await page.locator("#token").press("Enter")
        await expect(page.locator("#login-error")).to_contain_text("for commanders")
        await expect(page.locator("#app")).to_be_hidden()
        await browser.close()
