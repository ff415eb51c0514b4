"""A crew's press reaches the dispatch centre exactly once, whatever the link does (Debian's Chromium, Playwright,
against the real service): the server stores a status or a message and its socket dies before the answer (the
device sends it again after the next welcome, with the same id, and is answered as the first time), a press
whose network goes while the server works on it (a tunnel), and one the server could not store (`retry`: sent
again by the device itself). Each is recorded once and the screen ends on it."""

import asyncio
import time

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect
from sqlalchemy import text
from websockets.asyncio.client import connect

from dispatch.push import routes
from dispatch.push.protocol import CLOSE_SLOW
from tests.crew_app import assign, call, free_unit, launch, signed_in
from tests.test_push import bearer, crews, next_of, serve  # noqa: F401 (fixtures)
from tests.test_push_faults import received
from tests.test_unit_app import PHONE, axe_violations, status_is, until

pytestmark = pytest.mark.slow
# How many presses the device keeps in IndexedDB (console/static/unit/queue.js).
KEPT = """new Promise((done) => {
  const opened = indexedDB.open("unit-queue");
  opened.onsuccess = () => {
    const counted = opened.result.transaction("outbox").objectStore("outbox").count();
    counted.onsuccess = () => done(counted.result);
  };
})"""
# A crew's message kept on the device by another unit's sign-in (queue.js's entry).
STRANGER = """({ unit, at }) => new Promise((done) => {
  const opened = indexedDB.open("unit-queue");
  opened.onsuccess = () => {
    const tx = opened.result.transaction("outbox", "readwrite");
    tx.objectStore("outbox").add({ message: { type: "message", text: "Not ours", id: "message-x-1", at },
      label: "Message: Not ours", unit });
    tx.oncomplete = () => done(true);
  };
})"""


class Link:
    """What the server does with a crew's press (routes.answered_once): `cut` of them are stored and answered, and
    then their socket is dropped before the answer goes; `slow` of them wait `delay_s` first; `fail` of them meet
    a backend that fails (answered `retry`). Every press heard, by its id, in `heard`."""

    def __init__(self, hub) -> None:
        self.hub, self.cut, self.slow, self.fail, self.delay_s, self.heard = hub, 0, 0, 0, 1.5, []
        self.real = routes.answered_once

    async def __call__(self, state, who, unit_id, message):
        self.heard.append(message.id)
        if self.fail:
            self.fail -= 1
            raise OSError("the database went away")
        if self.slow:
            self.slow -= 1
            await asyncio.sleep(self.delay_s)
        answer = await self.real(state, who, unit_id, message)
        if self.cut:
            self.cut -= 1
            self.hub.units[unit_id].close(CLOSE_SLOW)  # as a dead zone would: the answer never reaches the device
            return None
        return answer


async def kept_messages(engine, unit_id: int) -> list:
    async with engine.connect() as conn:
        return list(
            await conn.execute(
                text("SELECT text, device_id FROM crew_messages WHERE unit_id = :u ORDER BY id"), {"u": unit_id}
            )
        )


async def events_of(engine, incident_id: int, kind: str) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(
            text("SELECT count(*) FROM incident_events WHERE incident_id = :i AND kind = :k"),
            {"i": incident_id, "k": kind},
        )


