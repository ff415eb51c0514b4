"""A standard call taken on the console by keyboard: how many keys beside the words, and how long from N to
the call created.

    .venv/bin/python -m benchmarks.console_call --runs 10

A standard call is a location, the caller's number and a narrative, the type left to the narrative. On the
console signed in as a call-taker (Debian's Chromium, headless, 1920×1080) each run presses N, types the place,
Enter, types the number, Enter, Enter (past the name), types the narrative, Ctrl+Enter, as a call-taker does. The
keys are counted as the script presses them (the words typed are not keys counted); the time runs from N
pressed to the service's 201 for the call as the page received it, and to the new incident shown in the
incident's panel. Playwright types without pauses: the seconds are the console's and the service's, not a
person's typing. The bench database and the service as `benchmarks.unit_app` starts them.
"""

import asyncio
import json
import sys
import time

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright
from rich.table import Table

from benchmarks.bench.run import BenchError
from benchmarks.console_stack import (
    NARRATIVES,
    Service,
    check,
    console,
    console_page,
    fail,
    launch,
    machine,
    median,
    parser,
    ready,
    service,
)

GOAL_KEYS = 5


class Keyboard:
    """The page's keyboard, counting the keys pressed (not the words typed)."""

    def __init__(self, page: Page) -> None:
        self.page, self.presses = page, 0

    async def press(self, key: str) -> None:
        self.presses += 1
        await self.page.keyboard.press(key)

    async def type(self, words: str) -> None:
        await self.page.keyboard.type(words)


async def one_call(page: Page, place: str, number: str, narrative: str) -> tuple[int, float, float, int]:
    """(keys, s to the 201, s to the incident shown, incident id) for one call taken by keyboard."""
    keys = Keyboard(page)
    # The console takes N as a key only after a second without typing (words typed on after a call is taken
    # must not start another): the next call rings after that pause, not timed.
    await page.wait_for_timeout(1200)
    started = time.perf_counter()
    async with page.expect_response(lambda r: r.url.endswith("/api/calls") and r.request.method == "POST") as made:
        await keys.press("n")
        await page.wait_for_selector("#call-location:focus")
        await keys.type(place)
        await keys.press("Enter")  # to the caller's number
        await keys.type(number)
        await keys.press("Enter")  # to the caller's name: none given
        await keys.press("Enter")  # to what happened
        await keys.type(narrative)
        await keys.press("Control+Enter")  # the one key that takes the call (the type left to the narrative)
    answer = await made.value
    created = time.perf_counter() - started
    if answer.status != 201:
        raise BenchError(f"the call was refused: {answer.status} {await answer.text()}")
    incident = (await answer.json())["id"]
    await page.wait_for_selector(f"#detail h2:has-text('#{incident}')", timeout=30_000)
    shown = time.perf_counter() - started
    await page.wait_for_selector("#call-dialog:not([open])", state="attached")
    return keys.presses, created, shown, incident


async def measure(svc: Service, runs: int) -> list[dict]:
    out = []
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await console_page(browser, svc, svc.setup.call_taker)
            await page.goto(f"{svc.base}/console/")
            await ready(page)
            for n in range(runs):
                place = svc.places[(n * 53) % len(svc.places)]
                keys, created, shown, incident = await one_call(
                    page, place, f"+423 791 10 {n:02d}", NARRATIVES[n % len(NARRATIVES)]
                )
                out.append({"keys": keys, "created_s": created, "shown_s": shown, "incident": incident})
        finally:
            await browser.close()
    return out


def show(runs: list[dict]) -> dict:
    keys = sorted({r["keys"] for r in runs})
    created = [r["created_s"] for r in runs]
    shown = [r["shown_s"] for r in runs]
    summary = {
        "runs": len(runs),
        "keystrokes": keys[0] if len(keys) == 1 else keys,
        "goal_keystrokes": GOAL_KEYS,
        "created_s_median": round(median(created), 3),
        "shown_s_median": round(median(shown), 3),
    }
    out = console()
    table = Table(title="A standard call by keyboard: N → call created", title_justify="left")
    for column in ("measure", "value", "min", "max"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("keystrokes besides the words typed", ", ".join(map(str, keys)), "", f"goal ≤ {GOAL_KEYS}")
    table.add_row("s, N → 201 (median)", f"{median(created):.3f}", f"{min(created):.3f}", f"{max(created):.3f}")
    table.add_row("s, N → incident shown (median)", f"{median(shown):.3f}", f"{min(shown):.3f}", f"{max(shown):.3f}")
    out.print(table)
    out.print(f"{len(runs)} runs. Machine: {machine()}.", highlight=False)
    return summary


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--runs", type=int, default=10, help="calls taken, 1..100")
    args = parse.parse_args()
    check(parse, args, runs=(1, 100))
    try:
        with service(units=20, port=args.port) as svc:
            runs = asyncio.run(measure(svc, args.runs))
    except (BenchError, PlaywrightError, OSError) as error:
        fail(error)
    print(json.dumps(show(runs)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
