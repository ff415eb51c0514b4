"""The crew app as an installed web app (Chromium through Playwright, against the real service): a valid
manifest Chromium would install, a service worker that takes control, and with no network at all the app
opening, signed in from what it holds, the held job's address and the map's roads shown. What the worker keeps:
the shell and three GET answers only, per token, gone at sign-out; a new version of any file makes a new one."""

import re
import runpy
import shutil
import struct
from pathlib import Path

import pytest
from httpx import AsyncClient
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright, expect

from dispatch.app import CONSOLE
from dispatch.edge.offline import shell, worker_source
from tests.test_push import bearer, crews, serve, take_call  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, PHONE, VADUZ, axe_violations, until

pytestmark = pytest.mark.slow
HELD = {"/api/me", "/api/map", "/api/incident-types"}
# Every cache the worker filled, by name, with the paths it keeps.
CACHES = """async () => Object.fromEntries(await Promise.all((await caches.keys()).map(async (name) =>
  [name, (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname)])))"""


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


async def controlled(page: Page) -> None:
    # Polled from here: wait_for_function evaluates a string, which the page's policy (no eval) refuses.
    await until(lambda: page.evaluate("navigator.serviceWorker.controller !== null"))


def test_the_worker_keeps_every_module_and_changes_version_with_any_file(tmp_path):
    urls = [url for url, _ in shell(CONSOLE)]
    imports = re.findall(r'from "\./([\w.]+)"', (CONSOLE / "static/unit/main.js").read_text())
    assert imports and {f"/unit/{name}" for name in imports} <= set(urls)
    assert {"/unit/", "/unit/unit.css", "/unit/manifest.webmanifest", "/console/vendor/leaflet/leaflet.js"} <= set(urls)
    assert "/unit/sw.js" not in urls and not any(url.startswith("/api/") for url in urls)
    # A copy of the files: the version is theirs; one changed byte anywhere makes another.
    copy = copy_console(tmp_path)
    version = re.compile(r'"version": "(\w+)"')
    first = version.search(worker_source(copy))[1]
    assert version.search(worker_source(copy))[1] == first
    with (copy / "static" / "unit" / "map.js").open("a") as module:
        module.write("\n// changed\n")
    assert version.search(worker_source(copy))[1] != first


