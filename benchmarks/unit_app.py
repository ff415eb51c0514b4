"""The crew app over the wire and in a dead zone: what a first load transfers, how fast a held job shows with
no network, and first render on a slow mobile link, cold and with the service worker.

    .venv/bin/python -m benchmarks.unit_app --runs 10 --throttled-runs 5

Prepares the bench database (`<name>_bench`, Redis db 14, as `dispatch bench` does), starts `dispatch serve`
on 127.0.0.1 with auto-dispatch off, takes a call and assigns it to a unit, then drives Debian's Chromium:

(a) bytes on the wire of a first load, signed in, until the map is drawn and the worker holds the shell: the
    sum of CDP's `Network.loadingFinished` encodedDataLength (headers and body as received) per request of
    the page, by kind; the worker's own requests (its precache) counted apart, from Playwright's sizes. Once
    as the browser asks (gzip accepted), once with `Accept-Encoding: identity` (nothing compressed).
(b) with the job held and acknowledged, the network off: reload → the job's address shown, and → the roads
    drawn, timed in the page (performance.now() from the navigation's start) by a MutationObserver.
(c) on a throttled link (CDP Network.emulateNetworkConditions: 1.6 Mbit/s down, 750 kbit/s up, 150 ms):
    first contentful paint and until the sign-in form is usable (a new device), until the signed-in app with
    its job is shown and until its map is drawn (a device with a token); cold (a new browser profile) and
    warm (the same device again, the worker in control).
Prints tables and one JSON line.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from rich.console import Console
from rich.table import Table

from benchmarks.bench.run import BenchError, wait_ready
from benchmarks.bench.setup import BenchSetup, prepare
from dispatch.config import get_settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 412, "height": 915}
SLOW = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
# Records, in the page, when each thing first showed (ms from the navigation's start). Run by CDP before the
# page's own scripts: the page's policy does not govern it.
MARKS = """(() => {
  window.__marks = {};
  const mark = (name, shown) => { if (!(name in __marks) && shown()) __marks[name] = performance.now(); };
  const visible = (id) => { const e = document.getElementById(id); return e && !e.hidden && e.offsetParent !== null; };
  new MutationObserver(() => {
    mark("form", () => visible("login"));
    mark("app", () => visible("app"));
    mark("job", () => visible("job") && document.getElementById("job-address").textContent !== "");
    mark("roads", () => document.querySelector("#map path.map-road") !== null);
  }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();"""
PAINT = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"


def kind(url: str) -> str:
    path = "/" + url.split("/", 3)[-1]
    if path.startswith("/console/vendor/leaflet/"):
        return "leaflet"
    if path.startswith("/api/map"):
        return "map layers"
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/ws/"):
        return "websocket (upgrade)"
    return "shell"


def assign(base: str, setup: BenchSetup) -> int:
    """A call at Städtle 23 assigned to the first recommended unit; returns that unit's id."""
    with httpx.Client(base_url=base, timeout=30) as client:
        call = {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER", "caller_number": "+423 799 00 03"}
        made = client.post("/api/calls", json=call, headers={"Authorization": f"Bearer {setup.call_taker}"})
        if made.status_code != 201:
            raise BenchError(f"the call was refused: {made.status_code} {made.text}")
        incident = made.json()["id"]
        dispatcher = {"Authorization": f"Bearer {setup.dispatcher}"}
        for _ in range(100):
            picks = client.get(f"/api/incidents/{incident}/recommendations", headers=dispatcher)
            if picks.status_code == 200 and picks.json()["picks"]:
                break
            time.sleep(0.2)
        else:
            raise BenchError("no unit was recommended for the call")
        unit_id = picks.json()["picks"][0]["unit_id"]
        done = client.post(f"/api/incidents/{incident}/assign", json={"unit_ids": [unit_id]}, headers=dispatcher)
        if done.status_code != 200:
            raise BenchError(f"the assignment was refused: {done.status_code} {done.text}")
        return unit_id


async def signed_in(context: BrowserContext, base: str, token: str) -> Page:
    """A page signed in with the job acknowledged, the map drawn and the worker in control."""
    page = await context.new_page()
    await page.goto(f"{base}/unit/")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#map path.map-road", state="attached", timeout=60_000)
    if await page.locator("#ack").is_visible():
        await page.click("#ack")
    await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000, polling=100)
    return page


async def transfer(browser: Browser, base: str, token: str, *, identity: bool) -> dict[str, dict[str, int]]:
    """Bytes received per kind on a first load (a new profile), signed in, until the worker holds the shell."""
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)  # wait_for_function evaluates a string
    by_worker: dict[str, int] = {}  # what the worker fetched itself: its precache, the API answers it passes on

    async def from_worker(request) -> None:
        if request.service_worker is not None:
            sizes = await request.sizes()
            name = kind(request.url)
            by_worker[name] = by_worker.get(name, 0) + sizes["responseHeadersSize"] + sizes["responseBodySize"]

    context.on("requestfinished", from_worker)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    urls: dict[str, str] = {}
    received: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    await cdp.send("Network.enable")
    if identity:
        await cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
    await page.goto(f"{base}/unit/")
    await page.fill("#token", token)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_selector("#map path.map-road", state="attached", timeout=60_000)
    await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000, polling=100)
    await asyncio.sleep(1.0)  # the worker's last precache answers and the manifest's icons
    # A request the worker answered shows in the page's events with (about) nothing received: no double count.
    by_page: dict[str, int] = {}
    for request_id, size in received.items():
        name = kind(urls.get(request_id, ""))
        by_page[name] = by_page.get(name, 0) + int(size)
    await context.close()
    return {"page": by_page, "worker": by_worker}


async def offline_reloads(browser: Browser, base: str, token: str, runs: int) -> dict[str, list[float]]:
    context = await browser.new_context(viewport=PHONE, bypass_csp=True)
    await context.add_init_script(MARKS)
    page = await signed_in(context, base, token)
    await page.wait_for_selector("#job-address:has-text('Städtle')", timeout=30_000)
    await context.set_offline(True)
    times: dict[str, list[float]] = {"job": [], "roads": []}
    for _ in range(runs):
        await page.reload()
        await page.wait_for_function("window.__marks.job && window.__marks.roads", timeout=30_000, polling=50)
        marks = await page.evaluate("window.__marks")
        times["job"].append(marks["job"])
        times["roads"].append(marks["roads"])
    await context.close()
    return times


async def throttle_workers(browser: Browser) -> int:
    """The same slow link for the running service workers: their fetches are theirs, not the page's."""
    cdp = await browser.new_browser_cdp_session()
    targets = (await cdp.send("Target.getTargets"))["targetInfos"]
    workers = [t["targetId"] for t in targets if t["type"] == "service_worker"]
    for target in workers:
        session = (await cdp.send("Target.attachToTarget", {"targetId": target, "flatten": False}))["sessionId"]
        for number, (method, params) in enumerate((("Network.enable", {}), ("Network.emulateNetworkConditions", SLOW))):
            message = json.dumps({"id": number + 1, "method": method, "params": params})
            await cdp.send("Target.sendMessageToTarget", {"sessionId": session, "message": message})
    return len(workers)


async def throttled(browser: Browser, base: str, token: str, runs: int) -> dict[str, list[float]]:
    """FCP and the moments the form / app / job / map showed, on the slow link: cold and warm."""
    out: dict[str, list[float]] = {}

    def keep(name: str, value: float | None) -> None:
        if value is not None:
            out.setdefault(name, []).append(round(value, 1))

    async def load(page: Page, what: tuple[str, ...]) -> None:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Network.enable")
        await cdp.send("Network.emulateNetworkConditions", SLOW)
        await page.goto(f"{base}/unit/", wait_until="commit", timeout=120_000)
        ready = " && ".join(f"window.__marks?.{name}" for name in what)
        await page.wait_for_function(f"({ready}) && ({PAINT}) !== null", timeout=120_000, polling=50)

    for _ in range(runs):
        # A new device: nothing held, the sign-in form.
        context = await browser.new_context(viewport=PHONE, bypass_csp=True)
        await context.add_init_script(MARKS)
        page = await context.new_page()
        await load(page, ("form",))
        keep("cold, new device: FCP", await page.evaluate(PAINT))
        keep("cold, new device: sign-in form usable", (await page.evaluate("window.__marks")).get("form"))
        await context.close()
        # A device with its token and job (localStorage) but nothing cached, then the same device again warm.
        context = await browser.new_context(viewport=PHONE, bypass_csp=True)
        await signed_in(context, base, token)  # unthrottled: the token and the job into the profile
        storage = await context.storage_state()  # localStorage only: no HTTP cache, no worker, no Cache Storage
        await context.close()
        context = await browser.new_context(viewport=PHONE, bypass_csp=True, storage_state=storage)
        await context.add_init_script(MARKS)
        page = await context.new_page()
        await load(page, ("app", "roads"))
        marks = await page.evaluate("window.__marks")
        keep("cold, signed in: FCP", await page.evaluate(PAINT))
        keep("cold, signed in: app shown", marks.get("app"))
        keep("cold, signed in: map drawn", marks.get("roads"))
        await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000, polling=100)
        await asyncio.sleep(2.0)  # the worker's precache, on the slow link too
        page = await context.new_page()
        if not await throttle_workers(browser):
            raise BenchError("no service worker running to throttle for the warm load")
        await load(page, ("app", "roads"))
        marks = await page.evaluate("window.__marks")
        keep("warm (worker), signed in: FCP", await page.evaluate(PAINT))
        keep("warm (worker), signed in: app shown", marks.get("app"))
        keep("warm (worker), signed in: map drawn", marks.get("roads"))
        await context.close()
    return out


