"""The console's keys and focus at 1366×768, in Debian's Chromium against the real service: words typed where no
field takes them never assign, move, write a note or a message (a key counts only on its own: a second of no
typing before it, and for A, O, M and X none right after it); a key typed into a dialog that has just closed does
not leak; A, J and K leave the keyboard on the selected incident's item, never on the page's body; J and K walk
the queue first. The call form's Esc in the type list closes the list. The header is one line and the queue's
number and age are separate."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.test_console_incident import open_console
from tests.test_push import crews, serve, take_call  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
SMALL_SCREEN = {"width": 1366, "height": 768}
PLACES = ("Städtle 23, Vaduz", "Landstrasse 100, Schaan", "Feldkircher Strasse 10, Schaan")
TYPING_DELAY_MS = 70  # a person typing fast: about 14 keys a second
PAUSE_MS = 1200  # more than the second a key waits for after typing


async def focused(page: Page) -> str:
    """What has the keyboard: `li:<id>` of a list item, else the element's tag and id."""
    return await page.evaluate(
        """() => { const e = document.activeElement;
           return e?.matches('li[data-id]') ? `li:${e.dataset.id}` : `${e?.tagName.toLowerCase()}#${e?.id}`; }"""
    )


async def has_focus(page: Page, incident_id: int) -> None:
    """The keyboard is on the incident's item in the queue or the active list (waits for it a while)."""
    try:
        await page.wait_for_function(
            "(id) => document.activeElement?.matches('li[data-id]') && document.activeElement.dataset.id == id",
            arg=incident_id,
            timeout=5_000,
        )
    except PlaywrightTimeout:
        raise AssertionError(f"the focus is on {await focused(page)}, not on #{incident_id}'s item") from None


