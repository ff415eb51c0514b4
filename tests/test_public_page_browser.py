"""The public response-times page in Debian's Chromium (Playwright), served for real over months of incidents
in a database of its own: a chart and a table per municipality, small months withheld, nothing outside the service
area shown as a municipality, nothing requested that is not there, axe, print and phone layouts."""

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest
from playwright.async_api import async_playwright

from dispatch.config import BUNDLED_MAP
from dispatch.reports.public import month_span
from dispatch.setup import load_map_with_fleet, migrate, recreate_database
from tests.test_push import serve  # noqa: F401 (fixture)
from tests.test_unit_app import CHROMIUM, PHONE, axe_violations

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
# Incidents a month per municipality: Planken's three are too few to show (public_min_count 5).
MONTHLY = {
    "Vaduz": 70,
    "Schaan": 60,
    "Triesen": 45,
    "Balzers": 40,
    "Eschen": 35,
    "Mauren": 30,
    "Triesenberg": 20,
    "Ruggell": 18,
    "Gamprin": 12,
    "Schellenberg": 8,
    "Planken": 3,
}
FELDKIRCH = (9.5990, 47.2380)  # Austria: across the border


def _history(url: str, months: list[str], tz: str) -> int:
    """Closed incidents over the months, each with its received, dispatched and on-scene times (a long tail: the
    90th percentile well above the median), some life-threatening, a few across the border."""
    rng = random.Random(14)
    zone = ZoneInfo(tz)
    now = datetime.now(UTC)
    rows = []
    for month in months:
        year, number = map(int, month.split("-"))
        start = datetime(year, number, 1, tzinfo=zone)
        for name, count in [*MONTHLY.items(), ("Feldkirch", 6)]:
            for _ in range(count):
                at = start + timedelta(minutes=rng.randrange(27 * 24 * 60))
                if at >= now:
                    continue
                response = 240 + rng.lognormvariate(5.6, 0.55)
                location = f"SRID=4326;POINT({FELDKIRCH[0]} {FELDKIRCH[1]})" if name == "Feldkirch" else None
                rows.append((1 if rng.random() < 0.35 else rng.choice((2, 3)), name, at, 40, response, location))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO incidents (type_code, priority, status, municipality, geocode_match, geocode_confidence,
                                      received_at, dispatched_at, on_scene_at, location)
               VALUES ('CARDIAC', %s, 'closed', %s, 'address', 1.0, %s, %s + make_interval(secs => %s),
                       %s + make_interval(secs => %s), %s::geography)""",
            [(p, name, at, at, d, at, r, loc) for p, name, at, d, r, loc in rows],
        )
    return len(rows)


@pytest.fixture(scope="module")
def history_db(settings):
    own = settings.model_copy(update={"database_url": settings.database_url + "_public"})
    recreate_database(own)
    migrate(own)
    load_map_with_fleet(BUNDLED_MAP, own.libpq_url)
    months = month_span(datetime.now(UTC).astimezone(ZoneInfo(own.report_time_zone)), 3)
    assert _history(own.libpq_url, months, own.report_time_zone) > 2 * sum(MONTHLY.values())
    return own


async def test_the_public_page_in_chromium(serve, history_db, tmp_path):  # noqa: F811 (fixture)
    _, addr = await serve(database_url=history_db.database_url, matcher=False)
    url = f"http://{addr}/public/response-times"
    failed: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = await browser.new_context(viewport=DESKTOP)
            page = await context.new_page()
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))
            answer = await page.goto(url)  # Chromium's own Accept header: the page
            assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
            assert answer.headers["cache-control"].startswith("public, max-age=")
            assert await page.get_attribute("html", "lang") == "en"
            assert await page.title() == "Emergency response times in Liechtenstein"
            assert await page.locator("header, main, footer, nav").count() == 4

            sections = page.locator("main section")
            names = await page.locator("main section h2").all_inner_texts()
            assert names == ["All incidents", *sorted(MONTHLY)]
            assert await sections.count() == 12
            for k in range(12):
                section = sections.nth(k)
                assert await section.locator("svg[role=img] title").count() == 2
                assert await section.locator("svg[role=img] desc").count() == 2
                assert await section.locator("table tbody tr").count() == 3  # a row per month since the first incident
            vaduz = page.locator("main section", has=page.locator("h2", has_text="Vaduz"))
            assert await vaduz.locator("svg rect").count() >= 4  # median and 90th bars, at least two months
            assert " min" in await vaduz.locator("table").inner_text()
            planken = page.locator("main section", has=page.locator("h2", has_text="Planken"))
            assert await planken.locator("table .withheld").count() >= 4
            assert "withheld, fewer than 5 responses" in await planken.locator("svg desc").first.text_content()
            body = await page.locator("body").inner_text()
            assert "Outside the service area" not in body and "Feldkirch" not in body
            assert "outside the service area or could not be placed" in body
            table = await vaduz.locator("table tbody").inner_text()
            assert ":" not in table and " min " in table  # no minutes:seconds, no decimal minutes
            today = datetime.now(UTC).astimezone(ZoneInfo(history_db.report_time_zone))
            assert f"to {today.day} {today:%B}" in await vaduz.locator("table tbody tr").first.inner_text()
            p1 = vaduz.locator("figure", has_text="Life-threatening")
            assert await p1.locator("line[stroke-dasharray]").count() == 1
            assert "The dashed line is the target" in await p1.locator("svg desc").text_content()
            assert "Life-threatening calls (priority 1): first unit on scene within 8 min" in body
            assert await axe_violations(page, serious=True) == []
            # DISPATCH_SCREENSHOTS=docs refreshes the picture in the docs; otherwise it goes to a temporary folder.
            shot = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path) / "public-response-times.png"
            await page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1500})

            # A bad query (in a page of its own: its 422 is expected): a page that says so, with the way back.
            other = await context.new_page()
            wrong = await other.goto(url + "?months=0")
            assert wrong.status == 422 and "whole number from 1 to 60" in await other.locator("main").inner_text()
            assert await axe_violations(other, serious=True) == []
            await other.get_by_role("link", name="See the response times").click()
            await other.wait_for_load_state()
            assert await other.title() == "Emergency response times in Liechtenstein"

            await page.emulate_media(media="print")
            assert not await page.locator("nav").is_visible()
            await page.emulate_media(media="screen")

            phone = await browser.new_context(viewport=PHONE)
            small = await phone.new_page()
            small.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            await small.goto(url)
            assert await small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert await axe_violations(small, serious=True) == []
        finally:
            await browser.close()
    assert failed == []
