"""Whole flows on the crew's device at /unit/ (Debian's Chromium, Playwright) against the real service: a transport
job from the alert to available on a tablet, a resume after the server dropped the socket while messages were
sent, a unit that cannot read another unit's job, the crew's recent jobs (offline, a refused job, axe), and a crew
driving back (returning) that resumes."""

import os
import re
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect
from sqlalchemy import text

from dispatch.incidents.types import incident_types
from dispatch.push.protocol import CLOSE_SLOW
from tests.crew_app import LABELS, TRANSPORT, assign, call, free_unit, launch, signed_in
from tests.test_push import bearer, crews, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import PHONE, TABLET, axe_violations, status_is, until

pytestmark = pytest.mark.slow
DOCS = Path(__file__).resolve().parent.parent / "docs"


async def test_a_whole_transport_job_from_the_alert_to_available_on_a_tablet(serve, crews, engine):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: we choose the unit
    board = app.state.services.board
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        asked = incident_types().get("FALL").questions[0]
        incident_id = await call(addr, crews, note="Fell down the stairs, hip pain", answers=[(asked, "Yes, awake")])
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], TABLET, errors)
        await assign(client, crews, incident_id, unit_id)

        await expect(page.locator("body")).to_have_attribute("data-alerting", "true", timeout=15_000)
        await expect(page.locator("#job-type")).to_have_text(incident_types().get("FALL").name)
        await expect(page.locator("#job-answers")).to_have_text(f"{asked} Yes, awake")  # what the caller answered
        await page.click("#ack")
        await expect(page.locator("body")).to_have_attribute("data-alerting", "false")
        await until(lambda: status_is(board, unit_id, "acknowledged"))

        for status in TRANSPORT:
            await page.click(f"#statuses [data-status={status}]")
            await expect(page.locator("#notice")).to_have_text(f"“{LABELS[status]}” recorded.", timeout=10_000)
            await until(lambda s=status: status_is(board, unit_id, s))
            # The job stays on the screen until the crew is available again.
            if status != "available":
                await expect(page.locator("#job")).to_be_visible()
                await expect(page.locator(f"#statuses [data-status={status}]")).to_have_attribute(
                    "aria-pressed", "true"
                )
        await expect(page.locator("#job")).to_be_hidden()
        await expect(page.locator("#idle")).to_be_visible()
        assert (await board.get(unit_id)).incident_id is None

        async with engine.connect() as conn:
            kinds = (
                await conn.scalars(
                    text(
                        "SELECT kind FROM incident_events WHERE incident_id = :i AND payload->>'unit_id' = :u "
                        "ORDER BY id"
                    ),
                    {"i": incident_id, "u": str(unit_id)},
                )
            ).all()
            assignment = (
                await conn.execute(
                    text("SELECT status::text, cleared_at FROM assignments WHERE incident_id = :i AND unit_id = :u"),
                    {"i": incident_id, "u": unit_id},
                )
            ).one()
        # Each press of the job recorded once, in the crew's order; "returning" ended the assignment (cleared).
        assert kinds == [
            "dispatched",
            "acknowledged",
            "en_route",
            "on_scene",
            "transporting",
            "at_hospital",
            "cleared",
        ], kinds
        assert assignment.status == "cleared" and assignment.cleared_at is not None

        # Afterwards the job is among the crew's recent jobs, in plain words.
        await page.click("#jobs-open")
        item = page.locator(f"#jobs-list [data-incident='{incident_id}']")
        await expect(item).to_contain_text(incident_types().get("FALL").name, timeout=10_000)
        await expect(item).to_contain_text("Städtle")
        await expect(item).to_contain_text("Finished")
        await item.click()
        await expect(page.locator("#jobs-detail-narrative")).to_have_text("Fell down the stairs, hip pain")
        await expect(page.locator("#jobs-detail-times")).to_contain_text("On scene")
        await page.click("#jobs-back")
        await expect(page.locator("#jobs-list")).to_be_visible()
        await page.click("#jobs-back")
        await expect(page.locator("#jobs")).to_be_hidden()
        await expect(page.locator("#idle")).to_be_visible()
        await browser.close()
    assert not errors, errors


