"""Screenshots of each of the console's views for docs/, taken from the real service in Debian's Chromium.

    .venv/bin/python -m benchmarks.console_screenshots [--out docs] [--only incident,find]

Starts the service on the bench database as the console's benchmarks do (units of the map's fleet and more,
calls waiting, some on their units) and writes `console-<view>.png` at 1920×1080: the dispatcher's main view,
the new-call form being filled, the incident's panel with its recommendations, find, message crew, and the
commander's and the call-taker's consoles. A view the console does not have (yet) is said and skipped.
"""

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from benchmarks.bench.run import BenchError
from benchmarks.bench.setup import _account
from benchmarks.console_stack import (
    ROOT,
    Service,
    console,
    console_page,
    fail,
    launch,
    parser,
    ready,
    seed_incidents,
    service,
)

INCIDENTS = 12


async def main_view(page: Page, svc: Service) -> None:
    await page.locator("#queue-list li").first.wait_for()


async def new_call(page: Page, svc: Service) -> None:
    await page.keyboard.press("n")
    await page.wait_for_selector("#call-location:focus")
    await page.keyboard.type(svc.places[5])
    await page.keyboard.press("Enter")
    await page.keyboard.type("+423 790 00 01")  # a number with earlier calls: its history shows
    await page.keyboard.press("Enter")
    await page.keyboard.press("Enter")
    await page.keyboard.type("Kitchen fire, smoke on the stairs, a neighbour still inside")
    await page.locator("#call-plan:has-text('From the narrative:')").wait_for()
    with contextlib.suppress(PlaywrightError):  # the history comes with the check's answer, on a busy machine late
        await page.locator("#call-history:not([hidden])").wait_for(timeout=10_000)
    await page.wait_for_timeout(500)  # the pin's pan and the history's last answer


async def incident(page: Page, svc: Service) -> None:
    await page.locator("#queue-list li").first.click()
    await page.locator("#detail .recs li").first.wait_for()
    await page.wait_for_timeout(300)


async def find(page: Page, svc: Service) -> None:
    if not await page.locator("#find-open").count():
        raise LookupError("no Find on this console")
    await page.keyboard.press("/")
    await page.locator("#find-q").fill("kitchen")
    await page.locator("#find-q").press("Enter")
    await page.locator("#find-results li").first.click()  # a result opened beside the list
    await page.wait_for_timeout(500)


async def message_crew(page: Page, svc: Service) -> None:
    await page.locator("#unit-board button.talk-open").first.click()
    await page.locator("#talk-dialog[open]").wait_for()
    await page.keyboard.type("Call dispatch when you are clear, please")


async def commander(page: Page, svc: Service) -> None:
    await main_view(page, svc)


async def call_taker(page: Page, svc: Service) -> None:
    await main_view(page, svc)


View = Callable[[Page, Service], Awaitable[None]]
VIEWS: dict[str, tuple[str, View]] = {  # file's name → (whose token, what to do before the picture)
    "dispatcher": ("dispatcher", main_view),
    "new-call": ("call_taker", new_call),
    "incident": ("dispatcher", incident),
    "find": ("dispatcher", find),
    "message-crew": ("dispatcher", message_crew),
    "commander": ("commander", commander),
    "call-taker": ("call_taker", call_taker),
}


def commander_token(svc: Service) -> str:
    with psycopg.connect(svc.setup.settings.libpq_url) as conn, conn.cursor() as cur:
        return _account(cur, svc.setup.settings, "bench-commander", "commander", None)


async def shoot(svc: Service, out: Path, only: list[str]) -> list[str]:
    tokens = {"dispatcher": svc.setup.dispatcher, "call_taker": svc.setup.call_taker, "commander": commander_token(svc)}
    said = []
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            for name in only:
                role, view = VIEWS[name]
                page = await console_page(browser, svc, tokens[role])
                await page.goto(f"{svc.base}/console/")
                await ready(page)
                try:
                    await view(page, svc)
                except (LookupError, PlaywrightError) as error:
                    said.append(f"{name}: skipped ({str(error).splitlines()[0]})")
                    await page.context.close()
                    continue
                path = out / f"console-{name}.png"
                await page.screenshot(path=path)
                said.append(f"{name}: {path}")
                await page.context.close()
        finally:
            await browser.close()
    return said


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--out", type=Path, default=ROOT / "docs", help="the folder for the PNGs")
    parse.add_argument("--only", default=",".join(VIEWS), help=f"views, comma-separated: {', '.join(VIEWS)}")
    args = parse.parse_args()
    only = [v.strip() for v in args.only.split(",") if v.strip()]
    unknown = [v for v in only if v not in VIEWS]
    if unknown or not only:
        parse.error(f"--only: views among {', '.join(VIEWS)}, not {', '.join(unknown) or 'none'}")
    if not args.out.is_dir():
        parse.error(f"--out: {args.out} is not a folder")
    try:
        with service(units=40, port=args.port) as svc:
            seed_incidents(svc, INCIDENTS, assign_every=3)
            said = asyncio.run(shoot(svc, args.out, only))
    except (BenchError, PlaywrightError, OSError) as error:
        fail(error)
    for line in said:
        console().print(line, highlight=False)


if __name__ == "__main__":
    sys.exit(main())
