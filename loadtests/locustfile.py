"""Locust users for the dispatch service: call-takers over HTTP, unit devices and consoles over websockets.

Run by `dispatch bench` (which prepares a bench database, the accounts and the service); by hand:

    DISPATCH_BENCH_FILE=var/bench/plan.json locust -f loadtests/locustfile.py --headless --host http://127.0.0.1:8040

The plan file (written by `dispatch bench`) holds the tokens, the addresses callers give, and the shape of
the run. Users:

- `CallTaker`: at a constant rate (the plan's calls per second, shared by the call-takers), a call: one in
  four first looks the address up (`GET /api/geocode`), then `POST /api/calls`; one in ten also reads the
  queue (`GET /api/queue`).
- `Device`: a unit's in-vehicle device on `/ws/unit`: acknowledges an assignment at once (and every other
  outbox message), then reports en route, on scene and available, naming the assignment, a fraction of a
  second apart (so the fleet comes free again), and sends its position every 5 s.
- `Console`: a dispatcher's console on `/ws/console`.
- `Dispatcher`: closes each incident a second after its assignment reached a device.

Custom metrics, on this process's one clock, shown by Locust as request type `E2E`:
`call → device` (POST sent → the assignment received by the assigned unit's device) and `call → console`
(POST sent → `incident.created` on a console). At the end the raw times go to the plan's `out` file.
"""

import json
import os
import random
import time

import gevent
import orjson
import websocket
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.queue import Queue
from locust import FastHttpUser, User, constant, constant_throughput, events, task

if not os.path.isfile(os.environ.get("DISPATCH_BENCH_FILE", "")):
    raise SystemExit("set DISPATCH_BENCH_FILE to a plan written by `dispatch bench` (var/bench/plan.json)")
PLAN = json.loads(open(os.environ["DISPATCH_BENCH_FILE"], encoding="utf-8").read())  # noqa: SIM115
# Call-takers start once the devices had time to connect: a call must find its unit's device listening.
# The calls start once every device and console has connected and the service has had `QUIET_S` with the
# devices alone (the bench measures CPU in that quiet window, then in the calls' own): see `phases`.
QUIET_S = float(os.environ.get("DISPATCH_BENCH_QUIET_S", "3"))
CALLS_FOR = float(os.environ.get("DISPATCH_BENCH_CALLS_FOR", "1e9"))
TAIL_S = float(os.environ.get("DISPATCH_BENCH_TAIL_S", "5"))
# The tail is a bound: it ends once every accepted call has reached a device and no call is on its way, but not
# before this (the bench's CPU window runs 1.5 s past the calls, the load generator alive through it).
TAIL_AT_LEAST_S = 2.5
START_AT = float("inf")  # set by `phases` on this process's monotonic clock
# ...and stop this long after, while the devices listen on for the last assignments until Locust ends.
STOP_AT = float("inf")
RNG = random.Random(PLAN.get("seed", 7))
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


class Tally:
    """What the run saw, by incident id, on this process's clock (time.perf_counter)."""

    def __init__(self) -> None:
        self.sent: dict[int, float] = {}  # POST sent, for the calls the service accepted
        self.device: dict[int, float] = {}  # first assignment received by a device
        self.console: dict[int, float] = {}  # incident.created seen by a console
        self.statuses: dict[str, int] = {}
        self.assignments = 0
        self.duplicates = 0
        self.refused: dict[str, int] = {}  # websocket errors by code
        self.closed = 0
        self.intake_ms: list[float] = []  # POST /api/calls sent → 201 received

    def count(self, table: dict, key: str) -> None:
        table[key] = table.get(key, 0) + 1

    def metric(self, name: str, incident_id: int, at: dict[int, float]) -> None:
        """Reports an end-to-end time once both ends of it are known, whichever came last."""
        if incident_id in self.sent and incident_id in at:
            events.request.fire(
                request_type="E2E",
                name=name,
                response_time=(at[incident_id] - self.sent[incident_id]) * 1000,
                response_length=0,
                exception=None,
                context={},
            )


TALLY = Tally()
CONNECTED = {"n": 0, "all": Event()}  # sockets open (devices and consoles), and whether all of them are
POSTING = {"n": 0}  # calls sent whose answer has not come yet
STARTED = Event()  # the calls have started (START_AT is set)


def connected() -> None:
    CONNECTED["n"] += 1
    if CONNECTED["n"] >= PLAN["counts"]["devices"] + PLAN["counts"]["consoles"]:
        CONNECTED["all"].set()