async def test_after_the_server_drops_the_socket_each_missed_message_is_shown_once_in_order(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    hub = app.state.services.hub
    errors: list[str] = []
    words = ["Patient moved to the neighbour's flat", "Use the back door, the front is locked"]
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id = await call(addr, crews, note="Dizzy, fell in the kitchen")
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], TABLET, errors)
        await assign(client, crews, incident_id, unit_id)
        await page.click("#ack", timeout=15_000)
        await expect(page.locator("#job-address")).to_contain_text("Städtle")
        await expect(page.locator("#job-directions")).to_be_visible(timeout=10_000)  # its route came too
        seen_before = int(await page.evaluate("localStorage.getItem('unit-last-seq')"))

        # The server drops the socket (as when it finds the device too slow): the device did not ask for it.
        dropped = hub.units[unit_id]
        dropped.close(CLOSE_SLOW)

        async def gone():
            return hub.units.get(unit_id) is None

        await until(gone)
        await expect(page.locator("#conn")).not_to_have_attribute("data-state", "connected")
        # The network goes too, for as long as the messages take: the device cannot be back in between.
        await page.context.set_offline(True)
        sent = []
        posted = await client.post(
            f"/api/units/{unit_id}/messages", json={"text": words[0]}, headers=bearer(crews["dispatcher"])
        )
        assert posted.status_code in (200, 201), posted.text
        sent.append(posted.json()["id"])
        moved = await client.patch(
            f"/api/incidents/{incident_id}",
            json={"location_text": "Landstrasse 100, Schaan"},
            headers=bearer(crews["dispatcher"]),
        )
        assert moved.status_code == 200, moved.text
        posted = await client.post(
            f"/api/units/{unit_id}/messages", json={"text": words[1]}, headers=bearer(crews["dispatcher"])
        )
        assert posted.status_code in (200, 201), posted.text
        sent.append(posted.json()["id"])
        assert hub.units.get(unit_id) is None  # all three were missed: no socket of the unit while they went
        await expect(page.locator("#inbox")).to_be_hidden()
        await expect(page.locator("#job-address")).to_contain_text("Städtle")

        hellos = len(await page.evaluate("window.hellos"))
        await page.context.set_offline(False)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        # Back, the device said hello with the last seq it saw before the drop: the server replays what followed.
        assert (await page.evaluate("window.hellos"))[hellos:] == [seen_before]
        # Each missed message shown, the first first; the next waits for the crew's "Seen", none hidden by it.
        await expect(page.locator("#inbox-text")).to_have_text(words[0], timeout=10_000)
        await expect(page.locator("#inbox-from")).to_contain_text("message 1 of 2")
        await expect(page.locator("#job-address")).to_contain_text("Landstrasse")
        await expect(page.locator("#job-municipality")).to_have_text("Schaan")
        await page.click("#inbox-seen")
        await expect(page.locator("#inbox-text")).to_have_text(words[1])
        await expect(page.locator("#inbox-from")).not_to_contain_text("of 2")
        await page.click("#inbox-seen")
        await expect(page.locator("#inbox")).to_be_hidden()
        # What the socket brought after the resume: the three, in the order they were sent, each once.
        missed = await page.evaluate(f"window.received.filter(f => f.seq > {seen_before})")
        assert [f["type"] for f in missed] == ["message", "update", "message"], missed
        assert [missed[0]["id"], missed[2]["id"]] == sent
        assert [f["seq"] for f in missed] == sorted({f["seq"] for f in missed})

        # Sent again (a device that says hello with an older seq gets them replayed): none is shown twice; a
        # message not yet marked seen survives the reload, once.
        posted = await client.post(
            f"/api/units/{unit_id}/messages",
            json={"text": "Third: police on the way"},
            headers=bearer(crews["dispatcher"]),
        )
        await expect(page.locator("#inbox-text")).to_have_text("Third: police on the way", timeout=10_000)
        await page.evaluate(f"localStorage.setItem('unit-last-seq', '{seen_before}')")
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)

        async def replayed():
            return len(await page.evaluate(f"window.received.filter(f => f.seq > {seen_before})")) >= 4

        await until(replayed)
        again = await page.evaluate(f"window.received.filter(f => f.seq > {seen_before})")
        assert [f["id"] for f in again] == [*[f["id"] for f in missed], posted.json()["id"]], again
        await expect(page.locator("#inbox-text")).to_have_text("Third: police on the way")
        await expect(page.locator("#inbox-from")).not_to_contain_text(" of ")
        await page.click("#inbox-seen")
        await expect(page.locator("#inbox")).to_be_hidden()
        await expect(page.locator("#job-address")).to_contain_text("Landstrasse")
        await browser.close()
    assert not errors, errors


