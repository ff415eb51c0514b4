"""The console's first render: from the navigation to the map's roads drawn and the queue shown, cold.

    .venv/bin/python -m benchmarks.console_render --runs 10 --incidents 20

Each run is a new browser profile (nothing cached: the page, Leaflet, the map's layers all fetched again) with
a dispatcher's token in sessionStorage, so the console starts signed in, at 1920×1080 in Debian's Chromium
(headless). Timed in the page, in ms from the navigation's start: first contentful paint; the queue shown (its
count written, its items drawn); the roads drawn (the first frame whose map canvas holds a drawn pixel: the
console draws its layers on a canvas, so no element says so); and both. The bench database and the service as
`benchmarks.unit_app` starts them, with `--incidents` calls waiting in the queue.
"""

import asyncio
import json
import sys

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright
from rich.table import Table

from benchmarks.bench.run import BenchError
from benchmarks.console_stack import (
    Service,
    check,
    console,
    console_page,
    fail,
    launch,
    machine,
    median,
    parser,
    seed_incidents,
    service,
)

# Run before the page's scripts (CDP: the page's policy does not govern it): when the queue first showed and
# the first frame the map's canvas held a drawn pixel, in ms from the navigation's start.
MARKS = """(() => {
  window.__marks = {};
  const expected = %d;
  new MutationObserver(() => {
    const counted = /\\(\\d+\\)/.test(document.getElementById("queue-count")?.textContent || "");
    if (!("queue" in __marks) && counted && document.querySelectorAll("#queue-list li").length >= expected) {
      __marks.queue = performance.now();
    }
  }).observe(document, { subtree: true, childList: true, characterData: true });
  const drawn = () => {
    const canvas = document.querySelector("#map .leaflet-overlay-pane canvas");
    if (canvas && canvas.width && canvas.height) {
      const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      const pixels = new Uint32Array(image.data.buffer);
      if (pixels.some((p) => p !== 0)) { __marks.roads = performance.now(); return; }
    }
    requestAnimationFrame(drawn);
  };
  requestAnimationFrame(drawn);
})();"""
PAINT = "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null"


async def measure(svc: Service, runs: int, incidents: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"first contentful paint": [], "queue shown": [], "roads drawn": [], "both": []}
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            for _ in range(runs):
                page = await console_page(browser, svc, svc.setup.dispatcher)
                await page.context.add_init_script(MARKS % incidents)
                await page.goto(f"{svc.base}/console/", wait_until="commit")
                await page.wait_for_function(
                    f"window.__marks?.queue && window.__marks?.roads && ({PAINT}) !== null", timeout=60_000, polling=50
                )
                marks = await page.evaluate("window.__marks")
                times["first contentful paint"].append(await page.evaluate(PAINT))
                times["queue shown"].append(marks["queue"])
                times["roads drawn"].append(marks["roads"])
                times["both"].append(max(marks["queue"], marks["roads"]))
                await page.context.close()
        finally:
            await browser.close()
    return times


def show(times: dict[str, list[float]], incidents: int) -> dict:
    out = console()
    runs = len(times["both"])
    title = f"Console first render, cold, {incidents} incidents queued: ms from navigation"
    table = Table(title=title, title_justify="left")
    for column in ("what", "runs", "median", "min", "max"):
        table.add_column(column, justify="left" if column == "what" else "right")
    for name, values in times.items():
        table.add_row(name, str(len(values)), f"{median(values):.0f}", f"{min(values):.0f}", f"{max(values):.0f}")
    out.print(table)
    out.print(f"{runs} cold loads at 1920×1080. Machine: {machine()}.", highlight=False)
    return {"runs": runs, "incidents": incidents, **{f"{k} ms median": round(median(v), 1) for k, v in times.items()}}


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--runs", type=int, default=10, help="cold loads, 1..100")
    parse.add_argument("--incidents", type=int, default=20, help="calls waiting in the queue, 1..200")
    args = parse.parse_args()
    check(parse, args, runs=(1, 100), incidents=(1, 200))
    try:
        with service(units=20, port=args.port) as svc:
            seed_incidents(svc, args.incidents)
            times = asyncio.run(measure(svc, args.runs, args.incidents))
    except (BenchError, PlaywrightError, OSError) as error:
        fail(error)
    print(json.dumps(show(times, args.incidents)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
