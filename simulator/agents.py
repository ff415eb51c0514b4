"""Unit agents for the live simulation: each one is a real device on /ws/unit, with its own token.

An agent acknowledges an assignment after a human delay, turns out, drives the route it was sent (positions
every few seconds at road speed), stays on scene for as long as the incident type takes, takes a patient to
the hospital where the type needs it, drives home and is free again. A cancel sends it home; a move order to
a standby point; `current` (after a resume the outbox could not replay) replaces whatever it was doing. Every
other message is acknowledged at once, and every status about its assignment names it (protocol v1). Trips
the service sends no route for (home, the hospital, a post) follow the road network too, routed by the
simulator itself. Time runs `speed` times faster than the clock.
"""

import asyncio
import contextlib
import logging
import math
import random
from dataclasses import dataclass, field

import httpx
import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from geo.routing import Router, RoutingError

log = logging.getLogger("simulator")
FIX_EVERY_S = 5.0  # simulated seconds between position reports while driving
RETURN_KPH = 50.0  # in a straight line, only where the road network cannot route a trip


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (b[0] - a[0]) * 111.32
    dx = (b[1] - a[1]) * 111.32 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)


@dataclass
class World:
    base_url: str
    speed: float
    on_scene_min: dict[str, float]  # incident type -> minutes on scene
    transport: dict[str, bool]  # incident type -> a patient goes to hospital
    hospital: tuple[float, float] | None
    rng: random.Random
    router: Router | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


