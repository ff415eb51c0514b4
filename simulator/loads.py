"""Loads: how many calls an hour keep the fleet as busy as a named load asks.

A load is named by the utilisation of the busiest kind of unit (of those with two or more units): on the bundled
map that is the ambulances. The rate comes from the expected unit time per call, worked out from the types'
shares and plans, the human delays, and drive times from the stations to a sample of addresses.
"""

import numpy as np

from geo.routing import Router
from simulator.world import World

LOADS = {"quiet": 0.15, "normal": 0.35, "busy": 0.60, "surge": 0.85}


def busy_per_call(world: World, router: Router, timing, sample: int = 400, seed: int = 0) -> dict[str, float]:
    """Expected unit-seconds on calls per call, by unit kind: for every slot of every type (by its share), the
    delays, the drive from the nearest station of the kind to a typical address, the time on scene, and for
    ambulances of transport types the drive to the hospital and the handover."""
    rng = np.random.default_rng(seed)
    points = world.addresses[rng.choice(len(world.addresses), size=min(sample, len(world.addresses)), replace=False)]
    targets = [tuple(p) for p in points]
    drive: dict[str, float] = {}
    homes: dict[str, list[tuple[float, float]]] = {}
    for unit in world.units:
        homes.setdefault(unit.kind, [])
        if unit.home not in homes[unit.kind]:
            homes[unit.kind].append(unit.home)
    for kind, places in homes.items():
        table = router.table(places, targets)
        nearest = table.min(axis=0)  # inf where no station of the kind reaches the address
        drive[kind] = float(nearest[np.isfinite(nearest)].mean()) if np.isfinite(nearest).any() else 0.0
    hospital = (world.hospitals[0].lat, world.hospitals[0].lon)
    to_hospital = router.times_from(*hospital, targets)  # about the same either way on two-way roads
    to_hospital = float(np.mean(to_hospital[np.isfinite(to_hospital)]))
    kind_of = {}
    for unit in world.units:
        for capability in unit.capabilities:
            kind_of.setdefault(capability, unit.kind)
    types = world.simulated_types()
    total = sum(t.share for t in types)
    delays = sum(timing.ack_s) / 2 + sum(timing.turnout_s) / 2
    out = {kind: 0.0 for kind in homes}
    for t in types:
        for slot in t.plan:
            kind = kind_of.get(slot.capability)
            if kind is None:
                continue
            seconds = delays + drive[kind] + t.on_scene_min * 60
            if t.transport and slot.capability == "ambulance":
                seconds += to_hospital + sum(timing.handover_s) / 2
            out[kind] += t.share / total * slot.count * seconds
    return out


def calls_per_hour_for(world: World, router: Router, utilisation: float, timing) -> float:
    """The call rate that keeps the busiest kind of unit (of those with two or more units) busy for
    `utilisation` of the time."""
    per_call = busy_per_call(world, router, timing)
    counts = world.kinds()
    rates = [utilisation * counts[k] * 3600 / s for k, s in per_call.items() if counts.get(k, 0) >= 2 and s > 0]
    if not rates:
        raise ValueError("no kind of unit with two or more units answers the simulated calls: give a call rate")
    return min(rates)
