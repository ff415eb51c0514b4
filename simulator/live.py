"""The live simulation: calls through the real intake API, units as real devices on real websockets.

    dispatch simulate --live [--speed 10] [--calls-per-hour 12] [--seed 7] [--base-url http://127.0.0.1:8000]

Calls arrive as a Poisson process (in simulated time) at random addresses of the map, with types drawn from
the response-plan table (more of the common, less urgent ones); every unit with a device account is driven by
an agent (`agents`). It uses the demo accounts (`var/demo-tokens.json`).
"""

import asyncio
import json
import logging
import random
import uuid
from pathlib import Path

import httpx
import psycopg

from simulator.agents import UnitAgent, load_world

log = logging.getLogger("simulator")
# How often each priority is called, relative to one another: most calls are not the most urgent.
PRIORITY_WEIGHT = {1: 1.0, 2: 2.0, 3: 3.0, 4: 2.0}


async def wait_ready(client: httpx.AsyncClient, tries: int = 120) -> None:
    for _ in range(tries):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the service at {client.base_url} did not become ready within a minute")


async def calls(client: httpx.AsyncClient, token: str, *, per_hour: float, speed: float, rng: random.Random,
                places: list[str], types: list[dict], limit: int | None) -> int:
    """Posts calls until cancelled (or `limit`); returns how many were taken."""
    codes = [t["code"] for t in types if t["public"] and t["plan"]]
    weights = [PRIORITY_WEIGHT[t["priority"]] for t in types if t["public"] and t["plan"]]
    taken = 0
    while limit is None or taken < limit:
        await asyncio.sleep(rng.expovariate(per_hour / 3600) / speed)
        body = {"channel": "phone", "caller_number": f"+423 7{rng.randrange(10**6):06d}",
                "location_text": rng.choice(places), "type_code": rng.choices(codes, weights)[0],
                "narrative": "simulated call"}
        response = await client.post("/api/calls", json=body, headers={"Authorization": f"Bearer {token}",
                                                                        "Idempotency-Key": uuid.uuid4().hex})
        if response.status_code == 201:
            taken += 1
        else:
            log.warning("call refused: %s %s", response.status_code, response.text[:200])
    return taken


def addresses(libpq_url: str) -> list[str]:
    """Where calls come from: the map's addresses, as a caller would say them."""
    with psycopg.connect(libpq_url) as conn:
        rows = conn.execute("SELECT street || ' ' || housenumber || ', ' || municipality FROM addresses "
                            "WHERE street IS NOT NULL AND municipality IS NOT NULL ORDER BY id").fetchall()
    if not rows:
        raise RuntimeError("the map has no addresses: import a map first")
    return [r[0] for r in rows]


async def close_cleared(client: httpx.AsyncClient, speed: float) -> None:
    """The simulated dispatcher closes an incident once its last unit has cleared."""
    while True:
        await asyncio.sleep(max(0.5, 60 / speed))
        for incident in (await client.get("/api/incidents")).json():
            if incident["cleared_at"] and not incident["units"] and not incident["units_missing"]:
                await client.post(f"/api/incidents/{incident['id']}/close", json={"disposition": "resolved"})


async def run(base_url: str, tokens_file: Path, libpq_url: str, *, speed: float, per_hour: float, seed: int,
              calls_limit: int | None = None, duration_s: float | None = None) -> dict:
    tokens = json.loads(tokens_file.read_text())
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        await wait_ready(client)
        headers = {"Authorization": f"Bearer {tokens['people']['dispatcher']}"}
        client.headers.update(headers)
        world = await load_world(client, base_url, speed, seed)
        units = (await client.get("/api/units")).json()
        agents = [UnitAgent(world, u["id"], u["call_sign"], tokens["units"][u["call_sign"]], (u["lat"], u["lon"]))
                  for u in units if u["call_sign"] in tokens["units"] and u["lat"] is not None]
        places = await asyncio.to_thread(addresses, libpq_url)
        types = (await client.get("/api/incident-types")).json()
        tasks = [asyncio.create_task(a.run(), name=f"agent-{a.call_sign}") for a in agents]
        tasks.append(asyncio.create_task(close_cleared(client, speed), name="dispatcher"))
        caller = asyncio.create_task(calls(client, tokens["people"]["calltaker"], per_hour=per_hour, speed=speed,
                                           rng=rng, places=places, types=types, limit=calls_limit))
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
        return {"agents": len(agents), **world.counts}
