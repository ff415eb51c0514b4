"""The public response-times page: minutes as citizens read them, withheld cells, the page or JSON by the Accept
header, caching, and incidents beyond the service area in one group of their own."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.reports import public_page, queries
from dispatch.reports.public import month_span, wants_html
from dispatch.reports.targets import load_targets
from tests.builders import make_incident

S = timedelta(seconds=1)
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "–"),
        (0, "0 s"),
        (44, "40 s"),
        (270, "4 min 30 s"),  # not "4.5 min", read as 4 min 50 s
        (390, "6 min 30 s"),
        (412, "6 min 50 s"),
        (480, "8 min"),
        (3594, "59 min 50 s"),
        (3595, "1 h 00 min"),
        (7500, "2 h 05 min"),
        (190 * 60 + 54, "3 h 11 min"),
    ],
)
def test_minutes_as_citizens_read_them(seconds, shown):
    assert public_page.minutes(seconds) == shown


def test_a_cell_of_too_few_responses_is_withheld_and_an_empty_one_is_a_dash():
    assert public_page.cell(420, 5, 5) == "7 min"
    assert public_page.cell(None, 4, 5) == "withheld"
    assert public_page.cell(420, 4, 5) == "withheld"  # whatever the figure, too few to show
    assert public_page.cell(None, 0, 5) == "–"


def test_browsers_get_the_page_and_clients_json():
    assert wants_html(BROWSER)
    assert wants_html("text/html")
    assert not wants_html("application/json")
    assert not wants_html("*/*")
    assert not wants_html("")
    assert not wants_html("application/json, text/html;q=0.5")
    assert not wants_html("text/html;q=0")
    assert not wants_html("text/html;q=x")


def test_month_span_counts_calendar_months():
    assert month_span(datetime(2026, 3, 31, tzinfo=UTC), 4) == ["2025-12", "2026-01", "2026-02", "2026-03"]
    assert month_span(datetime(2026, 12, 1, tzinfo=UTC), 1) == ["2026-12"]


def test_the_page_withholds_small_months_in_the_chart_and_the_table():
    rows = [
        {
            "month": "2026-11",
            "municipality": "Vaduz",
            "incidents": 3,
            "responses": 3,
            "all_priorities": {"p50_s": None, "p90_s": None},
            "priority_1_responses": 1,
            "priority_1": {"p50_s": None, "p90_s": None},
        }
    ]
    html = public_page.page(
        {"service_area": "Liechtenstein", "months": rows, "totals": []},
        months=["2026-10", "2026-11"],
        min_count=5,
        time_zone="Europe/Vaduz",
        as_of="2026-11-30 12:00",
    )
    assert "November 2026: withheld, fewer than 5 responses" in html  # the chart's description
    assert html.count('<span class="withheld">withheld</span>') == 4  # the table's four figures
    assert html.count("<svg") == 4  # all incidents, and Vaduz: all priorities and priority 1
    assert "October 2026" not in html  # before the first incident recorded
    assert "Emergency response times in Liechtenstein" in html


def _row(month: str, *, p50: int, p90: int, n: int = 40, incidents: int = 44) -> dict:
    stats = {"p50_s": p50, "p90_s": p90}
    return {
        "month": month,
        "incidents": incidents,
        "responses": n,
        "all_priorities": stats,
        "priority_1_responses": n,
        "priority_1": stats,
    }


def test_the_current_month_reads_as_a_part_month_and_the_targets_as_a_line():
    totals = [_row("2026-11", p50=400, p90=700), _row("2026-12", p50=270, p90=560, n=6, incidents=9)]
    html = public_page.page(
        {"service_area": "Liechtenstein", "months": [], "totals": totals},
        months=["2026-11", "2026-12"],
        min_count=5,
        time_zone="Europe/Vaduz",
        as_of="2026-12-06 19:00",
        today=date(2026, 12, 6),
        targets=list(load_targets()),
    )
    # The table, the charts' descriptions and axes say the month is not over.
    assert "December 2026<small>to 6 December</small>" in html
    assert "December 2026, to 6 December: median 4 min 30 s, 90th percentile 9 min 20 s" in html
    assert ">to 6</text>" in html and "6 December 2026 (this month so far)" in html
    assert "November 2026: median 6 min 40 s" in html and "November 2026, to" not in html
    # Incidents still in progress are explained, and the targets by priority given.
    assert "also those still in progress" in html and "<dt>Incidents and responses</dt>" in html
    assert "<b>Life-threatening calls</b> (priority 1): first unit on scene within 8 min for 9 calls in 10" in html
    assert "(priority 2): first unit on scene within 15 min for 9 calls in 10" in html
    assert html.index("(priority 1):") < html.index("(priority 2):") < html.index("(priority 3):")
    assert "The figures for December 2026 run to 6 December: the month is not over" in html
    # The priority-1 charts (one here: all incidents) draw the target and say so; the others do not.
    assert html.count('stroke-dasharray="8 5"') == 1 and html.count(">target 8 min</text>") == 1
    assert "The dashed line is the target: first unit on scene within 8 min for 9 calls in 10" in html
    assert "min." not in html.replace("min.</", "")  # no decimal minutes anywhere
    assert public_page.share(0.95) == "19 calls in 20"


def test_a_month_that_is_over_is_not_a_part_month():
    html = public_page.page(
        {"service_area": None, "months": [], "totals": [_row("2026-11", p50=400, p90=700)]},
        months=["2026-11"],
        min_count=5,
        time_zone="Europe/Vaduz",
        as_of="2026-12-01 00:10",
        today=date(2026, 12, 1),
    )
    assert "the month is not over" not in html and "so far" not in html and "<small>" not in html
    assert "stroke-dasharray" not in html  # no targets given: no line


async def incident_at(session, *, at, municipality, lon_lat=None, seconds=300, priority=2) -> int:
    incident_id = await make_incident(
        session,
        received_at=at,
        municipality=municipality,
        priority=priority,
        dispatched_at=at + 30 * S,
        on_scene_at=at + seconds * S,
    )
    if lon_lat:
        await session.execute(
            text("UPDATE incidents SET location = ST_MakePoint(:lon, :lat)::geography WHERE id = :id"),
            {"lon": lon_lat[0], "lat": lon_lat[1], "id": incident_id},
        )
    return incident_id


async def test_incidents_beyond_the_border_are_one_group_outside_the_service_area(session, imported_map):
    at = datetime(2032, 5, 4, 10, 0, tzinfo=UTC)
    await incident_at(session, at=at, municipality="Feldkirch", lon_lat=(9.5990, 47.2380))  # Austria
    await incident_at(session, at=at, municipality="Vaduz", lon_lat=(9.5215, 47.1410))
    await incident_at(session, at=at, municipality=None)
    # A municipality of the map that lies beyond the area (the bundled map holds none: one made so here).
    await session.execute(text("UPDATE municipalities SET in_service_area = false WHERE name = 'Planken'"))
    await incident_at(session, at=at, municipality="Planken")
    rows = await queries.public_stats(session, start=at, end=at + timedelta(days=1), tz="Europe/Vaduz")
    places = {r["municipality"]: r["incidents"] for r in rows if not r["total"]}
    assert places == {"Vaduz": 1, queries.OUTSIDE: 2, queries.UNKNOWN: 1}
    assert [r["incidents"] for r in rows if r["total"]] == [4]
    stats = await queries.interval_stats(
        session,
        unit_level=False,
        start=at,
        end=at + timedelta(days=1),
        tz="Europe/Vaduz",
        groupings=["municipality"],
        targets=[],
    )
    counts = {r["key"]: r["n"] for r in stats if r["interval"] == "response" and not r["overall"]}
    assert counts == {"Vaduz": 1, queries.OUTSIDE: 2, queries.UNKNOWN: 1}


async def test_the_page_for_browsers_json_for_clients_cached_with_an_etag(client, session, imported_map):
    now = datetime.now(UTC).replace(microsecond=0)
    for k in range(5):
        await incident_at(
            session, at=now - timedelta(minutes=40 + k), municipality="Vaduz", lon_lat=(9.5215, 47.1410), seconds=600
        )
        await incident_at(
            session, at=now - timedelta(minutes=40 + k), municipality="Feldkirch", lon_lat=(9.5990, 47.2380)
        )
    page = await client.get("/public/response-times", headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, max-age=300" and "accept" in page.headers["vary"].lower()
    assert '<html lang="en">' in page.text and '<link rel="icon" href="data:,">' in page.text
    assert "Outside the service area" not in page.text and "<main" in page.text
    assert "Feldkirch" not in page.text and ">Vaduz</h2>" in page.text
    again = await client.get(
        "/public/response-times", headers={"Accept": BROWSER, "If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    data = await client.get("/public/response-times", headers={"Accept": "application/json"})
    assert data.headers["content-type"] == "application/json" and data.headers["etag"] != page.headers["etag"]
    outside = [m for m in data.json()["months"] if m["municipality"] == queries.OUTSIDE]
    assert outside and outside[0]["incidents"] >= 5
    assert data.json()["service_area"] == "Liechtenstein"
    assert (await client.get("/public/response-times?format=json", headers={"Accept": BROWSER})).json()["months"]
    forced = await client.get("/public/response-times?format=html")
    assert forced.headers["content-type"].startswith("text/html")
    assert (await client.get("/public/response-times?format=xml")).status_code == 422


@pytest.mark.parametrize(
    ("query", "sentence"),
    [("months=0", "whole number from 1 to 60"), ("months=x", "whole number from 1 to 60"), ("format=xml", "html")],
)
async def test_a_bad_query_is_a_page_for_browsers_and_problem_json_for_clients(client, query, sentence):
    page = await client.get(f"/public/response-times?{query}", headers={"Accept": BROWSER})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert sentence in page.text and '<a href="/public/response-times">' in page.text
    assert '<html lang="en">' in page.text and "{" not in page.text.split("</style>")[1]
    data = await client.get(f"/public/response-times?{query}", headers={"Accept": "application/json"})
    assert data.status_code == 422 and data.headers["content-type"] == "application/problem+json"
    assert data.json()["type"] == "/problems/invalid_input"
    if query.startswith("format="):
        return  # a second format would replace the first
    forced = await client.get(f"/public/response-times?{query}&format=json", headers={"Accept": BROWSER})
    assert forced.status_code == 422 and forced.headers["content-type"] == "application/problem+json"