async def test_the_app_is_installable_and_its_worker_takes_control(serve, tmp_path):  # noqa: F811
    _, addr = await serve()
    async with AsyncClient(base_url=f"http://{addr}") as client:
        manifest = await client.get("/unit/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        fields = manifest.json()
        assert (fields["start_url"], fields["scope"], fields["display"]) == ("/unit/", "/unit/", "standalone")
        css = (await client.get("/unit/unit.css")).text
        assert fields["theme_color"] in css and fields["background_color"] in css
        sizes = set()
        for icon in fields["icons"]:
            image = await client.get(icon["src"])
            assert image.status_code == 200 and image.headers["content-type"] == "image/png"
            sizes.add(png_size(image.content))
            assert f"{png_size(image.content)[0]}x{png_size(image.content)[1]}" == icon["sizes"]
        assert {(192, 192), (512, 512)} <= sizes
        worker = await client.get("/unit/sw.js")
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["cache-control"] == "no-cache" and worker.text.startswith("self.PRECACHE = {")
        policy = worker.headers["content-security-policy"]
        assert "worker-src 'self'" in policy and "manifest-src 'self'" in policy

    async with async_playwright() as p:
        # A profile on disk: Chromium installs nothing from an incognito window, which a new context is.
        browser = await p.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, args=["--no-sandbox"]
        )
        page = await browser.new_page()
        await page.goto(f"http://{addr}/unit/")
        await controlled(page)  # clients.claim(): this very page, not only the next one
        cdp = await page.context.new_cdp_session(page)
        seen = await cdp.send("Page.getAppManifest")
        assert seen["url"].endswith("/unit/manifest.webmanifest") and not seen["errors"], seen["errors"]
        assert (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"] == []
        held = await page.evaluate(CACHES)
        shells = [name for name in held if name.startswith("unit-shell-")]
        assert len(shells) == 1 and {"/unit/", "/unit/main.js", "/console/vendor/leaflet/leaflet.js"} <= set(
            held[shells[0]]
        )
        await browser.close()


async def test_with_no_network_the_app_opens_with_the_held_job_and_its_map(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # the dispatcher assigns: we choose the unit
    async with AsyncClient(base_url=f"http://{addr}") as client:
        incident_id = await take_call(
            addr,
            crews["call_taker"],
            {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER", "caller_number": "+423 799 00 02"},
        )

        async def picks():
            found = await client.get(
                f"/api/incidents/{incident_id}/recommendations", headers=bearer(crews["dispatcher"])
            )
            return found.status_code == 200 and found.json()["picks"]

        unit_id = (await until(picks))[0]["unit_id"]
        hosts: set[str] = set()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            context = await browser.new_context(viewport=PHONE, geolocation=VADUZ, permissions=["geolocation"])
            page = await context.new_page()
            context.on("request", lambda r: hosts.add(r.url.split("/")[2]))
            await page.goto(f"http://{addr}/unit/")
            await page.fill("#token", crews["units"][unit_id])
            await page.click("#login-form button[type=submit]")
            await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
            await controlled(page)
            await expect(page.locator("#map path.map-road").first).to_be_attached(timeout=10_000)
            name = await page.locator("#unit-name").text_content()
            assert name and name != "Unit"
            assigned = await client.post(
                f"/api/incidents/{incident_id}/assign",
                json={"unit_ids": [unit_id]},
                headers=bearer(crews["dispatcher"]),
            )
            assert assigned.status_code == 200, assigned.text
            await expect(page.locator("body")).to_have_attribute("data-job", "new", timeout=15_000)
            await page.click("#ack")
            await expect(page.locator("body")).to_have_attribute("data-job", "working")
            await page.click("#statuses [data-status=en_route]")  # a POST-free socket message, never kept
            await expect(page.locator("#statuses [data-status=en_route]")).to_have_attribute(
                "aria-pressed", "true", timeout=10_000
            )

            await context.set_offline(True)
            await page.reload()
            # No network for the worker either: what it has not kept for a token fails (online: a 401).
            stranger = "fetch('/api/me', { headers: { Authorization: 'Bearer dsp_other' } })"
            assert await page.evaluate(f"{stranger}.then(r => r.status, () => 'failed')") == "failed"
            await expect(page.locator("#app")).to_be_visible()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
            await expect(page.locator("#job-address")).to_contain_text("Städtle")
            await expect(page.locator("#job-type")).not_to_have_text("FIRE-OTHER")  # the type's name, kept
            await expect(page.locator("#unit-name")).to_have_text(name)  # the call sign, as online
            await expect(page.locator("#map path.map-road").first).to_be_attached(timeout=10_000)
            assert await page.locator("#map").get_attribute("data-base") is None  # the layers, not "none"
            assert not await axe_violations(page)

            held = await page.evaluate(CACHES)
            api = {n: paths for n, paths in held.items() if n.startswith("unit-api-")}
            # One token; its GET answers that were 200 (a unit may not read /api/incident-types: the job carries
            # the type's name instead), nothing else.
            assert len(api) == 1 and {"/api/me", "/api/map"} <= set(next(iter(api.values()))) <= HELD
            shell_paths = {p for n, paths in held.items() if n.startswith("unit-shell-") for p in paths}
            assert not any(p.startswith(("/api/", "/ws/")) for p in shell_paths)

            await context.set_offline(False)
            await page.click("#sign-out")
            await page.click("#sign-out")  # the second tap confirms it
            await expect(page.locator("#login")).to_be_visible()
            await until(lambda: no_api_caches(page))
            await browser.close()
        assert hosts == {addr}, hosts  # nothing from outside 127.0.0.1


async def test_a_device_moves_to_a_new_version_of_the_app_by_itself(serve, tmp_path, monkeypatch):  # noqa: F811
    console = copy_console(tmp_path)
    monkeypatch.setattr("dispatch.app.CONSOLE", console)  # the service serves this copy, which we change
    _, addr = await serve()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"http://{addr}/unit/")
        await controlled(page)
        before = [n for n in await page.evaluate("caches.keys()") if n.startswith("unit-shell-")]
        # The service is updated: one module changes. The next start of the app finds the new worker, which
        # takes over and reloads the idle page into the new code, without the crew doing anything.
        with (console / "static" / "unit" / "alert.js").open("a") as module:
            module.write('\ndocument.documentElement.dataset.build = "next";\n')
        await page.reload()
        await until(lambda: new_code(page))
        after = [n for n in await page.evaluate("caches.keys()") if n.startswith("unit-shell-")]
        assert len(before) == len(after) == 1 and before != after  # the old version's cache is gone
        await browser.close()


async def new_code(page: Page) -> bool:
    try:
        return await page.evaluate("document.documentElement.dataset.build === 'next'")
    except PlaywrightError:  # the page reloading itself right then
        return False


def copy_console(tmp_path: Path) -> Path:
    copy = tmp_path / "console"
    shutil.copytree(CONSOLE / "static", copy / "static")
    shutil.copytree(CONSOLE / "node_modules" / "leaflet" / "dist", copy / "node_modules" / "leaflet" / "dist")
    return copy


async def no_api_caches(page: Page) -> bool:
    return not any(name.startswith("unit-api-") for name in await page.evaluate("caches.keys()"))


def test_the_icons_are_the_drawing_script_s():
    namespace = runpy.run_path(str(Path(__file__).resolve().parent.parent / "scripts" / "unit_icons.py"))
    for size in (192, 512):
        assert namespace["png"](size) == (CONSOLE / "static" / "unit" / "icons" / f"unit-{size}.png").read_bytes()
