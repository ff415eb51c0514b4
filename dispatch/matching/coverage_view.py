"""Coverage as the console's map shows it: where calls come from (the move-up planner's demand cells, 500 m,
dispatch.matching.coverage) and how soon a free unit of each fleet would reach each cell now, against the target
the planner works to (`coverage_target_s`). A cell no free unit of a fleet reaches in time is a gap the move-up
tries to close.

The demand is read once per map and hour, as the planner does; the free units' times are one search per unit,
cut at the target, and kept a few seconds: many consoles asking at once cost one computation."""

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.matching.coverage import CELL_M, FLEETS, IDLE, bin_demand, fleet_of, load_places
from dispatch.units.board import BoardUnit
from geo.routing import Router

DEMAND_TTL_S = 3600.0  # calls of the last 90 days move the demand slowly: read again hourly, as the planner does
ANSWER_TTL_S = 10.0  # units move; a map refreshed every few seconds is current enough


def reach(
    router: Router, demand: np.ndarray, weights: np.ndarray, units: list[BoardUnit], target_s: float
) -> dict[str, Any]:
    """The answer for these demand cells and free units (in a thread: searches on the road network)."""
    targets = [(float(lat), float(lon)) for lat, lon in demand]
    seconds: dict[str, np.ndarray] = {}
    for fleet in FLEETS:
        mine = [(u.lat, u.lon) for u in units if fleet_of(u) == fleet and u.lat is not None and u.lon is not None]
        if mine and targets:
            seconds[fleet] = router.table(mine, targets, cutoff_s=target_s).min(axis=0)
        else:
            seconds[fleet] = np.full(len(targets), np.inf)
    cells = [
        {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "weight": round(float(weights[i]), 1),
            "seconds": {
                fleet: (round(float(s[i])) if math.isfinite(float(s[i])) else None) for fleet, s in seconds.items()
            },
        }
        for i, (lat, lon) in enumerate(targets)
    ]
    return {"target_s": target_s, "cell_m": CELL_M, "fleets": list(FLEETS), "cells": cells}


@dataclass
class CoverageView:
    _demand: tuple[object, float, np.ndarray, np.ndarray] | None = None  # (router, read at, cells, weights)
    _answer: tuple[float, dict[str, Any]] | None = None  # (computed at, answer)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def answer(
        self, session: AsyncSession, router: Router, units: list[BoardUnit], target_s: float
    ) -> dict[str, Any]:
        async with self._lock:  # consoles asking together wait for one computation
            now = time.monotonic()
            if self._answer is not None and now - self._answer[0] < ANSWER_TTL_S:
                return self._answer[1]
            if self._demand is None or self._demand[0] is not router or now - self._demand[1] > DEMAND_TTL_S:
                points, weights, _ = await load_places(session)
                cells, cell_weights = bin_demand(points, weights)
                self._demand = (router, now, cells, cell_weights)
            free = [u for u in units if u.status in IDLE and u.lat is not None and u.lon is not None]
            found = await asyncio.to_thread(reach, router, self._demand[2], self._demand[3], free, target_s)
            self._answer = (time.monotonic(), found)
            return found
