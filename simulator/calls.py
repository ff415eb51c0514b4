"""Simulated calls: when, where, what, and the human times around them, all drawn from one seed.

- When: a Poisson process whose rate follows the hour of the day (`HOURLY`): emergency call volumes fall to
  about a third of their peak in the small hours and peak in the late afternoon and evening.
- Where: an address of the map, all addresses equally likely, so calls follow address density (which in
  OpenStreetMap follows mapping effort as much as population: Vaduz has far more mapped house numbers than
  Eschen). A share of the calls (`HOTSPOT_SHARE`) comes from a few hotspots: addresses within
  `HOTSPOT_RADIUS_M` of a few centres drawn from the seed (a nightlife street, a care home, a busy junction).
- What: an incident type, by the `share` column of the response-plan table (types.toml).
- The human times of each call are drawn once, with the call, so every policy meets the same ones: the
  call-taker's processing time (received → ready to dispatch), each unit's acknowledgement and turnout
  delays (by the order of its slot in the plan), the time on scene and the handover at the hospital.

Defaults follow the standards' orders of magnitude: NFPA 1710 asks for alarm processing within 64 s and
turnout within 60 s (EMS) or 80 s (fire) for 90 % of calls; the simulator's defaults sit around those.
"""

import math
import random
from dataclasses import dataclass, field

import numpy as np

from dispatch.incidents.types import IncidentType
from dispatch.matching.core import Slot
from simulator.world import World

# Relative call volume for each hour of the day (0 = midnight to 1 am); normalised to a mean of 1 below.
HOURLY = (
    0.55,
    0.47,
    0.42,
    0.38,
    0.36,
    0.40,
    0.55,
    0.78,
    0.98,
    1.12,
    1.22,
    1.27,
    1.30,
    1.30,
    1.30,
    1.33,
    1.38,
    1.42,
    1.40,
    1.32,
    1.18,
    1.00,
    0.82,
    0.66,
)
PROFILE = tuple(h * 24 / sum(HOURLY) for h in HOURLY)
HOTSPOTS = 3
HOTSPOT_SHARE = 0.15
HOTSPOT_RADIUS_M = 400.0


@dataclass(frozen=True)
class Timing:
    """The human parts of a response, in seconds. Medians by priority for processing; ranges elsewhere."""

    processing_median_s: dict[int, float] = field(default_factory=lambda: {1: 50.0, 2: 70.0, 3: 100.0, 4: 150.0})
    processing_spread: float = 0.35  # the log-normal's sigma
    ack_s: tuple[float, float] = (3.0, 10.0)  # the crew reads the assignment and confirms it
    turnout_s: tuple[float, float] = (30.0, 80.0)  # from quarters to rolling; a unit already on the road has none
    scene_spread: float = 0.3  # the log-normal's sigma around the type's on-scene minutes
    handover_s: tuple[float, float] = (600.0, 1200.0)  # at the hospital, before the ambulance is free


@dataclass(frozen=True)
class Call:
    id: int
    t: float  # received, seconds after the start
    lat: float
    lon: float
    area: str | None
    type_code: str
    priority: int
    plan: tuple[Slot, ...]
    transport: bool
    processing_s: float
    scene_s: float
    handover_s: float
    ack_s: tuple[float, ...]  # one per unit the plan asks for, in slot order
    turnout_s: tuple[float, ...]
    hotspot: int | None = None  # which hotspot it came from, if any
    address: int = -1  # its index in the world's addresses

    @property
    def ready_t(self) -> float:
        return self.t + self.processing_s


@dataclass(frozen=True)
class Hotspot:
    lat: float
    lon: float
    members: np.ndarray  # indices of the addresses within the radius


def hotspots(world: World, seed: int, n: int = HOTSPOTS) -> list[Hotspot]:
    rng = np.random.default_rng([seed, 1])
    points = world.addresses
    ky = 111_320.0
    kx = ky * math.cos(math.radians(float(points[:, 0].mean())))
    spots = []
    for centre in rng.choice(len(points), size=min(n, len(points)), replace=False):
        lat, lon = points[centre]
        d = np.hypot((points[:, 0] - lat) * ky, (points[:, 1] - lon) * kx)
        spots.append(Hotspot(float(lat), float(lon), np.flatnonzero(d <= HOTSPOT_RADIUS_M)))
    return spots


def arrival_times(rng: random.Random, per_hour: float, hours: float) -> list[float]:
    """A non-homogeneous Poisson process with rate per_hour x PROFILE[hour], by thinning."""
    peak = per_hour * max(PROFILE) / 3600.0
    times, t, end = [], 0.0, hours * 3600.0
    while True:
        t += rng.expovariate(peak)
        if t >= end:
            return times
        if rng.random() * max(PROFILE) < PROFILE[int(t // 3600) % 24]:
            times.append(t)


def generate(
    world: World,
    *,
    per_hour: float,
    hours: float,
    seed: int,
    timing: Timing = Timing(),
    hotspot_share: float = HOTSPOT_SHARE,
    stream: str = "calls",
) -> list[Call]:
    """The calls of `hours` at an average of `per_hour`, from `seed`: the same arguments give the same calls.
    Another `stream` draws other calls from the same places (the same hotspots), such as a history."""
    if not per_hour > 0 or not hours > 0:
        raise ValueError("calls per hour and hours must be more than 0")
    rng = random.Random(f"{stream}:{seed}")
    spots = hotspots(world, seed)
    types: list[IncidentType] = world.simulated_types()
    weights = [t.share for t in types]
    calls = []
    for i, t in enumerate(arrival_times(rng, per_hour, hours)):
        kind = rng.choices(types, weights)[0]
        spot = None
        if spots and rng.random() < hotspot_share:
            spot = rng.randrange(len(spots))
            where = int(spots[spot].members[rng.randrange(len(spots[spot].members))])
        else:
            where = rng.randrange(len(world.addresses))
        units = sum(slot.count for slot in kind.plan)
        calls.append(
            Call(
                id=i + 1,
                t=t,
                lat=float(world.addresses[where, 0]),
                lon=float(world.addresses[where, 1]),
                area=world.address_area[where],
                type_code=kind.code,
                priority=kind.priority,
                plan=tuple(Slot(s.capability, s.count) for s in kind.plan),
                transport=kind.transport,
                processing_s=timing.processing_median_s[kind.priority]
                * rng.lognormvariate(0.0, timing.processing_spread),
                scene_s=kind.on_scene_min * 60.0 * rng.lognormvariate(0.0, timing.scene_spread),
                handover_s=rng.uniform(*timing.handover_s),
                ack_s=tuple(rng.uniform(*timing.ack_s) for _ in range(units)),
                turnout_s=tuple(rng.uniform(*timing.turnout_s) for _ in range(units)),
                hotspot=spot,
                address=where,
            )
        )
    return calls
