"""The crew's device in the browser, for the tests of its flows: a call, the unit the matcher would send, the
dispatcher's assignment, and a page signed in with a unit's token that records every frame its socket gets."""

from httpx import AsyncClient
from playwright.async_api import Browser, Page, expect

from tests.test_push import bearer, take_call
from tests.test_unit_app import CHROMIUM, VADUZ, VIBRATE, until

# The crew's order for a job that takes a patient to hospital, after the acknowledgement.
TRANSPORT = ["en_route", "on_scene", "transporting", "at_hospital", "returning", "available"]
LABELS = {
    "en_route": "En route",
    "on_scene": "On scene",
    "transporting": "Transporting",
    "at_hospital": "At hospital",
    "returning": "Returning",
    "available": "Available",
}
# Every frame the page receives, in order (type, id, seq): what the socket brought, beside what the screen shows;
# and each hello the page sends.
FRAMES = """
window.received = [];
window.hellos = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  send(data) {
    try { const m = JSON.parse(data); if (m.type === "hello") window.hellos.push(m.last_seq); } catch { /* as is */ }
    return super.send(data);
  }
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      try { const m = JSON.parse(event.data); window.received.push({ type: m.type, id: m.id, seq: m.seq }); }
      catch { /* not JSON: the app ignores it too */ }
    });
  }
};
"""


async def call(
    addr: str, tokens: dict, *, where: str = "Städtle 23, Vaduz", kind: str = "FALL", note: str, answers=()
) -> int:
    body = {"location_text": where, "type_code": kind, "caller_number": "+423 799 00 02", "narrative": note}
    if answers:
        body["answers"] = [{"question": q, "answer": a} for q, a in answers]
    return await take_call(addr, tokens["call_taker"], body)


async def free_unit(client: AsyncClient, tokens: dict, incident_id: int) -> int:
    """The unit the matcher would send to the incident."""

    async def picks():
        found = await client.get(f"/api/incidents/{incident_id}/recommendations", headers=bearer(tokens["dispatcher"]))
        return found.status_code == 200 and found.json()["picks"]

    return (await until(picks))[0]["unit_id"]


async def assign(client: AsyncClient, tokens: dict, incident_id: int, unit_id: int) -> None:
    done = await client.post(
        f"/api/incidents/{incident_id}/assign", json={"unit_ids": [unit_id]}, headers=bearer(tokens["dispatcher"])
    )
    assert done.status_code == 200, done.text


async def signed_in(browser: Browser, addr: str, token: str, viewport: dict, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=viewport, geolocation=VADUZ, permissions=["geolocation"])
    await context.add_init_script(VIBRATE + FRAMES)
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"http://{addr}/unit/")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
    return page


async def launch(p):
    return await p.chromium.launch(
        executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
    )


async def on_a_job(p, client: AsyncClient, addr: str, tokens: dict, note: str, viewport: dict, errors: list[str]):
    """A call taken, the unit the matcher would send assigned, its crew signed in on the app and acknowledging:
    (incident id, unit id, browser, page)."""
    incident_id = await call(addr, tokens, note=note)
    unit_id = await free_unit(client, tokens, incident_id)
    browser = await launch(p)
    page = await signed_in(browser, addr, tokens["units"][unit_id], viewport, errors)
    await assign(client, tokens, incident_id, unit_id)
    await page.click("#ack", timeout=15_000)
    return incident_id, unit_id, browser, page
