"""The crew's device, beyond its own assignment (Chromium, Playwright, the real service): the other units on
the job with their status, the dispatchers' notes as they are added, a move-up order with its route; and the
job's key lines readable in sunlight (contrast at least 7:1, day and night)."""

import os
from pathlib import Path

import orjson
from httpx import AsyncClient
from playwright.async_api import Page, async_playwright, expect

from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)
from tests.test_push_team import CALL, assign
from tests.test_unit_app import CHROMIUM, PHONE, TABLET, VADUZ, axe_violations

# The lines a crew must read at a glance, in a moving vehicle, in sunlight.
KEY_LINES = (
    "#job-priority, #job-type, #job-address, #job-municipality, #job-flags li, #job-team li, #job-notes li, #ack"
)
# WCAG's contrast ratio of each visible element's text against the first opaque background behind it.
CONTRAST = """(selector) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const background = (el) => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length < 4 || c[3] === 1) return c; } return [255, 255, 255]; };
  return [...document.querySelectorAll(selector)].filter((el) => el.offsetParent !== null).map((el) => {
    const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
    return [el.id || el.parentElement.id, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}"""


async def low_contrast(page: Page) -> list:
    found = await page.evaluate(CONTRAST, KEY_LINES)
    assert found, "no key line was visible"
    return [(where, round(ratio, 2)) for where, ratio in found if ratio < 7]


async def test_the_crew_sees_the_team_the_notes_and_a_move_up(serve, crews, tmp_path):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    shots = Path(os.environ.get("DISPATCH_SCREENSHOTS") or tmp_path)
    first, second = sorted(crews["units"])[:2]
    dispatcher = bearer(crews["dispatcher"])
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        units = {u["id"]: u["call_sign"] for u in (await client.get("/api/units", headers=dispatcher)).json()}
        incident_id = await take_call(addr, crews["call_taker"], CALL)
        noted = await client.post(
            f"/api/incidents/{incident_id}/notes", json={"text": "Key safe at the side door"}, headers=dispatcher
        )
        assert noted.status_code == 201, noted.text
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=PHONE, geolocation=VADUZ, permissions=["geolocation"])
        page = await context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"http://{addr}/unit/")
        await page.fill("#token", crews["units"][first])
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)

        await assign(client, crews["dispatcher"], incident_id, first)
        await expect(page.locator("body")).to_have_attribute("data-job", "new", timeout=15_000)
        # A note written before the crew was sent comes with the job.
        await expect(page.locator("#job-notes li")).to_contain_text("Key safe at the side door")
        for theme in ("day", "night"):
            await page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
            assert not await low_contrast(page), theme
        await page.evaluate("document.documentElement.dataset.theme = 'day'")
        await page.click("#ack")
        await expect(page.locator("#job-team-block")).to_be_hidden()  # alone on it: no team to show

        # A second unit is sent: the crew sees it coming, then on its way.
        other = await device(addr, crews["units"][second])
        await assign(client, crews["dispatcher"], incident_id, second)
        await expect(page.locator("#job-team li")).to_contain_text(
            f"{units[second]}: sent, not yet acknowledged", timeout=10_000
        )
        job = await next_of(other, "assignment")
        await other.send(orjson.dumps({"type": "ack", "of": job["id"]}).decode())
        status = {"type": "status", "status": "en_route", "assignment_id": job["assignment_id"], "id": "s1"}
        await other.send(orjson.dumps(status).decode())
        await expect(page.locator("#job-team li")).to_contain_text(f"{units[second]}: en route", timeout=10_000)

        # A dispatcher's note as it is added: in the job's log and said at once.
        await client.post(
            f"/api/incidents/{incident_id}/notes", json={"text": "Caller reports a second casualty"}, headers=dispatcher
        )
        await expect(page.locator("#job-notes li").last).to_contain_text("Caller reports a second casualty")
        await expect(page.locator("#notice")).to_contain_text("New note from")
        for theme in ("day", "night"):
            await page.evaluate(f"document.documentElement.dataset.theme = '{theme}'")
            assert not await low_contrast(page), theme
        assert not await axe_violations(page)
        await page.evaluate("document.documentElement.dataset.theme = 'day'")
        await other.close()

        cancelled = await client.post(
            f"/api/incidents/{incident_id}/cancel", json={"reason": "false alarm"}, headers=dispatcher
        )
        assert cancelled.status_code == 200, cancelled.text
        await expect(page.locator("#job")).to_be_hidden(timeout=10_000)
        # Looking back: the job's notes are in its recent jobs' details.
        await page.click("#jobs-open")
        await page.click(f"#jobs-list [data-incident='{incident_id}']")
        await expect(page.locator("#jobs-detail-notes li")).to_have_count(2)
        await expect(page.locator("#jobs-detail-notes li").first).to_contain_text("Key safe at the side door")
        await page.click("#jobs-back")
        await page.click("#jobs-back")

        # A move-up order: marked as one, with its route; it stays until the crew is at the post.
        order = {"unit_id": first, "post_id": 1, "post": "Schaan centre", "lat": 47.1650, "lon": 9.5097}
        await app.state.services.pusher.move({**order, "reason": "coverage"})
        await expect(page.locator("#standby")).to_be_visible(timeout=10_000)
        await expect(page.locator("#standby-title")).to_contain_text("Move-up")
        await expect(page.locator("#standby-post")).to_have_text("Schaan centre")
        await expect(page.locator("#standby-route")).to_contain_text("min by road")
        await expect(page.locator("#standby-navigate")).to_have_attribute(
            "href", "geo:47.165,9.5097?q=47.165,9.5097(Schaan%20centre)"
        )
        await expect(page.locator("#idle")).to_be_hidden()
        await expect(page.locator("#map path.map-route")).to_be_attached()
        await page.set_viewport_size(TABLET)
        await page.screenshot(path=str(shots / "unit-standby.png"))
        assert not await axe_violations(page)
        await page.reload()  # kept on the device, as a job is
        await expect(page.locator("#standby-post")).to_have_text("Schaan centre", timeout=10_000)
        await page.click("#standby-done")
        await expect(page.locator("#standby")).to_be_hidden()
        await expect(page.locator("#idle")).to_be_visible()
        # An app of an older release is told why in words a browser can read, not left reconnecting.
        refused = await page.evaluate(
            """(token) => new Promise((done) => {
                 const ws = new WebSocket(`ws://${location.host}/ws/unit`, ["dispatch.v0", `bearer.${token}`]);
                 let said = null;
                 ws.onmessage = (event) => { said = JSON.parse(event.data); };
                 ws.onclose = (event) => done([event.code, said && said.code]);
               })""",
            crews["units"][second],
        )
        assert refused == [4005, "unsupported_protocol"]
        await browser.close()
    assert not errors, errors
