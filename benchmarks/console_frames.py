"""The console's frame times under a large region's load: N units reporting their positions every second and
M open incidents, on the dispatcher's console in Debian's Chromium (headless, 1920×1080).

    .venv/bin/python -m benchmarks.console_frames --units 1000 --incidents 200 --seconds 30

The bench database is prepared as `dispatch bench --units N` prepares it (the map's fleet and synthetic units
seeded by `dispatch.units.seed`), and the service started as `benchmarks.unit_app` starts it, auto-dispatch
off. M calls are taken through the API (typed by their narratives) and every other one assigned to its
recommended units, so the console shows a queue and active incidents both, and units of every status.

Positions reach the console by the path the service's position batcher uses: once a second one `positions`
message, every unit with a fix moved a few metres, published on the deployment's console channel in Redis
(`<prefix>:events`), which every service process relays to its consoles over /ws/console. (The devices' own
sockets, 1,000 of them, would measure the service's intake as well, which `dispatch bench --trackers` does.)

Measured in the page over `--seconds`, after `--warm-up` seconds: the time between animation frames
(requestAnimationFrame, p50/p95/p99/max), the long tasks (PerformanceObserver: count, longest, total), and the
`positions` messages the page's socket received. Goal: p95 ≤ 50 ms.
"""

import asyncio
import contextlib
import json
import random
import sys
import time

import orjson
import redis.asyncio as aioredis
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

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
    pct,
    ready,
    seed_incidents,
    service,
)
from dispatch.keys import Keys

GOAL_P95_MS = 50.0
WARM_UP_S = 3  # seconds of units moving before the window (default)
# The page's recorder: every frame's time since the one before, and the long tasks, until `stop`.
RECORD = """(seconds) => new Promise((done) => {
  const frames = [], long = [];
  const watcher = new PerformanceObserver((list) => { for (const e of list.getEntries()) long.push(e.duration); });
  watcher.observe({ type: "longtask" });
  let last = null;
  const until = performance.now() + seconds * 1000;
  const frame = (now) => {
    if (last !== null) frames.push(now - last);
    last = now;
    if (now < until) requestAnimationFrame(frame);
    else { watcher.disconnect(); done({ frames, long }); }
  };
  requestAnimationFrame(frame);
})"""


async def move_units(svc: Service, units: list[int], stop: asyncio.Event, sent: list[int]) -> None:
    """Once a second, every unit a few metres from where it was: one `positions` message, as the batcher sends."""
    where = {u: svc.setup.positions[u] for u in units if u in svc.setup.positions}
    channel = Keys(svc.setup.settings.key_prefix).events
    rng = random.Random(7)
    client = aioredis.Redis.from_url(svc.setup.settings.redis_url)
    try:
        while not stop.is_set():
            started = time.monotonic()
            for unit, (lat, lon) in where.items():
                where[unit] = (lat + rng.uniform(-0.0003, 0.0003), lon + rng.uniform(-0.0003, 0.0003))
            batch = [[unit, round(lat, 6), round(lon, 6)] for unit, (lat, lon) in where.items()]
            await client.publish(channel, orjson.dumps({"type": "positions", "units": batch}))
            sent.append(len(batch))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        await client.aclose()


async def measure(svc: Service, seconds: int, incidents: int, warm_up_s: float = WARM_UP_S) -> dict:
    units = sorted(svc.setup.units)
    async with async_playwright() as p:
        browser = await launch(p)
        try:
            page = await console_page(browser, svc, svc.setup.dispatcher)
            received = [0]

            def on_socket(ws) -> None:
                def frame(payload) -> None:
                    if '"positions"' in str(payload)[:40]:
                        received[0] += 1

                ws.on("framereceived", frame)

            page.on("websocket", on_socket)
            await page.goto(f"{svc.base}/console/")
            await ready(page)
            await shown(page, incidents)
            stop, sent = asyncio.Event(), []
            mover = asyncio.create_task(move_units(svc, units, stop, sent))
            try:
                await asyncio.sleep(warm_up_s)
                before = received[0]
                recorded = await page.evaluate(RECORD, seconds)
                during = received[0] - before
            finally:
                stop.set()
                await mover
            markers = len(sent) and sent[-1]
        finally:
            await browser.close()
    return {"frames": recorded["frames"], "long": recorded["long"], "messages": during, "units_moved": markers}


async def shown(page: Page, incidents: int) -> None:
    """Until the queue and the active list together show every seeded incident."""
    await page.wait_for_function(
        "n => document.querySelectorAll('#queue-list li, #active-list li').length >= n", arg=incidents, timeout=60_000
    )


def show(result: dict, args) -> dict:
    frames, long = result["frames"], result["long"]
    figures = {
        "units": args.units,
        "incidents": args.incidents,
        "seconds": args.seconds,
        "frames": len(frames),
        "frame_ms": {p: round(pct(frames, q), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        "long_tasks": {"count": len(long), "longest_ms": round(max(long, default=0), 1), "total_ms": round(sum(long))},
        "positions_messages": result["messages"],
        "units_per_message": result["units_moved"],
        "goal_p95_ms": GOAL_P95_MS,
    }
    out = console()
    spread = figures["frame_ms"]
    met = "met" if spread["p95"] <= GOAL_P95_MS else "NOT met"
    out.print(
        f"[bold]Console frames[/], {args.units:,} units moving every second, {args.incidents} open incidents, "
        f"{args.seconds} s after {args.warm_up} s of warm-up",
        highlight=False,
    )
    out.print(
        f"frame time (rAF deltas, {len(frames)} frames): p50 {spread['p50']} ms · p95 {spread['p95']} ms · "
        f"p99 {spread['p99']} ms · max {spread['max']} ms (goal p95 ≤ {GOAL_P95_MS:.0f} ms: {met})",
        highlight=False,
    )
    tasks = figures["long_tasks"]
    out.print(
        f"long tasks (> 50 ms): {tasks['count']}, longest {tasks['longest_ms']} ms, {tasks['total_ms']} ms in all; "
        f"median frame {median(frames):.1f} ms",
        highlight=False,
    )
    out.print(
        f"positions messages received by the page: {result['messages']} of {result['units_moved']:,} units each",
        highlight=False,
    )
    out.print(f"Machine: {machine()}.", highlight=False)
    return figures


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--units", type=int, default=1000, help="units reporting every second, 1..5000")
    parse.add_argument("--incidents", type=int, default=200, help="open incidents, 1..1000")
    parse.add_argument("--seconds", type=int, default=30, help="the measured window, 1..600")
    parse.add_argument("--warm-up", type=int, default=WARM_UP_S, help="seconds of units moving before it, 1..60")
    args = parse.parse_args()
    check(parse, args, units=(1, 5000), incidents=(1, 1000), seconds=(1, 600), warm_up=(1, 60))
    try:
        with service(units=args.units, port=args.port) as svc:
            seed_incidents(svc, args.incidents, assign_every=2)
            result = asyncio.run(measure(svc, args.seconds, args.incidents, args.warm_up))
    except (BenchError, PlaywrightError, OSError) as error:
        fail(error)
    print(json.dumps(show(result, args)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
