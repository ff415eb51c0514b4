"""The faults, each injected in a run of its own, and the run: connect the fleet, post calls at a constant rate,
inject the fault at +`fault_at` s, go on for the rest of the duration, listen a while longer, then measure.

An injection is what an operator or the machine does, as bluntly: kill -9 (a supervisor starts the process
again at once), a Redis that loses everything, a PostgreSQL stopped in immediate mode (every connection cut) and
started 10 s later. It answers when the fault began and when the system was back (for the recovery times).
"""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import redis.asyncio as aioredis

from benchmarks.faults import figures as f
from benchmarks.faults.devices import Console, Device, Protocol
from benchmarks.faults.load import Floor
from benchmarks.faults.stack import Deployment, Stack
from dispatch.queue.service import IncidentQueue

POSTGRES_DOWN_S = 10.0
REDIS_DOWN_S = 1.0
SILENT_SHARE = 0.2  # units that stop acknowledging
RETRY_S = 10.0  # call-takers keep trying a call this long after the last call was due, or the system was back
TAIL_S = 12.0  # devices listen this long after the calls (covers a resend at the 10 s acknowledgement deadline)


@dataclass(frozen=True)
class Options:
    units: int
    rate: float
    duration: float
    fault_at: float
    seed: int
    tail_s: float = TAIL_S
    service_matcher: bool = True  # the service's own matcher runs beside the `dispatch matcher` process(es)


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    inject: Callable[[Stack, Deployment, list[Device], random.Random], tuple[float | None, float | None]]
    recovery_goal: bool = False  # the 2 s goal holds for the times from "back" (not for a whole service's start)
    matchers: int = 1


def _nothing(stack, deployment, devices, rng):
    return None, None


def _kill_matcher(stack, deployment, devices, rng):
    at = time.time()
    deployment.kill(deployment.matchers[0])
    deployment.start_matcher(wait=False)  # its supervisor starts it again at once
    return at, at  # recovery counts from the matcher's death


def _second_matcher(stack, deployment, devices, rng):
    at = time.time()
    deployment.start_matcher(wait=False)
    return at, at


def _kill_service(stack, deployment, devices, rng):
    at = time.time()
    deployment.kill(deployment.service)
    deployment.start_service(wait=False)  # its supervisor starts it again at once
    return at, at


def _restart_redis(stack, deployment, devices, rng):
    at = time.time()
    stack.redis.kill()
    time.sleep(REDIS_DOWN_S)
    stack.redis.start()
    return at, time.time()


def _stop_postgres(stack, deployment, devices, rng):
    at = time.time()
    stack.postgres.stop("immediate")
    time.sleep(POSTGRES_DOWN_S)
    stack.postgres.start()
    return at, time.time()


def _silence_units(stack, deployment, devices, rng):
    at = time.time()
    for device in rng.sample(devices, max(1, round(len(devices) * SILENT_SHARE))):
        device.record.silent_from = at
    return at, None


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("baseline", "no fault: the figures under load alone", _nothing),
        Scenario("matcher-kill", "kill -9 of the matcher, started again at once", _kill_matcher, recovery_goal=True),
        Scenario("service-kill", "kill -9 of the service, started again at once", _kill_service),
        Scenario("matchers-race", "a second matcher started beside the first: two race", _second_matcher),
        Scenario(
            "redis-restart",
            f"Redis killed (all data lost), started {REDIS_DOWN_S:g} s later",
            _restart_redis,
            recovery_goal=True,
        ),
        Scenario(
            "postgres-stop",
            f"PostgreSQL stopped (immediate), started {POSTGRES_DOWN_S:g} s later",
            _stop_postgres,
            recovery_goal=True,
        ),
        Scenario("no-ack", f"{SILENT_SHARE:.0%} of the units stop acknowledging", _silence_units),
    )
}


async def run(stack: Stack, scenario: Scenario, options: Options, say) -> dict:
    deployment = stack.deploy(scenario.name, service_matcher=options.service_matcher)
    say(
        f"{scenario.name}: starting the service ({'with' if options.service_matcher else 'without'} its own "
        f"matcher) and {scenario.matchers} matcher process(es)"
    )
    await asyncio.to_thread(deployment.start_service)
    for _ in range(scenario.matchers):
        await asyncio.to_thread(deployment.start_matcher)
    fleet = stack.fleet
    rng = random.Random(options.seed)
    floor = Floor(deployment.base_url, fleet.call_taker, fleet.dispatcher, fleet.places, rng)
    floor.until = time.time() + 60 + options.duration  # set once the fleet is connected
    protocol, stop = Protocol(), asyncio.Event()
    ws = deployment.base_url.replace("http", "ws", 1)
    devices = [
        Device(
            unit,
            token,
            f"{ws}/ws/unit",
            protocol,
            random.Random(options.seed * 100_003 + unit),
            on_assignment=floor.assignment_reached_a_device,
        )
        for unit, token in list(fleet.units.items())[: options.units]
    ]
    console = Console(fleet.dispatcher, f"{ws}/ws/console")
    clients = [asyncio.create_task(c.run(stop)) for c in (*devices, console)]
    try:
        await _connected(devices)
        moving = asyncio.create_task(_positions(devices, fleet.positions, stop))
        t0 = time.time()
        calls_end = t0 + options.duration
        floor.until = calls_end + RETRY_S + 60  # while the fault lasts: callers do not give up during it
        say(
            f"{scenario.name}: {len(devices)} devices connected; {options.rate:g} calls/s for "
            f"{options.duration:g} s, the fault at +{options.fault_at:g} s"
        )
        fault = asyncio.create_task(_inject_at(t0 + options.fault_at, scenario, stack, deployment, devices, rng))
        n = 0
        while (due := t0 + n / options.rate) < calls_end:
            await asyncio.sleep(max(0.0, due - time.time()))
            floor.spawn(floor.call())
            n += 1
        fault_at, back_at = await fault
        floor.until = max(calls_end, back_at or 0) + RETRY_S
        await asyncio.sleep(max(0.0, max(calls_end, back_at or 0) + options.tail_s - time.time()))
        ended = time.time()
        stop.set()
        moving.cancel()
    finally:
        stop.set()
        await floor.aclose()
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    died = [
        p.returncode
        for p in (deployment.service, *deployment.matchers)
        if p is not None and p.poll() is not None and p.returncode != -9
    ]
    deployment.stop()  # nothing changes while it is measured
    try:
        return await asyncio.to_thread(
            _measure,
            deployment,
            scenario,
            options,
            floor,
            devices,
            console,
            t0,
            fault_at,
            back_at,
            ended,
            protocol,
            died,
            calls=n,
        )
    finally:
        stack.undeploy()