async def test_words_typed_outside_a_field_do_nothing_and_keys_on_their_own_keep_the_focus(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])  # recommend mode: the dispatcher decides
    for place in PLACES:
        await take_call(addr, crews["call_taker"], {"location_text": place, "type_code": "FIRE-OTHER"})
    sent: list[str] = []
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"], SMALL_SCREEN)
        page.on(
            "request",
            lambda r: (
                sent.append(urlsplit(r.url).path)
                if r.method == "POST" and re.search(r"/(assign|notes|messages)$", r.url)
                else None
            ),
        )
        queue = page.locator("#queue-list li")
        await expect(queue).to_have_count(3)
        first = int(await queue.first.get_attribute("data-id"))
        await queue.first.click()
        await expect(page.locator("#incident-title")).to_contain_text(f"#{first}")
        await expect(page.locator("#assign")).to_be_attached()

        # Words typed on the list item: no assign, no move, no note, nothing sent.
        await page.keyboard.type("back at station", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        # A word that starts with a key: "assign" is typed, not A.
        await page.keyboard.type("assign", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        await page.keyboard.type("on my way", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        await expect(page.locator("#incident-title")).to_contain_text(f"#{first}")
        await expect(page.locator("#ask-dialog")).to_have_count(0)
        await expect(page.locator("#talk-dialog")).to_be_hidden()
        # On a board button too ("wrong unit": its o is a word's letter, not a note).
        await page.locator("#unit-board thead button").first.focus()
        await page.keyboard.type("wrong unit", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        await expect(page.locator("#ask-dialog")).to_have_count(0)
        assert sent == [], sent

        # A note by O on its own; the words typed on after its Enter do not leak into the console.
        await page.locator("#incident-title").click()
        await page.keyboard.press("o")
        await expect(page.locator("#note-text")).to_be_focused()
        await page.keyboard.type("caller calls back", delay=TYPING_DELAY_MS)
        await page.keyboard.press("Enter")
        await page.keyboard.type("ak ak", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        assert sent == [f"/api/incidents/{first}/notes"], sent
        await expect(page.locator("#incident-title")).to_contain_text(f"#{first}")

        # A on its own assigns, and the keyboard stays on the incident shown, now in the active list.
        await queue.first.click()
        await page.wait_for_timeout(PAUSE_MS)
        async with page.expect_response(lambda r: r.url.endswith("/assign")) as answer:
            await page.keyboard.press("a")
        assert (await answer.value).status == 200
        await expect(page.locator(f"#active-list li[data-id='{first}']")).to_be_visible()
        await has_focus(page, first)
        await expect(page.locator("#incident-title")).to_contain_text(f"#{first}")

        # J from an active incident goes to the queue's first waiting call; J J walks on; the focus follows.
        waiting = [int(i) for i in await queue.evaluate_all("(items) => items.map((li) => li.dataset.id)")]
        assert len(waiting) == 2 and first not in waiting
        await page.wait_for_timeout(PAUSE_MS)  # J a second after A: on its own
        await page.keyboard.press("j")
        await expect(page.locator("#incident-title")).to_contain_text(f"#{waiting[0]}")
        await has_focus(page, waiting[0])
        await page.keyboard.press("j")
        await expect(page.locator("#incident-title")).to_contain_text(f"#{waiting[1]}")
        await page.keyboard.press("k")
        await expect(page.locator("#incident-title")).to_contain_text(f"#{waiting[0]}")
        await has_focus(page, waiting[0])
        # A pressed with letters right after it (within a moment) is a word's letter: nothing is sent.
        await page.wait_for_timeout(PAUSE_MS)
        await page.keyboard.type("as", delay=TYPING_DELAY_MS)
        await page.wait_for_timeout(PAUSE_MS)
        assert sent == [f"/api/incidents/{first}/notes", f"/api/incidents/{first}/assign"], sent
        await expect(page.locator("#incident-result")).to_contain_text("Not assigned")
        assert errors == []


async def test_esc_in_the_type_list_closes_the_list_and_a_second_asks(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["call_taker"], SMALL_SCREEN)
        await page.keyboard.press("n")
        await expect(page.locator("#call-location")).to_be_focused()
        await page.keyboard.type("Städtle 23, Vaduz")
        await page.locator("#call-type").focus()
        await page.keyboard.type("fire")
        await expect(page.locator("#call-type-list")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#call-type-list")).to_be_hidden()
        await expect(page.locator("#discard-dialog")).to_be_hidden()
        await expect(page.locator("#call-type")).to_be_focused()
        await page.keyboard.press("Escape")
        await expect(page.locator("#discard-dialog")).to_be_visible()
        await page.keyboard.press("Enter")  # No, the default: the call stays
        await expect(page.locator("#call-dialog")).to_be_visible()
        # The list opened by the arrow, an option highlighted: Esc closes it, the call stays.
        await page.locator("#call-type").fill("")
        await page.keyboard.press("ArrowDown")
        await page.keyboard.press("ArrowDown")
        await expect(page.locator("#call-type-list")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#call-type-list")).to_be_hidden()
        await expect(page.locator("#discard-dialog")).to_be_hidden()
        # Reached by Enter from the narrative, as a caller is asked.
        await page.locator("#call-narrative").fill("smoke from the roof")
        await page.locator("#call-narrative").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#call-type")).to_be_focused()
        await page.keyboard.type("Fi")
        await expect(page.locator("#call-type-list")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.locator("#call-type-list")).to_be_hidden()
        await expect(page.locator("#discard-dialog")).to_be_hidden()
        assert errors == []


async def test_at_1366_the_header_is_one_line_and_the_queue_number_and_age_are_apart(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    incident = await take_call(addr, crews["call_taker"], {"location_text": PLACES[0], "type_code": "FIRE-STRUCT"})
    async with async_playwright() as p:
        page, errors = await open_console(p, addr, crews["dispatcher"], SMALL_SCREEN)
        item = page.locator(f"#queue-list li[data-id='{incident}']")
        await expect(item).to_be_visible()
        bar = await page.locator("header.bar").bounding_box()
        assert bar is not None
        for child in await page.locator("header.bar > :visible").all():
            box = await child.bounding_box()
            assert box is not None
            # Lines of its words: the distinct tops of their boxes.
            lines = await child.evaluate(
                """(e) => { const r = document.createRange(); r.selectNodeContents(e);
                   const tops = [...r.getClientRects()].filter((b) => b.width > 0).map((b) => Math.round(b.top));
                   return new Set(tops).size; }"""
            )
            # Every part of the bar inside it, on its one line.
            assert bar["y"] <= box["y"] and box["y"] + box["height"] <= bar["y"] + bar["height"] + 0.5, (
                await child.evaluate("(e) => e.outerHTML.slice(0, 80)"),
                box,
                bar,
            )
            assert lines <= 1, (await child.evaluate("(e) => e.outerHTML.slice(0, 80)"), box)
        # The keys' reminder, if cut short, is whole on hover: the dispatcher's keys.
        hint = await page.locator(".bar .keys").get_attribute("title")
        assert hint is not None and hint.startswith("N new call") and hint.endswith("X ack alert · Esc close"), hint
        assert "A assign" in hint
        # The number and the age are separate words, side by side, not touching.
        text = await item.inner_text()
        assert not re.search(rf"#{incident}\d", text) and not re.search(r"\d:\d\dP\d", text), text
        age, number = await item.locator(".age").bounding_box(), await item.locator(".what").bounding_box()
        assert age is not None and number is not None
        assert number["x"] + number["width"] + 6 <= age["x"], (number, age)
        await page.screenshot(path="/tmp/console-1366.png")
        assert errors == []
