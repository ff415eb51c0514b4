"""The live simulation: calls through the real intake API, units as real devices on real websockets.

    dispatch simulate --live [--speed 10] [--load normal | --calls-per-hour 4] [--seed 7]
                             [--base-url http://127.0.0.1:8000]

Calls come from the same generator as the headless simulation (simulator.calls: time-of-day profile,
addresses and hotspots, the types' shares), posted to the intake API at their simulated times, with the
address as a caller says it. Every unit with a device account is driven by an agent (`agents`). It uses the
demo accounts (`var/demo-tokens.json`).
"""

import asyncio
import itertools
import json
import logging
import random
import uuid
from datetime import datetime
from pathlib import Path

import httpx

from geo.routing import Router
from simulator.agents import UnitAgent, load_world
from simulator.calls import Call, Timing, generate
from simulator.loads import calls_per_hour_of
from simulator.phone import caller_number
from simulator.world import World as SimWorld
from simulator.world import load_world as load_sim_world

log = logging.getLogger("simulator")


async def wait_ready(client: httpx.AsyncClient, tries: int = 120) -> None:
    for _ in range(tries):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the service at {client.base_url} did not become ready within a minute")


def call_body(call: Call, *, world: SimWorld, rng: random.Random) -> dict:
    """What the simulated caller's call-taker posts: the address as the caller says it, and the phone network's
    location (the intake prefers a confident match of the words, and falls back to the coordinates). Always an
    exercise: simulated traffic runs beside the real record and must stay out of its reports."""
    body = {
        "channel": "phone",
        "caller_number": caller_number(rng),
        "type_code": call.type_code,
        "narrative": "simulated call",
        "lat": call.lat,
        "lon": call.lon,
        "exercise": True,
    }
    if text := world.address_text[call.address]:
        body["location_text"] = text
    return body


async def calls(
    client: httpx.AsyncClient,
    token: str,
    *,
    world: SimWorld,
    per_hour: float,
    speed: float,
    seed: int,
    limit: int | None,
) -> int:
    """Posts the generator's calls (simulator.calls) at their simulated times until cancelled (or `limit`):
    a day at a time, each day its own stream of the seed. The simulated clock starts at the local time of day,
    so a demo in the afternoon has the afternoon's calls. Returns how many the service took."""
    rng = random.Random(f"callers:{seed}")
    loop = asyncio.get_running_loop()
    now = datetime.now().astimezone()
    offset = now.hour * 3600 + now.minute * 60 + now.second  # simulated seconds since midnight at the start
    start = loop.time()
    taken = 0
    for day in itertools.count():
        for call in generate(world, per_hour=per_hour, hours=24, seed=seed, stream=f"live-day-{day}"):
            if limit is not None and taken >= limit:
                return taken
            if day == 0 and call.t < offset:
                continue
            due = start + (day * 86400 + call.t - offset) / speed
            await asyncio.sleep(max(0.0, due - loop.time()))
            body = call_body(call, world=world, rng=rng)
            try:
                response = await client.post(
                    "/api/calls",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                )
            except httpx.HTTPError as exc:  # one call lost to a hiccup; the next may get through
                log.warning("call not delivered: %r", exc)
                continue
            if response.status_code == 201:
                taken += 1
            else:
                log.warning("call refused: %s %s", response.status_code, response.text[:200])
    return taken


def open_world(libpq_url: str, cache_dir: Path) -> tuple[SimWorld, Router]:
    router = Router.load(libpq_url, cache_dir)
    return load_sim_world(libpq_url, router), router


async def close_cleared(client: httpx.AsyncClient, speed: float) -> None:
    """The simulated dispatcher closes an incident once its last unit has cleared."""
    while True:
        await asyncio.sleep(max(0.5, 60 / speed))
        for incident in (await client.get("/api/incidents")).json():
            if incident["cleared_at"] and not incident["units"] and not incident["units_missing"]:
                await client.post(f"/api/incidents/{incident['id']}/close", json={"disposition": "resolved"})


async def run(
    base_url: str,
    tokens_file: Path,
    libpq_url: str,
    *,
    speed: float,
    per_hour: float | None,
    seed: int,
    load: str = "normal",
    cache_dir: Path = Path("var/cache"),
    calls_limit: int | None = None,
    duration_s: float | None = None,
) -> dict:
    """Runs until `duration_s` (real seconds) or, without it, until the call generator stops (`calls_limit`).
    The rate is `per_hour`, or the one that keeps the busiest kind of unit `load` busy."""
    tokens = json.loads(await asyncio.to_thread(tokens_file.read_text))
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await wait_ready(client)
        people = tokens["people"]  # the simulator's own accounts where the tokens file has them (dispatch.demo)
        headers = {"Authorization": f"Bearer {people.get('sim-dispatcher', people['dispatcher'])}"}
        client.headers.update(headers)
        sim_world, router = await asyncio.to_thread(open_world, libpq_url, cache_dir)
        if per_hour is None:
            per_hour = await asyncio.to_thread(calls_per_hour_of, sim_world, router, load, Timing())
        world = await load_world(client, base_url, speed, seed, router)
        units = (await client.get("/api/units")).json()
        agents = [
            UnitAgent(world, u["id"], u["call_sign"], tokens["units"][u["call_sign"]], (u["lat"], u["lon"]))
            for u in units
            if u["call_sign"] in tokens["units"]
            and u["lat"] is not None
            and u["call_sign"] not in tokens.get("crew", {})
        ]
        tasks = [asyncio.create_task(a.run(), name=f"agent-{a.call_sign}") for a in agents]
        tasks.append(asyncio.create_task(close_cleared(client, speed), name="dispatcher"))
        caller = asyncio.create_task(
            calls(
                client,
                people.get("sim-calltaker", people["calltaker"]),
                world=sim_world,
                per_hour=per_hour,
                speed=speed,
                seed=seed,
                limit=calls_limit,
            )
        )
        log.info("simulating: %d unit agents, %.0f calls/hour at %.0fx", len(agents), per_hour, speed)
        try:
            if duration_s is not None:
                await asyncio.sleep(duration_s)  # the units go on working after the last call
            else:
                await caller
        finally:
            caller.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(caller, *tasks, return_exceptions=True)
            for agent in agents:
                if agent.job is not None:
                    agent.job.cancel()
        return {"agents": len(agents), "calls_per_hour": round(per_hour, 2), **world.counts}
