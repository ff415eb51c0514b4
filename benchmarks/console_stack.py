"""What the console's benchmarks share: the bench database and the real service, a signed-in page in Debian's
Chromium, seeded incidents, and how figures are summed up and printed.

As `benchmarks.unit_app` does: the bench database (`<name>_bench`, Redis database 14, as `dispatch bench`
prepares it, recreated each run) and `dispatch serve` on 127.0.0.1 with auto-dispatch off, so that incidents
stay in the queue, or on the units the benchmark assigns them to, as long as it measures.
"""

import argparse
import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page
from rich.console import Console

from benchmarks.bench.run import BenchError, spoken_addresses, wait_ready
from benchmarks.bench.servers import free_port
from benchmarks.bench.setup import BenchSetup, prepare
from dispatch.config import get_settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
DESK = {"width": 1920, "height": 1080}
# The console keeps its token in sessionStorage: a page opened with it is signed in from its first script on,
# so a cold load is timed from the navigation to the console drawn, not to a form typed into.
SIGNED_IN = "sessionStorage.setItem('dispatch-token', {token!r});"


@dataclass
class Service:
    base: str  # http://127.0.0.1:port
    setup: BenchSetup
    places: list[str]  # the map's addresses, as callers say them


def parser(doc: str | None) -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    out.add_argument("--port", type=int, default=0, help="the service's port (default: a free one)")
    return out


def check(parse: argparse.ArgumentParser, args: argparse.Namespace, **bounds: tuple[int, int]) -> None:
    """Refuses what is out of bounds with argparse's error: a message and exit code 2, before anything starts."""
    for name, (low, high) in bounds.items():
        value = getattr(args, name)
        if not low <= value <= high:
            parse.error(f"--{name.replace('_', '-')} must be {low}..{high}, not {value}")
    if args.port and not 1024 <= args.port <= 65535:
        parse.error("--port: a free port from 1024 to 65535")


@contextlib.contextmanager
def service(*, units: int, seed: int = 7, port: int = 0) -> Iterator[Service]:
    """A fresh bench database with `units` dispatchable units, and the service on it, stopped at the end."""
    setup = prepare(get_settings(), units=units, seed=seed)
    port = port or free_port()
    env = {
        **os.environ,
        **setup.env,
        "DISPATCH_AUTO_DISPATCH_PRIORITIES": "[]",  # the benchmark decides what is assigned
        "DISPATCH_ACK_DEADLINE_S": "600",  # no resends nor escalations while it measures
        "PYTHONPATH": str(ROOT),  # this checkout's service and console, whatever the environment's install points at
        "DISPATCH_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "dispatch"), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_ready(port, server)
        yield Service(f"http://127.0.0.1:{port}", setup, spoken_addresses(setup.settings.libpq_url))
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


NARRATIVES = (
    "Smoke coming out of the kitchen window, nobody answers the door",
    "Man collapsed in the street, not breathing",
    "Two cars collided at the junction, one driver hurt",
    "Elderly woman fell down the stairs, hip pain",
    "Fire alarm ringing in the school building",
)


def seed_incidents(svc: Service, count: int, *, assign_every: int = 0) -> list[int]:
    """`count` calls taken through the API (typed by their narratives); every `assign_every`-th one assigned to
    its first recommended unit, so that the console shows a queue and active incidents both."""
    made: list[int] = []
    taker = {"Authorization": f"Bearer {svc.setup.call_taker}"}
    dispatcher = {"Authorization": f"Bearer {svc.setup.dispatcher}"}
    with httpx.Client(base_url=svc.base, timeout=30) as client:
        for n in range(count):
            call = {
                "location_text": svc.places[(n * 37) % len(svc.places)],
                "caller_number": f"+423 790 {n // 100:02d} {n % 100:02d}",
                "narrative": NARRATIVES[n % len(NARRATIVES)],
            }
            answer = client.post("/api/calls", json=call, headers=taker)
            if answer.status_code != 201:
                raise BenchError(f"a seeded call was refused: {answer.status_code} {answer.text}")
            made.append(answer.json()["id"])
        for incident in made[::assign_every] if assign_every else []:
            assign_first(client, incident, dispatcher)
    return made


def assign_first(client: httpx.Client, incident: int, headers: dict) -> None:
    for _ in range(50):
        picks = client.get(f"/api/incidents/{incident}/recommendations", headers=headers)
        if picks.status_code == 200 and picks.json()["picks"]:
            break
        time.sleep(0.1)
    else:
        return  # no free unit left: it stays in the queue, which is what the console shows then
    unit_ids = [p["unit_id"] for p in picks.json()["picks"]]
    done = client.post(f"/api/incidents/{incident}/assign", json={"unit_ids": unit_ids}, headers=headers)
    if done.status_code not in (200, 409):  # 409: a unit taken in between; the incident stays queued
        raise BenchError(f"an assignment was refused: {done.status_code} {done.text}")


async def launch(p) -> Browser:
    return await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


async def console_page(browser: Browser, svc: Service, token: str, viewport: dict | None = None) -> Page:
    """A new profile (nothing cached) with the console signed in, not yet navigated."""
    # bypass_csp: wait_for_function evaluates a string, which the console's policy would refuse.
    context = await browser.new_context(viewport=viewport or DESK, bypass_csp=True)
    await context.add_init_script(SIGNED_IN.format(token=token))
    return await context.new_page()


async def ready(page: Page, timeout_ms: float = 60_000) -> None:
    """Until the console is up: the map's layers on its canvas and the live feed connected."""
    await page.wait_for_selector("#map .leaflet-overlay-pane canvas", state="attached", timeout=timeout_ms)
    await page.wait_for_selector("#conn[data-state=live]", timeout=timeout_ms)


def pct(values: list[float], p: float) -> float:
    """The p-th percentile, nearest rank (an observed value)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)


def console() -> Console:
    """Rich's console, wide enough for the tables when the output goes to a file or a pipe."""
    return Console(width=None if sys.stdout.isatty() else 130)


def machine() -> str:
    one, five, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {one:.2f} (1 min), {five:.2f} (5 min)"


def fail(error: Exception) -> None:
    sys.exit(f"the run could not be made: {error}")
