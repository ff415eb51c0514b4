"""Loads: how many calls an hour keep the fleet as busy as a named load asks.

Most loads are named by the utilisation of the busiest kind of unit (of those with two or more units): on the
bundled map that is the ambulances. Their rate comes from the expected unit time per call, worked out from the
types' shares and plans, the human delays, and drive times from the stations to a sample of addresses.

One load, `real`, is named by what the country lives instead: the Liechtenstein Red Cross rescue service (LRK
Rettungsdienst) had 2,186 missions in 2024, as reported at the LRK's members' meeting in 2025 (exclusiv.li,
"Mitgliederversammlung 2025 des Liechtensteinischen Roten Kreuzes", 2025). Its rate is the one at which the
simulated calls whose plan asks for an ambulance come to that many a year; the other calls (fire, police,
traffic without injuries) come with them in the types' shares.
"""

import numpy as np

from geo.routing import Router
from simulator.world import World

LOADS = {"quiet": 0.15, "normal": 0.35, "busy": 0.60, "surge": 0.85}  # by utilisation of the busiest kind
AMBULANCE_MISSIONS_A_YEAR = 2186  # LRK Rettungsdienst, 2024 (exclusiv.li, Mitgliederversammlung 2025 des LRK)
DAYS_OF_THE_YEAR = 366  # 2024, the year the missions were counted in, was a leap year
REAL = "real"
LOAD_NAMES = ("quiet", REAL, "normal", "busy", "surge")  # every name `calls_per_hour_of` knows, lightest first


def ambulance_share(world: World) -> float:
    """The share of the simulated calls whose response plan asks for an ambulance (by the types' shares)."""
    types = world.simulated_types()
    total = sum(t.share for t in types)
    if not total:
        raise ValueError("no incident type has a share of the simulated calls")
    return sum(t.share for t in types if any(s.capability == "ambulance" for s in t.plan)) / total


def real_calls_per_hour(world: World) -> float:
    """The call rate at which the calls needing an ambulance come to the LRK's missions a year."""
    share = ambulance_share(world)
    if not share:
        raise ValueError("no simulated incident type asks for an ambulance: the real load cannot be worked out")
    return AMBULANCE_MISSIONS_A_YEAR / (DAYS_OF_THE_YEAR * 24) / share


def calls_per_hour_of(world: World, router: Router, load: str, timing) -> float:
    """The call rate of a named load (one of LOAD_NAMES)."""
    if load == REAL:
        return real_calls_per_hour(world)
    if load not in LOADS:
        raise ValueError(f"unknown load {load!r} (known: {', '.join(LOAD_NAMES)})")
    return calls_per_hour_for(world, router, LOADS[load], timing)


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
