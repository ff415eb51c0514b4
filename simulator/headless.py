"""The headless simulation: a discrete-event model of the centre, to compare dispatch policies on the same calls.

It uses what the live system uses: the matching core (`dispatch.matching.core.decide_many`), the road router
(drive times and routes on the imported network) and, for the `default` policy, the move-up planner
(`dispatch.matching.coverage.plan_fleet`). What it leaves out is the plumbing (database, queue, sockets),
whose milliseconds do not show at the scale of minutes.

The way of a call: received at `t`; ready to dispatch after the call-taker's processing time; the policy picks
units (at once, or when one becomes free); each unit acknowledges, turns out (when it starts from quarters),
drives by road, stays on scene, takes the patient to the hospital where the type needs it, and is free again:
it drives home (the baselines) or wherever the policy sends it (move-up). A unit on its way back is free and
can be sent from where it is. Response time is received → first unit on scene.
"""

import heapq
import itertools
import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from dispatch.matching.core import IncidentIn, Policy, UnitIn, decide_many
from dispatch.matching.coverage import CoverageModel, fleet_of, plan_fleet
from dispatch.statuses import FREE_UNIT
from dispatch.units.board import BoardUnit
from geo.routing import Router, RoutingError
from simulator.calls import Call
from simulator.model import MIN_SCENE_S, MOVE_UP_EVERY_S, Leg, Outcome, Params, SimIncident, SimUnit
from simulator.world import World


