"""The floor's HTTP side: call-takers posting calls and a dispatcher closing incidents, as real clients do it.

A call goes out with an Idempotency-Key and is sent again (same key, same body) on a 503, a 409 "being taken",
any other 5xx, a refused or dropped connection or a timeout, until it is answered 201 or the scenario's last
moment for calls passes: a call-taker does not give up on a caller because the server hiccuped. Every answer
is counted: 503 with Retry-After (what the README promises while PostgreSQL is away) apart from the other
5xx, and connections refused (nothing listening) apart from requests that got no answer at all.
"""

import asyncio
import random
import time
import uuid
from collections import Counter

import httpx

TYPES = [
    "CARDIAC",
    "BREATHING",
    "FALL",
    "SICK",
    "RTC-INJ",
    "RTC",
    "FIRE-SMOKE",
    "BURGLARY-NOW",
    "THEFT",
    "NOISE",
    "WELFARE",
    "DOMESTIC",
]
TIMEOUT_S = 5.0
CLOSE_AFTER_S = (1.5, 3.0)  # the dispatcher closes an incident this long after its first unit has it


class Floor:
    """Call-takers and a dispatcher sharing one HTTP client, and everything they saw."""

    def __init__(self, base_url: str, call_taker: str, dispatcher: str, places: list[str], rng: random.Random) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=TIMEOUT_S, limits=httpx.Limits(max_connections=64, max_keepalive_connections=16)
        )
        self.call_taker, self.dispatcher, self.places, self.rng = call_taker, dispatcher, places, rng
        self.answers: Counter = Counter()  # "201", "503+retry-after", "500", "refused", "no answer", …
        self.examples: dict[str, list[str]] = {}  # the first few answers of each status other than 2xx
        self.accepted: dict[int, float] = {}  # incident id -> when the caller's call was first sent
        self.accepted_at: list[float] = []  # when each 201 came (for the time until 201 again)
        self.gave_up = 0  # calls still unanswered at the last moment for calls
        self.until = 0.0  # the last moment for calls and closes (the scenario moves it past a long fault)
        self.closing: set[int] = set()
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, method: str, path: str, token: str, body: dict, headers: dict):
        """One request until it has a final answer or `until` passes: the response, or None."""
        while time.time() < self.until:
            try:
                reply = await self.client.request(
                    method, path, json=body, headers={"Authorization": f"Bearer {token}", **headers}
                )
            except httpx.ConnectError:
                self.answers["refused"] += 1
                await asyncio.sleep(0.25)
                continue
            except httpx.TransportError:  # sent, and no answer came: dropped, reset or timed out
                self.answers["no answer"] += 1
                await asyncio.sleep(0.25)
                continue
            code = reply.status_code
            retry_after = reply.headers.get("retry-after")
            key = f"{code}+retry-after" if code == 503 and retry_after else str(code)
            self.answers[key] += 1
            if code >= 300 and len(seen := self.examples.setdefault(key, [])) < 3:
                seen.append(f"{method} {path}: {reply.text[:160]}")
            if (code == 409 and "being taken" in reply.text) or code >= 500:
                wait = float(retry_after) if retry_after and retry_after.isdigit() else 0.5
                await asyncio.sleep(min(2.0, max(0.1, wait)))
                continue
            return reply
        return None

    async def call(self) -> None:
        body = {
            "channel": "phone",
            "caller_number": f"+423{self.rng.randrange(10**6, 10**7)}",
            "location_text": self.rng.choice(self.places),
            "type_code": self.rng.choice(TYPES),
            "narrative": "fault benchmark",
        }
        first = time.time()
        reply = await self._send("POST", "/api/calls", self.call_taker, body, {"Idempotency-Key": uuid.uuid4().hex})
        if reply is None:
            self.gave_up += 1
        elif reply.status_code in (200, 201):
            self.accepted.setdefault(reply.json()["id"], first)
            self.accepted_at.append(time.time())

    def assignment_reached_a_device(self, incident_id: int) -> None:
        if incident_id not in self.closing:
            self.closing.add(incident_id)
            self.spawn(self._close(incident_id))

    async def _close(self, incident_id: int) -> None:
        await asyncio.sleep(self.rng.uniform(*CLOSE_AFTER_S))
        await self._send(
            "POST", f"/api/incidents/{incident_id}/close", self.dispatcher, {"disposition": "resolved"}, {}
        )

    async def aclose(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()
