"""One socket per unit: a crew's device replaced by another device of the same unit (4009) says so and stays
out, even when its network comes back; only the crew's reload takes the unit back."""

import asyncio

import orjson
from playwright.async_api import async_playwright, expect

from tests.test_push import crews, device, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import CHROMIUM, PHONE


async def test_a_replaced_device_does_not_take_the_unit_back_by_itself(serve, crews):  # noqa: F811
    _, addr = await serve()
    unit_id = sorted(crews["units"])[0]
    token = crews["units"][unit_id]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"http://{addr}/unit/")
        await page.fill("#token", token)
        await page.click("#login-form button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)

        other = await device(addr, token, last_seq=0)  # the same unit on another device
        await expect(page.locator("#notice")).to_contain_text("signed in on another device", timeout=10_000)
        await context.set_offline(True)
        await context.set_offline(False)  # the network comes back: the page must not fight the other device
        await asyncio.sleep(3)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "replaced")
        await other.send(orjson.dumps({"type": "ping"}).decode())
        assert other.close_code is None  # still the unit's socket

        await page.reload()  # the crew's choice: this device again
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        await asyncio.wait_for(other.wait_closed(), 10)
        assert other.close_code == 4009
        await browser.close()