async def measure(base: str, token: str, args: argparse.Namespace) -> dict:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            return {
                "transfer_bytes": {
                    "gzip": await transfer(browser, base, token, identity=False),
                    "identity": await transfer(browser, base, token, identity=True),
                },
                "offline_ms": await offline_reloads(browser, base, token, args.runs),
                "throttled_ms": await throttled(browser, base, token, args.throttled_runs),
            }
        finally:
            await browser.close()


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def total(measured: dict[str, dict[str, int]]) -> dict[str, int]:
    """Bytes per kind, the page's and the worker's together."""
    out: dict[str, int] = {}
    for part in measured.values():
        for name, size in part.items():
            out[name] = out.get(name, 0) + size
    return out


def show(result: dict) -> None:
    console = Console()
    sizes = Table(title="(a) first load, signed in: bytes received (encodedDataLength)")
    for column in ("kind", "gzip accepted", "identity", "ratio"):
        sizes.add_column(column, justify="left" if column == "kind" else "right")
    gzip, identity = (total(result["transfer_bytes"][mode]) for mode in ("gzip", "identity"))
    for name in sorted(set(gzip) | set(identity)):
        a, b = gzip.get(name, 0), identity.get(name, 0)
        sizes.add_row(name, f"{a:,}", f"{b:,}", f"{b / a:.1f}x" if a else "")
    a, b = sum(gzip.values()), sum(identity.values())
    sizes.add_row("total", f"{a:,}", f"{b:,}", f"{b / a:.1f}x")
    console.print(sizes)
    timed = Table(title="(b) offline reload, (c) throttled link: ms from the navigation's start")
    for column in ("what", "runs", "median", "min", "max"):
        timed.add_column(column, justify="left" if column == "what" else "right")
    offline = result["offline_ms"]
    for name, values in (("offline: job shown", offline["job"]), ("offline: roads drawn", offline["roads"])):
        timed.add_row(name, str(len(values)), str(median(values)), f"{min(values):.1f}", f"{max(values):.1f}")
    for name, values in result["throttled_ms"].items():
        timed.add_row(name, str(len(values)), str(median(values)), f"{min(values):.1f}", f"{max(values):.1f}")
    console.print(timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="offline reloads")
    parser.add_argument("--throttled-runs", type=int, default=5, help="loads of each kind on the slow link")
    parser.add_argument("--port", type=int, default=8041)
    args = parser.parse_args()
    if not 1 <= args.runs <= 100 or not 1 <= args.throttled_runs <= 20:
        parser.error("bounded runs only: --runs 1-100, --throttled-runs 1-20")  # exit code 2, as bad input
    if not 1024 <= args.port <= 65535:
        parser.error("--port: a free port from 1024 to 65535")
    setup = prepare(get_settings(), units=20, seed=7)
    env = {**os.environ, **setup.env, "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[]", "DISPATCH_ACK_DEADLINE_S": "600"}
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "dispatch"), "serve", "--port", str(args.port), "--log-level", "warning"],
        env=env,
    )
    try:
        wait_ready(args.port, server)
        base = f"http://127.0.0.1:{args.port}"
        token = setup.units[assign(base, setup)]
        result = asyncio.run(measure(base, token, args))
    except BenchError as error:
        sys.exit(str(error))
    finally:
        server.terminate()
        server.wait(timeout=20)
    result |= {"cpu_count": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)}
    show(result)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