async def test_a_press_whose_answer_is_lost_is_sent_again_and_recorded_once(serve, crews, engine, monkeypatch):  # noqa: F811
    app, addr = await serve(auto_dispatch_priorities=[])
    board, hub = app.state.services.board, app.state.services.hub
    link = Link(hub)
    monkeypatch.setattr(routes, "answered_once", link)
    errors: list[str] = []
    async with AsyncClient(base_url=f"http://{addr}") as client, async_playwright() as p:
        incident_id = await call(addr, crews, note="Fell from a ladder")
        unit_id = await free_unit(client, crews, incident_id)
        browser = await launch(p)
        page = await signed_in(browser, addr, crews["units"][unit_id], PHONE, errors)
        console = await connect(f"ws://{addr}/ws/console", additional_headers=bearer(crews["dispatcher"]))
        await next_of(console, "snapshot")
        await assign(client, crews, incident_id, unit_id)
        await page.click("#ack", timeout=15_000)
        await until(lambda: status_is(board, unit_id, "acknowledged"))

        # Stored, then the socket dies before the answer: the device says so, and sends it again once back.
        link.cut = 1
        await page.click("#statuses [data-status=en_route]")
        await expect(page.locator("#notice")).to_contain_text("the connection dropped", timeout=10_000)
        await expect(page.locator("#outbox")).to_contain_text("Waiting to send: En route")
        assert not await axe_violations(page)
        await expect(page.locator("#notice")).to_have_text("“En route” recorded.", timeout=15_000)
        await expect(page.locator("#outbox")).to_be_hidden()
        await expect(page.locator("#statuses [data-status=en_route]")).to_have_attribute("aria-pressed", "true")
        assert len(link.heard) == 2 and link.heard[0] == link.heard[1]  # the same press, by its id, twice
        assert await events_of(engine, incident_id, "en_route") == 1
        assert (await board.get(unit_id)).status == "en_route"

        # A crew's message: stored and told to the consoles once, though the device sent it twice.
        link.cut, link.heard = 1, []
        await page.click("#talk summary")
        await page.click("#quick button:text('Need police')")
        await expect(page.locator("#notice")).to_have_text("Sent to dispatch: “Need police”.", timeout=15_000)
        assert len(link.heard) == 2 and link.heard[0] == link.heard[1]
        heard = [m for m in await received(console, 1.0) if m["type"] == "unit.message"]
        assert [(m["unit_id"], m["text"]) for m in heard] == [(unit_id, "Need police")]
        kept = await kept_messages(engine, unit_id)
        assert [(k.text, k.device_id) for k in kept] == [("Need police", link.heard[0])]
        await page.click("#talk summary")

        # A tunnel: the network goes while the server works on the press; back, the press is recorded once.
        link.slow, link.heard = 1, []
        await page.click("#statuses [data-status=on_scene]")
        await until(lambda: asyncio.sleep(0, result=bool(link.heard)))
        await page.context.set_offline(True)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "offline", timeout=10_000)
        await expect(page.locator("#outbox")).to_contain_text("Waiting to send: On scene")
        await asyncio.sleep(link.delay_s)  # the server is done with it, its answer gone with the socket
        await page.context.set_offline(False)
        await expect(page.locator("#notice")).to_have_text("“On scene” recorded.", timeout=15_000)
        await expect(page.locator("#outbox")).to_be_hidden()
        assert len(link.heard) == 2 and link.heard[0] == link.heard[1]
        assert await events_of(engine, incident_id, "on_scene") == 1
        assert (await board.get(unit_id)).status == "on_scene"

        # Not stored (`retry`): kept on the device, said so, and sent again by itself, with the same id.
        link.fail, link.heard = 1, []
        await page.click("#statuses [data-status=transporting]")
        await expect(page.locator("#notice")).to_contain_text("it is sent again in a moment", timeout=10_000)
        await expect(page.locator("#notice")).to_have_text("“Transporting” recorded.", timeout=15_000)
        assert len(link.heard) == 2 and link.heard[0] == link.heard[1]
        assert await events_of(engine, incident_id, "transporting") == 1
        assert await page.evaluate(KEPT) == 0  # nothing left waiting on the device

        # A press kept from another unit's sign-in on this device is not sent as this unit's.
        await page.evaluate(STRANGER, {"unit": unit_id + 1000, "at": int(time.time() * 1000)})
        await page.reload()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
        await until(lambda: page.evaluate(f"{KEPT}.then((n) => n === 0)"))
        assert not [m for m in await received(console, 1.0) if m["type"] == "unit.message"]
        assert [k.text for k in await kept_messages(engine, unit_id)] == ["Need police"]
        await console.close()
        await browser.close()
    assert not errors, errors