def phases(environment) -> None:
    """Every socket open (or a bounded wait for them), then `QUIET_S` of devices alone, then the calls for
    `CALLS_FOR` seconds, then up to `TAIL_S` for the last assignments to land; then Locust stops. The bench hears of
    the first step from a marker file beside the tally, and measures CPU from it."""
    global START_AT, STOP_AT
    sockets = PLAN["counts"]["devices"] + PLAN["counts"]["consoles"]
    CONNECTED["all"].wait(timeout=30 + sockets / 20)
    if out := PLAN.get("out"):
        with open(out + ".connected", "w", encoding="utf-8") as fh:
            fh.write(str(CONNECTED["n"]))
    gevent.sleep(QUIET_S)
    START_AT = time.monotonic()
    STOP_AT = START_AT + CALLS_FOR
    STARTED.set()
    gevent.sleep(CALLS_FOR)
    tail_end = time.monotonic() + TAIL_S
    gevent.sleep(min(TAIL_S, TAIL_AT_LEAST_S))
    while time.monotonic() < tail_end and (POSTING["n"] or any(i not in TALLY.device for i in TALLY.sent)):
        gevent.sleep(0.1)
    environment.runner.quit()


@events.test_start.add_listener
def start_phases(environment, **_kwargs) -> None:
    gevent.spawn(phases, environment)


UNIT_TOKENS: Queue = Queue()
TO_CLOSE: Queue = Queue()
for unit_id, token in PLAN["units"].items():
    UNIT_TOKENS.put((int(unit_id), token))


def ws_url(host: str, path: str) -> str:
    return host.replace("http", "ws", 1) + path


class Socket:
    """A websocket-client connection whose sends may come from several greenlets."""

    def __init__(self, url: str, token: str) -> None:
        self.ws = websocket.create_connection(
            url, header=[f"Authorization: Bearer {token}"], timeout=30, enable_multithread=False
        )
        self.lock = Semaphore()

    def send(self, message: dict) -> None:
        with self.lock:
            self.ws.send(orjson.dumps(message).decode())

    def close(self) -> None:
        self.ws.close()


def _position(base: tuple[float, float]) -> dict:
    return {
        "type": "position",
        "lat": base[0] + RNG.uniform(-0.002, 0.002),
        "lon": base[1] + RNG.uniform(-0.002, 0.002),
    }


class SocketUser(User):
    """A websocket client: one socket, a greenlet that reads it (answering pings), and `handle` for the rest."""

    abstract = True
    path = "/ws/unit"

    def connect(self, token: str) -> None:
        self.socket = Socket(ws_url(self.host, self.path), token)
        self.reader = gevent.spawn(self.read)

    def on_stop(self) -> None:
        self.reader.kill()
        self.socket.close()

    def read(self) -> None:
        while True:
            try:
                raw = self.socket.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            now = time.perf_counter()
            message = orjson.loads(raw)
            if message.get("type") == "ping":
                self.socket.send({"type": "pong"})
            else:
                self.handle(message, now)

    def handle(self, message: dict, now: float) -> None:
        """What the user does with a message other than a ping (nothing, by default)."""


class Vehicle(SocketUser):
    """A unit's device that sends its position every 5 s (spread over the 5 s, not all at once)."""

    abstract = True
    wait_time = constant(5)
    tokens: Queue = UNIT_TOKENS

    def on_start(self) -> None:
        self.unit_id, token = self.tokens.get(block=False)
        self.where = tuple(PLAN["positions"].get(str(self.unit_id), PLAN["centre"]))
        self.connect(token)
        self.greet()
        connected()
        gevent.sleep(RNG.uniform(0, 5))

    def greet(self) -> None:
        """The first message after connecting (none, by default)."""

    @task
    def position(self) -> None:
        self.socket.send(_position(self.where))


