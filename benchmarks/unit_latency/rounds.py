"""K crew devices, each the real app at /unit/ in its own browser context (its own storage, its own unit), and the
rounds each goes through: a call taken, the device's unit assigned by a dispatcher, the job shown, acknowledged
with the app's button, its statuses pressed through to available, the incident closed; again."""

import asyncio
import random
import time
from collections.abc import Callable

from httpx import AsyncClient, Response
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from benchmarks.unit_latency.probe import PROBE, Shown
from benchmarks.unit_latency.stack import Service

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 412, "height": 915}
TYPES = ["FIRE-OTHER", "CARDIAC", "RTC-INJ", "FALL", "SICK", "WELFARE", "BURGLARY-NOW"]
STEPS = ["en_route", "on_scene"]  # after the acknowledgement; then available, which ends the job
WAIT_MS = 30_000  # a shared machine under load: generous, and a failure says what did not come


class RoundError(RuntimeError):
    """A round could not be made (a refused request, a job never shown): the message says which."""


def epoch_ms() -> float:
    return time.time() * 1000  # the server's `sent_at` is this clock too (one machine)


def _ok(response: Response, what: str, *codes: int) -> Response:
    if response.status_code not in codes:
        raise RoundError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    return response


class Device:
    def __init__(self, unit_id: int, token: str, context: BrowserContext, page: Page) -> None:
        self.unit_id, self.token, self.context, self.page = unit_id, token, context, page
        self.shown: asyncio.Queue[dict] = asyncio.Queue()

    @classmethod
    async def open(cls, browser: Browser, addr: str, unit_id: int, token: str, at: tuple[float, float] | None):
        where = {"geolocation": {"latitude": at[0], "longitude": at[1]}, "permissions": ["geolocation"]} if at else {}
        context = await browser.new_context(viewport=PHONE, **where)
        await context.add_init_script(PROBE)
        page = await context.new_page()
        device = cls(unit_id, token, context, page)
        # Pushed by the page once painted: no polling in the page that would share its frames.
        await page.expose_function("__shown", device.shown.put_nowait)
        await page.goto(f"http://{addr}/unit/")
        await page.fill("#token", token)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=WAIT_MS)
        return device

    async def clock_skew_ms(self) -> float:
        """The page's clock minus this process's (the server's), to within half a round trip."""
        before = epoch_ms()
        page = await self.page.evaluate("performance.timeOrigin + performance.now()")
        return page - (before + epoch_ms()) / 2


async def one_round(device: Device, service: Service, client: AsyncClient, rng: random.Random) -> Shown:
    setup = service.setup
    call = {
        "channel": "phone",
        "caller_number": f"+423{rng.randrange(10**6, 10**7)}",
        "location_text": rng.choice(service.places),
        "type_code": rng.choice(TYPES),
        "narrative": "unit latency benchmark",
    }
    taken = _ok(await client.post("/api/calls", json=call, headers=_bearer(setup.call_taker)), "the call", 201)
    incident_id = taken.json()["id"]
    requested = epoch_ms()
    assigned = await client.post(
        f"/api/incidents/{incident_id}/assign", json={"unit_ids": [device.unit_id]}, headers=_bearer(setup.dispatcher)
    )
    answered = epoch_ms()
    _ok(assigned, f"assigning unit {device.unit_id} to incident {incident_id}", 200)
    try:
        record = await asyncio.wait_for(device.shown.get(), WAIT_MS / 1000)
    except TimeoutError:
        raise RoundError(f"unit {device.unit_id}: incident {incident_id} was not shown within {WAIT_MS} ms") from None
    if record.get("incident_id") != incident_id:
        raise RoundError(f"unit {device.unit_id}: showed incident {record.get('incident_id')}, not {incident_id}")
    if "event" not in record:
        raise RoundError(f"unit {device.unit_id}: the job was shown without an `assignment` message (a `current`?)")
    page, body = device.page, device.page.locator("body")
    await page.click("#ack")
    await expect(body).to_have_attribute("data-job", "working", timeout=WAIT_MS)
    for status in STEPS:
        await page.click(f"#statuses [data-status={status}]")
        await expect(page.locator(f"#statuses [data-status={status}]")).to_have_attribute(
            "aria-pressed", "true", timeout=WAIT_MS
        )
    await page.click("#statuses [data-status=available]")
    await expect(body).to_have_attribute("data-job", "none", timeout=WAIT_MS)
    closed = await client.post(
        f"/api/incidents/{incident_id}/close", json={"disposition": "resolved"}, headers=_bearer(setup.dispatcher)
    )
    _ok(closed, f"closing incident {incident_id}", 200)
    return Shown.of(record, requested, answered)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def measure(
    service: Service, *, assignments: int, seed: int, on_shown: Callable[[Shown], None]
) -> tuple[list[Shown], list[float]]:
    """Every device does its share of the rounds at the same time. Returns what was shown, and each page's
    clock skew against this process's at the start."""
    units = list(service.setup.units.items())
    shares = [assignments // len(units) + (i < assignments % len(units)) for i in range(len(units))]
    shown: list[Shown] = []
    base = f"http://{service.addr}"
    async with async_playwright() as p, AsyncClient(base_url=base, timeout=WAIT_MS / 1000) as client:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"]
        )
        try:
            devices = [
                await Device.open(browser, service.addr, unit_id, token, service.setup.positions.get(unit_id))
                for unit_id, token in units
            ]
            skews = [await d.clock_skew_ms() for d in devices]

            async def rounds(device: Device, count: int, rng: random.Random) -> None:
                for _ in range(count):
                    result = await one_round(device, service, client, rng)
                    shown.append(result)
                    on_shown(result)

            rngs = [random.Random(seed * 1000 + i) for i in range(len(devices))]
            await asyncio.gather(*(rounds(*each) for each in zip(devices, shares, rngs, strict=True)))
        finally:
            await browser.close()
    return shown, skews