async def test_a_unit_cannot_read_another_units_job(serve, crews, engine):  # noqa: F811
    _app, addr = await serve(auto_dispatch_priorities=[])
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        # A's job of yesterday (stood down), A's job of today, and B's job of today.
        old = await call(addr, crews, note="Yesterday's fall")
        unit_a = await free_unit(client, crews, old)
        await assign(client, crews, old, unit_a)
        stood_down = await client.post(
            f"/api/incidents/{old}/cancel", json={"reason": "false alarm"}, headers=bearer(crews["dispatcher"])
        )
        assert stood_down.status_code == 200, stood_down.text
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE assignments SET assigned_at = assigned_at - interval '1 day', "
                    "cancelled_at = cancelled_at - interval '1 day' WHERE incident_id = :i AND unit_id = :u"
                ),
                {"i": old, "u": unit_a},
            )
        mine = await call(addr, crews, note="A's fall of today")
        theirs = await call(addr, crews, where="Landstrasse 100, Schaan", note="B's fall, not A's business")
        fleet = (await client.get("/api/units", headers=bearer(crews["dispatcher"]))).json()
        unit_b = next(u["id"] for u in fleet if u["status"] == "available" and u["id"] != unit_a)
        await assign(client, crews, theirs, unit_b)

        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_a], PHONE, errors)
        # With A's own token, in A's page: B's incident and B's jobs are refused, A's own are not.
        answers = await page.evaluate(
            """async ([a, theirs, b, old]) => {
                 const headers = { Authorization: `Bearer ${localStorage.getItem("unit-token")}` };
                 const status = async (path) => (await fetch(path, { headers })).status;
                 return [await status(`/api/incidents/${theirs}`), await status(`/api/units/${b}/jobs`),
                         await status(`/api/units/${a}/jobs`), await status(`/api/incidents/${old}`)];
               }""",
            [unit_a, theirs, unit_b, old],
        )
        assert answers == [403, 403, 200, 200], answers  # yesterday's job: listed, and it opens

        await page.click("#jobs-open")
        yesterday = page.locator(f"#jobs-list [data-incident='{old}']")
        await expect(yesterday).to_contain_text("Yesterday", timeout=10_000)
        await expect(yesterday).to_contain_text("Call cancelled")
        await yesterday.click()
        await expect(page.locator("#jobs-detail-narrative")).to_have_text("Yesterday's fall")
        await page.click("#jobs-back")
        # Midnight passes while the list is open: the job it still shows is two days old now, and refused.
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE assignments SET assigned_at = assigned_at - interval '2 days' WHERE incident_id = :i"),
                {"i": old},
            )
        await yesterday.click()
        # A 403 in plain words, not a code and not an endless wait.
        await expect(page.locator("#jobs-state")).to_have_text(
            re.compile(r"^The details of this job cannot be opened on the device")
        )
        await expect(page.locator("#jobs-detail-title")).to_have_text(incident_types().get("FALL").name)
        await expect(page.locator("#jobs-retry")).to_be_hidden()  # a refusal: trying again would not help
        assert not await axe_violations(page)
        async with engine.begin() as conn:  # yesterday's again, for the list below
            await conn.execute(
                text("UPDATE assignments SET assigned_at = assigned_at + interval '2 days' WHERE incident_id = :i"),
                {"i": old},
            )

        # An assignment coming in takes the screen from the look back at once.
        await assign(client, crews, mine, unit_a)
        await expect(page.locator("body")).to_have_attribute("data-job", "new", timeout=15_000)
        await expect(page.locator("#jobs")).to_be_hidden()
        await expect(page.locator("#job-narrative")).to_have_text("A's fall of today")
        await expect(page.locator("#jobs-open")).to_be_hidden()  # nothing covers it until acknowledged
        await page.click("#ack")

        await page.click("#jobs-open")
        await expect(page.locator(f"#jobs-list [data-incident='{mine}']")).to_contain_text("In progress")
        await expect(page.locator(f"#jobs-list [data-incident='{old}']")).to_be_visible()
        listed = await page.locator("#jobs-list [data-incident]").evaluate_all(
            "els => els.map(e => e.dataset.incident)"
        )
        assert str(theirs) not in listed and str(mine) in listed, listed
        await page.click(f"#jobs-list [data-incident='{mine}']")
        await expect(page.locator("#jobs-detail-narrative")).to_have_text("A's fall of today")
        await browser.close()
    assert not errors, errors


