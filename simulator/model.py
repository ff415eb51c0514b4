"""What the headless simulation is made of: its parameters, units, incidents, legs of a drive and outcome."""

import math
from dataclasses import dataclass, field

import numpy as np

from dispatch.matching.core import Rules, Slot
from simulator.calls import Call
from simulator.world import FleetUnit

MIN_SCENE_S = 300.0  # a unit arriving after the work is done still stays this long
MOVE_UP_EVERY_S = 60.0  # the move-up planner runs at most this often (as the live system's default)
PRIORITY_TARGET_S = {1: 480.0, 2: 900.0, 3: 1800.0, 4: 3600.0}


@dataclass(frozen=True)
class Params:
    p1_target_s: float = 480.0  # priority 1: received → first unit on scene
    targets_s: dict[int, float] = field(default_factory=lambda: dict(PRIORITY_TARGET_S))
    rules: Rules = field(default_factory=Rules)
    coverage_target_s: float = 480.0
    move_up: bool = True  # for the `default` policy; the baselines always drive home

    def target(self, priority: int) -> float:
        return self.p1_target_s if priority == 1 else self.targets_s.get(priority, math.inf)


@dataclass
class Leg:
    """A drive from `origin` (left at `depart`) to `dest` (reached at `arrive`); its road geometry is fetched
    only when someone asks where the unit is on the way."""

    origin: tuple[float, float]
    dest: tuple[float, float]
    depart: float
    arrive: float
    path: np.ndarray | None = None  # (k, 2) lat, lon
    along: np.ndarray | None = None  # share of the drive time at each point


@dataclass
class SimUnit:
    spec: FleetUnit
    status: str = "available"  # available | returning | en_route | on_scene | transporting | at_hospital
    at: tuple[float, float] = (0.0, 0.0)  # where it stands, when it is not driving
    leg: Leg | None = None
    version: int = 0  # bumped on every new order: events of an older order are stale
    incident: "SimIncident | None" = None
    slot: int = 0  # which of the incident's slots (for its pre-drawn delays)
    capability: str | None = None
    busy_since: float | None = None
    busy_s: float = 0.0
    post: tuple[float, float] | None = None  # where it waits when free (home unless moved up)

    @property
    def id(self) -> int:
        return self.spec.id


@dataclass
class SimIncident:
    call: Call
    remaining: list[Slot]
    slots_used: int = 0
    first_on_scene: float | None = None
    first_dispatch: float | None = None
    work_done: float | None = None  # first on scene + time on scene
    transported: bool = False

    def add(self, capability: str, n: int = 1) -> None:
        for i, slot in enumerate(self.remaining):
            if slot.capability == capability:
                self.remaining[i] = Slot(capability, slot.count + n)
                return
        self.remaining.append(Slot(capability, n))

    def take(self, capability: str) -> None:
        for i, slot in enumerate(self.remaining):
            if slot.capability == capability:
                if slot.count == 1:
                    del self.remaining[i]
                else:
                    self.remaining[i] = Slot(capability, slot.count - 1)
                return


@dataclass
class Outcome:
    policy: str
    calls: list[Call]
    response_s: dict[int, float]  # call id -> received → first on scene
    waited: int  # calls for which no unit could be sent when they were ready
    diversions: int
    move_orders: int
    busy_s: dict[int, float]  # unit id -> seconds on calls within the horizon
    horizon_s: float
    wall_s: float
