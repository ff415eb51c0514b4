"""A fleet of vehicles that only send their position: many unit devices on `/ws/unit`, each a fix every
`--every` seconds (spread evenly, not all at once), in one asyncio process.

    python loadtests/trackers.py --plan var/bench/plan.json --url ws://127.0.0.1:8040/ws/unit \
        --connect-per-s 500 --run-for 60 --out var/bench/trackers.json

`dispatch bench --trackers N` runs it beside Locust: ten thousand sockets are more than Locust's greenlets
carry on a shared core next to everything else, and a position fix needs no more than a send. It prints
"connected N" once every socket is open (or has failed), and writes what it did to `--out` at the end:
sockets connected, failed and dropped, fixes sent, and the achieved rate of fixes.
"""

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from pathlib import Path

import orjson
import websockets

HANDSHAKES_AT_ONCE = 64
CONNECT_TRIES = 5


class Fleet:
    def __init__(
        self, url: str, tokens: list[tuple[int, str]], positions: dict, centre: list, every_s: float, seed: int
    ) -> None:
        self.url, self.tokens, self.positions, self.centre = url, tokens, positions, centre
        self.every_s = every_s
        self.rng = random.Random(seed)
        self.connected = self.failed = self.dropped = self.sent = 0
        self.errors: dict[str, int] = {}
        self.retries = 0
        self.stop = asyncio.Event()
        # Handshakes in flight at once: a vehicle waits its turn rather than pile on a busy service, whose
        # answers would then come after the vehicles' own timeouts (and every late one be refused again).
        self.handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    def _error(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1

    async def _connect(self, token: str):
        """Opens the vehicle's socket as a device does: a refused or timed-out handshake is tried again after a
        growing pause, up to CONNECT_TRIES times. None if every try failed."""
        for attempt in range(CONNECT_TRIES):
            if attempt:
                self.retries += 1
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * self.rng.uniform(0.5, 1.5))
            try:
                async with self.handshakes:
                    return await websockets.connect(
                        self.url,
                        additional_headers={"Authorization": f"Bearer {token}"},
                        compression=None,
                        open_timeout=30,
                        ping_interval=None,
                    )
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self._error(exc)
        return None

    async def vehicle(self, unit_id: int, token: str, opened: asyncio.Event) -> None:
        where = self.positions.get(str(unit_id), self.centre)
        ws = await self._connect(token)
        if ws is None:
            self.failed += 1
            opened.set()
            return
        self.connected += 1
        opened.set()
        reader = asyncio.create_task(self._drain(ws))
        try:
            await asyncio.sleep(self.rng.uniform(0, self.every_s))
            while not self.stop.is_set():
                fix = {
                    "type": "position",
                    "lat": where[0] + self.rng.uniform(-0.002, 0.002),
                    "lon": where[1] + self.rng.uniform(-0.002, 0.002),
                }
                await ws.send(orjson.dumps(fix).decode())
                self.sent += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.every_s)
        except websockets.WebSocketException as exc:
            self.dropped += 1
            self._error(exc)
        finally:
            reader.cancel()
            await ws.close()

    async def _drain(self, ws) -> None:
        """Reads what the service sends (the welcome, pings answered by the library) so nothing backs up."""
        try:
            async for raw in ws:
                message = orjson.loads(raw)
                if message.get("type") == "ping":
                    await ws.send('{"type":"pong"}')
        except websockets.WebSocketException:
            pass

    async def run(self, connect_per_s: float, run_for_s: float) -> tuple[int, float]:
        """Connects the fleet, sends for `run_for_s`, stops: (fixes sent in that window, its seconds)."""
        tasks, opened = [], []
        for i, (unit_id, token) in enumerate(self.tokens):
            opened.append(asyncio.Event())
            tasks.append(asyncio.create_task(self.vehicle(unit_id, token, opened[-1])))
            if (i + 1) % 50 == 0:
                await asyncio.sleep(50 / connect_per_s)
        # Every vehicle connected or given up (bounded: a service that answers no handshake at all ends it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 60 + len(opened) / 50)
        print(f"connected {self.connected} failed {self.failed}", flush=True)
        since, sent_before = time.monotonic(), self.sent
        ended = asyncio.Event()  # SIGTERM: the run is over before `run_for_s` (the bench's Locust has ended)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, ended.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), run_for_s)
        window = (self.sent - sent_before, time.monotonic() - since)
        self.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--connect-per-s", type=float, default=500.0)
    parser.add_argument(
        "--run-for", type=float, required=True, help="seconds of fixes after connecting (at most: SIGTERM ends them)"
    )
    parser.add_argument("--every", type=float, default=5.0, help="seconds between one vehicle's fixes")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not args.url.startswith("ws://127.0.0.1:"):
        sys.exit("error: --url must be a websocket on 127.0.0.1 (load tests stay on this machine)")
    try:
        plan = json.loads(args.plan.read_text())
    except (OSError, ValueError) as exc:
        sys.exit(f"error: cannot read the plan {args.plan}: {exc}")
    tokens = [(int(k), v) for k, v in plan.get("trackers", {}).items()]
    fleet = Fleet(
        args.url, tokens, plan.get("positions", {}), plan.get("centre", [47.14, 9.52]), args.every, plan.get("seed", 7)
    )
    fixes, seconds = asyncio.run(fleet.run(args.connect_per_s, args.run_for))
    args.out.write_text(
        json.dumps(
            {
                "trackers": len(tokens),
                "connected": fleet.connected,
                "failed": fleet.failed,
                "dropped": fleet.dropped,
                "fixes_sent": fleet.sent,
                "fixes_per_s": round(fixes / seconds, 1) if seconds else 0.0,
                "errors": fleet.errors,
                "retries": fleet.retries,
            }
        )
    )


if __name__ == "__main__":
    main()