async def test_recent_jobs_offline_and_accessible_on_phone_and_tablet(serve, crews, tmp_path):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board = app.state.services.board
    shots = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path)
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id = await call(addr, crews, kind="BREATHING", note="Short of breath after climbing stairs")
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], PHONE, errors)
        await assign(client, crews, incident_id, unit_id)
        await page.click("#ack", timeout=15_000)
        for status in ("en_route", "on_scene"):
            await page.click(f"#statuses [data-status={status}]")
            await until(lambda s=status: status_is(board, unit_id, s))

        # Offline: the crew leaves the scene and is free again; both presses wait on the device, and the list of
        # jobs says it cannot load them now, offering to try again once back.
        await page.context.set_offline(True)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "offline", timeout=10_000)
        await page.click("#statuses [data-status=returning]")
        await page.click("#statuses [data-status=available]")
        await expect(page.locator("#outbox p")).to_have_count(2)
        await page.click("#jobs-open")
        await expect(page.locator("#jobs-state")).to_contain_text("Cannot load your recent jobs now", timeout=15_000)
        await expect(page.locator("#jobs-retry")).to_be_visible()
        assert not await axe_violations(page)
        await page.context.set_offline(False)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        # Sent in order once back: Returning ends the job on the server, Available (naming no job) is accepted.
        await expect(page.locator("#notice")).to_have_text("“Available” recorded.", timeout=10_000)
        await until(lambda: status_is(board, unit_id, "available"))
        await expect(page.locator("#outbox")).to_be_hidden()
        await page.click("#jobs-retry")
        item = page.locator(f"#jobs-list [data-incident='{incident_id}']")
        await expect(item).to_contain_text(incident_types().get("BREATHING").name, timeout=10_000)
        await expect(item).to_contain_text("Finished")
        await expect(page.locator("#jobs-state")).to_be_hidden()
        await expect(page.locator("#jobs-retry")).to_be_hidden()
        await page.screenshot(path=str(shots / "unit-jobs.png"))
        for target in await page.locator("#jobs button:visible, #app header button:visible").all():
            assert (await target.bounding_box())["height"] >= 48
        assert not await axe_violations(page)
        await item.click()
        await expect(page.locator("#jobs-detail-narrative")).to_have_text("Short of breath after climbing stairs")
        await expect(page.locator("#jobs-detail-times dt").first).to_have_text("Call received")  # in time order
        assert not await axe_violations(page)

        await page.set_viewport_size(TABLET)
        await page.click("#theme")
        await expect(page.locator("html")).to_have_attribute("data-theme", "night")
        assert not await axe_violations(page)
        await page.click("#jobs-back")
        await expect(item).to_be_visible()
        await page.click("#jobs-back")
        await expect(page.locator("#idle")).to_be_visible()  # the job ended with Available
        await page.click("#jobs-open")
        for target in await page.locator("#jobs button:visible, #app header button:visible").all():
            assert (await target.bounding_box())["height"] >= 48
        assert not await axe_violations(page)
        await browser.close()
    assert not errors, errors
    assert (shots / "unit-jobs.png").stat().st_size > 10_000


async def test_a_crew_returning_that_resumes_is_not_told_its_job_was_withdrawn(serve, crews):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board = app.state.services.board
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id = await call(addr, crews, note="Twisted ankle on the stairs")
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], PHONE, errors)
        await assign(client, crews, incident_id, unit_id)
        await page.click("#ack", timeout=15_000)
        for status in ("en_route", "on_scene", "returning"):
            await page.click(f"#statuses [data-status={status}]")
            await expect(page.locator("#notice")).to_have_text(f"“{LABELS[status]}” recorded.", timeout=10_000)
        await expect(page.locator("#job")).to_be_visible()  # driving back, the job it comes from still shown
        # A device that lost its place says hello with 0: `current` says the unit has no job, which is so.
        await page.evaluate("localStorage.setItem('unit-last-seq', '0')")
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        await expect(page.locator("#job")).to_be_hidden(timeout=10_000)
        await expect(page.locator("#notice")).not_to_contain_text("withdrawn")
        await page.click("#statuses [data-status=available]")
        await expect(page.locator("#notice")).to_have_text("“Available” recorded.", timeout=10_000)
        await until(lambda: status_is(board, unit_id, "available"))
        await browser.close()
    assert not errors, errors