class UnitAgent:
    def __init__(self, world: World, unit_id: int, call_sign: str, token: str, home: tuple[float, float]) -> None:
        self.world, self.unit_id, self.call_sign, self.token = world, unit_id, call_sign, token
        self.home = self.position = home
        self.last_seq = 0
        self.assignment: dict | None = None  # the assignment the crew works, as it was sent
        self.job: asyncio.Task | None = None
        self.routes: dict[int, list] = {}  # assignment -> route coords, from the update after it
        self.ws = None

    async def sleep(self, simulated_s: float) -> None:
        await asyncio.sleep(max(0.0, simulated_s) / self.world.speed)

    async def send(self, message: dict) -> None:
        if self.ws is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.ws.send(orjson.dumps(message).decode())

    async def status(self, status: str, about: dict | None = None) -> None:
        """A status; `about`: the assignment it concerns (named, so that it is never applied to another)."""
        lat, lon = self.position
        message = {"type": "status", "status": status, "lat": lat, "lon": lon}
        if about is not None:
            message["assignment_id"] = about["assignment_id"]
        await self.send(message)

    async def hello(self) -> None:
        await self.send({"type": "hello", "last_seq": self.last_seq, "id": "hello"})

    async def ack(self, message: dict) -> None:
        await self.send({"type": "ack", "of": message["id"]})

    async def drive(self, path: list, seconds: float) -> None:
        """Along `path` (lat, lon points) in `seconds` of simulated time, reporting positions on the way."""
        if len(path) < 2 or seconds <= 0:
            if path:
                self.position = tuple(path[-1])
            return
        legs = [km(tuple(a), tuple(b)) for a, b in zip(path, path[1:], strict=False)]
        total = sum(legs) or 1e-9
        # A fix every few simulated seconds, but no more than 4 a real second: a sped-up device must stay
        # within the service's rate limit (20 messages a second), as a real one does.
        steps = max(1, int(min(seconds / FIX_EVERY_S, seconds / self.world.speed * 4)))
        for step in range(1, steps + 1):
            await self.sleep(seconds / steps)
            along, i = total * step / steps, 0
            while i < len(legs) - 1 and along > legs[i]:
                along -= legs[i]
                i += 1
            f = min(1.0, along / legs[i]) if legs[i] else 1.0
            a, b = path[i], path[i + 1]
            self.position = (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
            await self.send({"type": "position", "lat": self.position[0], "lon": self.position[1]})

    async def road(self, to: tuple[float, float]) -> None:
        """To `to` along the fastest roads (a straight line at RETURN_KPH where no route is found)."""
        if self.world.router is not None:
            try:
                # On the event loop, not in a thread: the router's snap memo is not shared between threads.
                route = self.world.router.route(self.position, to)
            except RoutingError:
                pass
            else:
                await self.drive(route.coords, route.seconds)
                self.position = to
                return
        await self.drive([self.position, to], km(self.position, to) / RETURN_KPH * 3600)

    async def respond(self, message: dict, assignment: dict, stage: str = "assigned") -> None:
        """Works `assignment` from `stage` (where it stands: a new one is `assigned`); `message` is what the
        crew acknowledges (the assignment, or the `current` that carried it)."""
        world = self.world
        self.assignment = assignment
        if stage == "assigned":
            await self.sleep(world.rng.uniform(3, 10))  # the crew reads the screen and presses acknowledge
            world.count("acknowledged")
        await self.ack(message)
        if stage in ("assigned", "acknowledged"):
            await self.sleep(world.rng.uniform(30, 80))  # turnout
            await self.status("en_route", assignment)
        if stage != "on_scene":
            for _ in range(20):  # the route follows the assignment within milliseconds
                if assignment["assignment_id"] in self.routes or assignment.get("route"):
                    break
                await asyncio.sleep(0.05)
            target = (assignment["location"]["lat"], assignment["location"]["lon"])
            route = self.routes.pop(assignment["assignment_id"], None) or assignment.get("route")
            if route:
                await self.drive(route["coords"], route["seconds"])
            elif None not in target:
                await self.road(target)
            await self.status("on_scene", assignment)
            world.count("on_scene")
        kind = assignment["incident_type"]
        await self.sleep(world.on_scene_min.get(kind, 20) * 60 * world.rng.uniform(0.7, 1.3))
        if world.transport.get(kind) and world.hospital and assignment["slot"] == "ambulance":
            await self.status("transporting", assignment)
            await self.road(world.hospital)
            await self.status("at_hospital", assignment)
            await self.sleep(world.rng.uniform(10, 20) * 60)
        await self.go_home(assignment)

    async def go_home(self, done: dict | None = None) -> None:
        """Home and free; `done`: the assignment this ends (None after a cancel: the service ended it)."""
        self.assignment = None
        await self.status("returning", done)
        await self.road(self.home)
        await self.status("available")
        self.world.count("cleared")

    async def move_to(self, message: dict) -> None:
        await self.road((message["location"]["lat"], message["location"]["lon"]))

    def start(self, coro) -> None:
        if self.job is not None and not self.job.done():
            self.job.cancel()
        self.job = asyncio.create_task(coro)

    def working(self, assignment_id: int | None) -> bool:
        return self.assignment is not None and self.assignment["assignment_id"] == assignment_id

    def route_update(self, message: dict) -> None:
        """The route after an assignment names it; a corrected place's new route is for the assignment this unit
        holds on that incident (none held: nothing to drive)."""
        held = self.assignment if self.assignment and self.assignment["incident_id"] == message["incident_id"] else {}
        assignment_id = message.get("assignment_id") or held.get("assignment_id")
        if assignment_id is not None:
            self.routes[assignment_id] = message["route"]

    async def on_message(self, message: dict) -> None:
        self.last_seq = max(self.last_seq, message.get("seq", 0))
        kind = message.get("type")
        if kind == "assignment":
            if self.working(message["assignment_id"]):  # sent again: the crew has it
                await self.ack(message)
                return
            self.world.count("assignments")
            self.assignment = message  # now, not when the task starts: a cancel right behind it must find it
            self.start(self.respond(message, message))
            return  # acknowledged by the crew, after a moment
        if kind == "current":
            # What the unit has now, as the service knows it: it replaces whatever the crew was doing.
            active = message["assignment"]
            if active is None and self.assignment is not None:
                self.start(self.go_home())
            elif active is not None and not self.working(active["assignment_id"]):
                self.assignment = active
                self.start(self.respond(message, active, active["status"]))
                return
        elif kind == "update" and "route" in message:
            self.route_update(message)
        elif kind == "cancel":
            if self.assignment is not None and self.assignment["incident_id"] == message["incident_id"]:
                self.start(self.go_home())
        elif kind == "move":
            if self.job is None or self.job.done():
                self.start(self.move_to(message))
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "error":
            self.world.count(f"error:{message.get('code')}")
            log.warning("%s: the service refused a report: %s", self.call_sign, message.get("message"))
            if message.get("re") == "hello" and message.get("code") == "retry":  # the service was away: again
                await asyncio.sleep(1.0)
                await self.hello()
        if "seq" in message:  # every message of the outbox is acknowledged
            await self.ack(message)

    async def run(self) -> None:
        url = self.world.base_url.replace("http", "ws", 1) + "/ws/unit"
        while True:
            try:
                async with connect(
                    url, additional_headers={"Authorization": f"Bearer {self.token}"}, max_size=2**20
                ) as ws:
                    self.ws = ws
                    await self.hello()
                    async for raw in ws:
                        await self.on_message(orjson.loads(raw))
            except (OSError, ConnectionClosed) as exc:
                log.info("%s reconnecting: %s", self.call_sign, exc)
            except (KeyError, TypeError, ValueError) as exc:  # a message it did not understand: log, reconnect
                log.warning("%s: unexpected message: %r", self.call_sign, exc)
            self.ws = None
            await asyncio.sleep(1.0)


async def load_world(
    client: httpx.AsyncClient, base_url: str, speed: float, seed: int, router: Router | None = None
) -> World:
    types = (await client.get("/api/incident-types")).json()
    stations = (await client.get("/api/stations")).json()
    hospital = next(((s["lat"], s["lon"]) for s in stations if s["kind"] == "hospital"), None)
    return World(
        base_url,
        speed,
        {t["code"]: t.get("on_scene_min", 20) for t in types},
        {t["code"]: t.get("transport", False) for t in types},
        hospital,
        random.Random(seed),
        router,
    )