class Simulation:
    def __init__(
        self,
        world: World,
        router: Router,
        calls: Sequence[Call],
        policy: Policy,
        *,
        params: Params = Params(),
        coverage: CoverageModel | None = None,
        horizon_s: float | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self.world, self.router, self.calls, self.policy, self.params = world, router, list(calls), policy, params
        self.horizon_s = horizon_s if horizon_s is not None else max((c.t for c in calls), default=0.0)
        self.coverage = coverage if policy == Policy.default and params.move_up else None
        self.progress = progress
        self.units = [SimUnit(u, at=u.home, post=u.home) for u in world.units]
        self.by_id = {u.id: u for u in self.units}
        self.hospital = (world.hospitals[0].lat, world.hospitals[0].lon)
        self.incidents: dict[int, SimIncident] = {}
        self.waiting: list[SimIncident] = []  # ready, with slots still to fill, in the order they became ready
        self.now = 0.0
        self._events: list = []
        self._seq = itertools.count()
        self._next_move_up = 0.0
        self._move_up_pending = False
        self.diversions = self.move_orders = self.waited = self.served = 0
        self.trace: list[tuple[float, str, int, int | None]] = []  # (t, "sent" | "diverted" | "free", unit, call)

    # --- the event loop -----------------------------------------------------------------------------------

    def at(self, t: float, kind: str, *args) -> None:
        heapq.heappush(self._events, (t, next(self._seq), kind, args))

    def run(self, *, drain: bool = False) -> Outcome:
        """Runs the day; `drain` runs on after it until no event is left (every unit free again), where the
        figures alone need only every call's first unit on scene."""
        started = time.perf_counter()
        for call in self.calls:
            self.at(call.ready_t, "ready", call)
        while self._events:
            t, _, kind, args = heapq.heappop(self._events)
            self.now = t
            getattr(self, "_on_" + kind)(*args)
            if self.progress is not None:
                self.progress(min(t, self.horizon_s))
            if not drain and self.served == len(self.calls) and t >= self.horizon_s:
                break  # every call has had its first unit on scene, and the day is over
        responses = {
            i.call.id: i.first_on_scene - i.call.t for i in self.incidents.values() if i.first_on_scene is not None
        }
        busy = {u.id: u.busy_s + (self._clip(u.busy_since) if u.busy_since is not None else 0.0) for u in self.units}
        return Outcome(
            str(self.policy),
            self.calls,
            responses,
            self.waited,
            self.diversions,
            self.move_orders,
            busy,
            self.horizon_s,
            time.perf_counter() - started,
        )

    def _clip(self, since: float) -> float:
        return max(0.0, min(self.now, self.horizon_s) - min(since, self.horizon_s))

    # --- events -------------------------------------------------------------------------------------------

    def _on_ready(self, call: Call) -> None:
        incident = SimIncident(call, list(call.plan))
        self.incidents[call.id] = incident
        self.waiting.append(incident)
        self._match()
        if incident.first_dispatch is None:
            self.waited += 1  # no unit could be sent when the call was ready

    def _on_arrive(self, unit_id: int, version: int) -> None:
        unit = self.by_id[unit_id]
        if unit.version != version:
            return
        unit.at, unit.leg = unit.leg.dest, None
        if unit.status == "en_route":
            unit.status = "on_scene"
            incident = unit.incident
            if incident.first_on_scene is None:
                incident.first_on_scene = self.now
                self.served += 1
                incident.work_done = self.now + incident.call.scene_s
            self.at(max(incident.work_done, self.now + MIN_SCENE_S), "clear", unit.id, unit.version)
        elif unit.status == "transporting":
            unit.status = "at_hospital"
            self.at(self.now + unit.incident.call.handover_s, "handed_over", unit.id, unit.version)
        elif unit.status == "returning":
            unit.status = "available"

    def _on_clear(self, unit_id: int, version: int) -> None:
        unit = self.by_id[unit_id]
        if unit.version != version:
            return
        incident = unit.incident
        if incident.call.transport and unit.capability == "ambulance" and not incident.transported:
            incident.transported = True
            unit.status = "transporting"
            self._drive(unit, self.hospital, self.now)
            return
        self._free(unit)

    def _on_handed_over(self, unit_id: int, version: int) -> None:
        unit = self.by_id[unit_id]
        if unit.version == version:
            self._free(unit)

    def _on_move_up(self) -> None:
        self._move_up_pending = False
        self._move_up()

    # --- what units do ------------------------------------------------------------------------------------

    def _free(self, unit: SimUnit) -> None:
        self.trace.append((self.now, "free", unit.id, unit.incident.call.id))
        unit.busy_s += self._clip(unit.busy_since)
        unit.busy_since, unit.incident, unit.capability = None, None, None
        unit.status = "returning"
        unit.post = unit.spec.home  # home, unless the move-up planner has a better place for it now
        self._drive(unit, unit.post, self.now)
        self._match()
        self._move_up()

    def _drive(self, unit: SimUnit, dest: tuple[float, float], depart: float, seconds: float | None = None) -> None:
        origin = self.position(unit)
        unit.version += 1
        if seconds is None:
            seconds = self._drive_s(origin, dest)
        unit.leg = Leg(origin, dest, depart, depart + seconds)
        unit.at = origin
        self.at(unit.leg.arrive, "arrive", unit.id, unit.version)

    def _drive_s(self, origin: tuple[float, float], dest: tuple[float, float]) -> float:
        if origin == dest:
            return 0.0
        try:
            return float(self.router.times_to(dest[0], dest[1], [origin])[0])
        except RoutingError:
            return math.inf

    def position(self, unit: SimUnit) -> tuple[float, float]:
        """Where a unit is now: on its leg's road geometry, placed by drive time (not by length: junctions
        and slow stretches hold it back as they do on the road)."""
        leg = unit.leg
        if leg is None or self.now <= leg.depart:
            return unit.at
        if self.now >= leg.arrive:
            return leg.dest
        if leg.path is None:
            try:
                coords = np.array(self.router.route(leg.origin, leg.dest).coords)
                seconds = self.router.times_from(leg.origin[0], leg.origin[1], [tuple(p) for p in coords])
            except RoutingError:
                coords, seconds = np.array([leg.origin, leg.dest]), np.array([0.0, 1.0])
            seconds = np.maximum.accumulate(np.where(np.isfinite(seconds), seconds, 0.0))
            total = seconds[-1]
            leg.path = coords
            leg.along = seconds / total if total > 0 else np.linspace(0.0, 1.0, len(coords))
        share = (self.now - leg.depart) / (leg.arrive - leg.depart)
        i = min(int(np.searchsorted(leg.along, share, side="right")), len(leg.path) - 1)
        if i == 0:
            return tuple(leg.path[0])
        a, b = leg.along[i - 1], leg.along[i]
        f = 0.0 if b <= a else (share - a) / (b - a)
        p = leg.path[i - 1] + f * (leg.path[i] - leg.path[i - 1])
        return float(p[0]), float(p[1])

    # --- matching -----------------------------------------------------------------------------------------

    def _core_units(self) -> list[UnitIn]:
        out = []
        for u in self.units:
            lat, lon = self.position(u)
            status = u.status if u.status in FREE_UNIT or u.status == "en_route" else "on_scene"
            inc = u.incident
            out.append(
                UnitIn(
                    u.id,
                    u.spec.call_sign,
                    u.spec.capabilities,
                    status,
                    lat,
                    lon,
                    u.spec.area,
                    inc.call.id if inc else None,
                    inc.call.priority if inc else None,
                )
            )
        return out

    def _match(self) -> bool:
        """Offers every waiting incident to the policy; returns True if any unit was sent."""
        self.waiting = [i for i in self.waiting if i.remaining]
        if not self.waiting:
            return False
        units = self._core_units()
        rules = self.params.rules
        wanted = [
            IncidentIn(i.call.id, i.call.priority, tuple(i.remaining), i.call.lat, i.call.lon, i.call.area)
            for i in self.waiting
        ]
        # Drive times from the units that could go: free ones, and for priority 1 those that may be diverted.
        etas: dict[int, dict[int, float]] = {}
        for inc in wanted:
            needs = {s.capability for s in inc.plan}
            able = [
                u
                for u in units
                if u.capabilities & needs
                and (
                    u.status in FREE_UNIT
                    or (
                        inc.priority <= rules.divert_for_priority
                        and u.status == "en_route"
                        and (u.work_priority or 0) >= rules.divert_from_priority
                    )
                )
            ]
            if not able:
                etas[inc.id] = {}
                continue
            if self.policy == Policy.straight_line:
                etas[inc.id] = {}  # the baseline ranks by distance; drive times are fetched for its picks only
                continue
            times = self.router.times_to(inc.lat, inc.lon, [(u.lat, u.lon) for u in able])
            etas[inc.id] = {u.id: float(t) for u, t in zip(able, times, strict=True) if math.isfinite(t)}
        if not any(etas.values()) and self.policy != Policy.straight_line:
            return False
        decisions = decide_many(wanted, units, etas, policy=self.policy, rules=rules)
        sent = False
        diversions = self.diversions
        for decision in decisions:
            incident = self.incidents[decision.incident_id]
            for pick in decision.picks:
                eta = etas[incident.call.id].get(pick.unit_id)
                self._send(self.by_id[pick.unit_id], incident, pick.capability, eta)
                sent = True
        self.waiting = [i for i in self.waiting if i.remaining]
        if self.diversions > diversions:
            # An incident that lost its unit to a priority-1 call is offered again now, while units may be free
            # (each round moves units from lower-priority work to priority 1 only, so this ends).
            self._match()
        if sent:
            self._move_up()
        return sent

    def _send(self, unit: SimUnit, incident: SimIncident, capability: str, eta_s: float | None) -> None:
        self.trace.append((self.now, "diverted" if unit.incident else "sent", unit.id, incident.call.id))
        if unit.incident is not None:  # diverted from lower-priority work: that incident needs a unit again
            old = unit.incident
            old.add(unit.capability)
            if all(old is not w for w in self.waiting):
                self.waiting.append(old)
            self.diversions += 1
        from_quarters = unit.status == "available" and unit.leg is None
        slot = incident.slots_used % max(1, len(incident.call.ack_s))
        incident.slots_used += 1
        delay = incident.call.ack_s[slot] + (incident.call.turnout_s[slot] if from_quarters else 0.0)
        origin = self.position(unit)
        if eta_s is None:
            eta_s = self._drive_s(origin, (incident.call.lat, incident.call.lon))
        unit.leg = None
        unit.at = origin
        unit.status = "en_route"
        unit.incident, unit.capability = incident, capability
        if unit.busy_since is None:
            unit.busy_since = self.now
        incident.take(capability)
        if incident.first_dispatch is None:
            incident.first_dispatch = self.now
        self._drive(unit, (incident.call.lat, incident.call.lon), self.now + delay, eta_s)

    # --- move-up ------------------------------------------------------------------------------------------

    def _move_up(self) -> None:
        if self.coverage is None:
            return
        if self.now < self._next_move_up:
            if not self._move_up_pending:
                self._move_up_pending = True
                self.at(self._next_move_up, "move_up")
            return
        self._next_move_up = self.now + MOVE_UP_EVERY_S
        board = []
        for u in self.units:
            lat, lon = self.position(u)
            status = u.status if u.status in FREE_UNIT else "busy"
            board.append(
                BoardUnit(u.id, u.spec.call_sign, u.spec.capabilities, status, lat, lon, u.spec.area, None, None)
            )
        for fleet in ("engine", "ambulance", "police"):
            mine = [b for b in board if fleet_of(b) == fleet]
            plan = plan_fleet(self.coverage, fleet, mine, target_s=self.params.coverage_target_s)
            places = {p.post.id: p for p in self.coverage.fleet_posts(fleet)}
            for move in plan.moves:
                if not math.isfinite(move.travel_s):
                    continue  # a post it cannot reach
                unit = self.by_id[move.unit_id]
                post = (places[move.post_id].lat, places[move.post_id].lon)
                if unit.post == post and unit.status in FREE_UNIT:
                    continue  # already there or on its way
                unit.post = post
                unit.status = "returning"
                self._drive(unit, post, self.now, move.travel_s)
                self.move_orders += 1