class Device(Vehicle):
    fixed_count = PLAN["counts"]["devices"]

    def on_start(self) -> None:
        self.seen: set[str] = set()
        self.busy_s = PLAN.get("busy_s", 0.2)
        super().on_start()

    def greet(self) -> None:
        self.socket.send({"type": "hello", "last_seq": 0})

    def handle(self, message: dict, now: float) -> None:
        kind = message.get("type")
        if kind == "assignment":
            if message["id"] in self.seen:
                TALLY.duplicates += 1
                self.socket.send({"type": "ack", "of": message["id"]})  # sent again: its ack may have been lost
                return
            self.seen.add(message["id"])
            TALLY.assignments += 1
            incident_id = message["incident_id"]
            if incident_id not in TALLY.device:
                TALLY.device[incident_id] = now
                TALLY.metric("call → device", incident_id, TALLY.device)
                TO_CLOSE.put((incident_id, now))
            self.socket.send({"type": "ack", "of": message["id"]})
            gevent.spawn(self.work, message["assignment_id"])
        elif kind == "error":
            TALLY.count(TALLY.refused, message.get("code", "?"))
        elif "seq" in message:  # every other outbox message (route, cancel, move, current) is acknowledged too
            self.socket.send({"type": "ack", "of": message["id"]})

    def work(self, assignment_id: int) -> None:
        # Each status names the assignment it is about (a late one for an ended assignment is refused).
        for status in ("en_route", "on_scene", "available"):
            gevent.sleep(self.busy_s / 3)
            self.socket.send({"type": "status", "status": status, "assignment_id": assignment_id})


class Console(SocketUser):
    fixed_count = PLAN["counts"]["consoles"]
    wait_time = constant(60)
    path = "/ws/console"

    def on_start(self) -> None:
        self.connect(PLAN["dispatcher"])
        connected()

    def handle(self, message: dict, now: float) -> None:
        if message.get("type") == "incident.created" and message["incident_id"] not in TALLY.console:
            TALLY.console[message["incident_id"]] = now
            TALLY.metric("call → console", message["incident_id"], TALLY.console)

    @task
    def idle(self) -> None:
        pass


class CallTaker(FastHttpUser):
    fixed_count = PLAN["counts"]["call_takers"]
    wait_time = constant_throughput(PLAN["rate"] / max(1, PLAN["counts"]["call_takers"]))

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {PLAN['call_taker']}"}
        self.n = 0
        STARTED.wait()
        gevent.sleep(max(0.0, START_AT - time.monotonic()) + RNG.uniform(0, 1))

    @task
    def call(self) -> None:
        if time.monotonic() >= STOP_AT:
            gevent.sleep(1.0)
            return
        self.n += 1
        place = RNG.choice(PLAN["places"])
        if self.n % 4 == 0:
            self.client.get("/api/geocode", params={"q": place}, headers=self.auth, name="/api/geocode")
        body = {
            "channel": "phone",
            "caller_number": f"+423{RNG.randrange(10**6, 10**7)}",
            "location_text": place,
            "type_code": RNG.choice(TYPES),
            "narrative": "bench",
        }
        started = time.perf_counter()
        POSTING["n"] += 1
        with self.client.post("/api/calls", json=body, headers=self.auth, catch_response=True) as response:
            POSTING["n"] -= 1
            TALLY.count(TALLY.statuses, str(response.status_code))
            if response.status_code == 201:
                TALLY.intake_ms.append((time.perf_counter() - started) * 1000)
                incident_id = response.json()["id"]
                TALLY.sent[incident_id] = started
                TALLY.metric("call → device", incident_id, TALLY.device)
                TALLY.metric("call → console", incident_id, TALLY.console)
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
        if self.n % 10 == 0:
            self.client.get("/api/queue", headers=self.auth, name="/api/queue")


class Dispatcher(FastHttpUser):
    fixed_count = PLAN["counts"]["dispatchers"]
    wait_time = constant(0)

    @task
    def close(self) -> None:
        incident_id, assigned_at = TO_CLOSE.get()
        gevent.sleep(max(0.0, assigned_at + 1.0 - time.perf_counter()))
        self.client.post(
            f"/api/incidents/{incident_id}/close",
            json={"disposition": "resolved"},
            headers={"Authorization": f"Bearer {PLAN['dispatcher']}"},
            name="/api/incidents/{id}/close",
        )
        TALLY.closed += 1


@events.test_stop.add_listener
def write_tally(environment, **_kwargs) -> None:
    out = PLAN.get("out")
    if not out:
        return
    # "ended": the run's end on the one clock; a call whose assignment never came counts until then.
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(
            {
                "sent": TALLY.sent,
                "device": TALLY.device,
                "console": TALLY.console,
                "statuses": TALLY.statuses,
                "assignments": TALLY.assignments,
                "duplicates": TALLY.duplicates,
                "refused": TALLY.refused,
                "closed": TALLY.closed,
                "intake_ms": TALLY.intake_ms,
                "ended": time.perf_counter(),
            },
            fh,
        )