async def _connected(devices: list[Device], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(d.online.is_set() for d in devices) < len(devices):
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {sum(d.online.is_set() for d in devices)} of {len(devices)} devices "
                f"connected within {timeout_s:.0f} s"
            )
        await asyncio.sleep(0.1)


async def _positions(devices: list[Device], where: dict, stop: asyncio.Event) -> None:
    """Each device reports its position every 5 s, the fleet spread over the 5 s."""
    while not stop.is_set():
        for device in devices:
            lat, lon = where.get(device.record.unit_id, (47.14, 9.52))
            await device.position(lat, lon)
            await asyncio.sleep(5.0 / len(devices))


async def _inject_at(at: float, scenario: Scenario, stack, deployment, devices, rng):
    await asyncio.sleep(max(0.0, at - time.time()))
    return await asyncio.to_thread(scenario.inject, stack, deployment, devices, rng)


ASSIGNMENTS = """SELECT id, incident_id, unit_id, extract(epoch FROM assigned_at)::float8,
    extract(epoch FROM acknowledged_at)::float8, extract(epoch FROM en_route_at)::float8,
    extract(epoch FROM on_scene_at)::float8, extract(epoch FROM coalesce(cleared_at, cancelled_at))::float8
FROM assignments"""


def _queued(deployment: Deployment) -> set[int]:
    """Incidents the queue holds, waiting or leased by a matcher that will look at them again."""

    async def read() -> set[int]:
        client = aioredis.Redis.from_url(deployment.settings.redis_url)
        try:
            queue = IncidentQueue(client, prefix=deployment.settings.key_prefix)
            return {e.incident_id for e in await queue.snapshot(limit=1_000_000)}
        finally:
            await client.aclose()

    return asyncio.run(read())


def _measure(
    deployment: Deployment,
    scenario: Scenario,
    options: Options,
    floor: Floor,
    devices: list[Device],
    console: Console,
    t0: float,
    fault_at,
    back_at,
    ended: float,
    protocol: Protocol,
    died: list[int],
    calls: int,
) -> dict:
    accepted = set(floor.accepted)
    with psycopg.connect(deployment.settings.libpq_url) as conn:
        incidents = dict(conn.execute("SELECT id, status::text FROM incidents WHERE id = ANY(%s)", (list(accepted),)))
        rows = [f.AssignmentRow(*r) for r in conn.execute(ASSIGNMENTS)]
    records = {d.record.unit_id: d.record for d in devices}
    delivered = f.delivery(rows, records, judge_until=ended - f.LATE_S - 1.0)
    assigned = {r.incident_id for r in rows}
    answers = dict(floor.answers)
    errors = sum((d.errors for d in devices), start=Counter())

    def relative(t: float | None) -> float | None:
        return round(t - t0, 1) if t is not None else None

    return {
        "scenario": scenario.name,
        "fault": scenario.what,
        "recovery_goal": scenario.recovery_goal,
        "service_matcher": options.service_matcher,
        "units": len(devices),
        "rate": options.rate,
        "duration_s": options.duration,
        "fault_at_s": relative(fault_at),
        "back_at_s": relative(back_at),
        "calls": calls,
        "accepted": len(accepted),
        "gave_up": floor.gave_up,
        "lost": f.lost(accepted, incidents, assigned, _queued(deployment)),
        "double": f.doubles(rows, ended),
        "misapplied": f.misapplied(rows, records),
        "duplicates": sum(d.record.duplicates for d in devices),
        "late": delivered.late,
        "late_after_reconnect": delivered.after_reconnect_late,
        "owed_messages": delivered.owed,
        "undelivered": delivered.undelivered,
        "cancels_undelivered": delivered.cancels_undelivered,
        "late_examples": delivered.examples,
        "http_5xx": sum(v for k, v in answers.items() if k[0] == "5" and k != "503+retry-after"),
        "http_503_retry_after": answers.get("503+retry-after", 0),
        "no_answer": answers.get("no answer", 0),
        "refused": answers.get("refused", 0),
        "answers": answers,
        "answer_examples": floor.examples,
        "s_to_201": f.first_after(floor.accepted_at, back_at),
        "s_to_assignment": f.first_assignment_after(rows, records, fault_at, back_at),
        "assignments": len(rows),
        "two_at_once_on_device": sum(d.record.two_at_once for d in devices),
        "alerts": dict(Counter(a.get("kind", "?") for a in console.alerts)),
        "false_alerts": dict(f.alerts_on_working_units(console.alerts, records)),
        "device_errors": dict(errors),
        "statuses_name_assignment": protocol.names_assignment,
        "processes_exited": died,
    }
