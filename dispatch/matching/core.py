"""The matching core: which units go to which incident, and why. Pure: no I/O, no clock, no randomness.

Input is what the matcher read (units with status, position, capabilities and current work; drive times
already computed by the router) and output is a `Decision` per incident: a unit for every slot of the
response plan, the ranked alternatives, and a reason for every unit that was passed over. The same input
gives the same output; ties go to the lower unit id.

Policies:
- `straight-line`: the closest available units by great-circle distance (the baseline).
- `drive-time`: the closest available units by drive time on the road network.
- `default`: drive time, plus three rules a dispatch centre applies by hand: keep an area covered (for
  priority 2 and lower, an area's last available unit of a capability goes only when no near-equal
  alternative exists), divert a unit from lower-priority work to a priority-1 call when that saves enough
  time, and assign jointly when several incidents wait (scipy's linear_sum_assignment on the drive times),
  so the first incident in the queue does not take the unit the second one needed more.
Under every policy a unit whose device has not answered goes last: only when no other unit can go.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from scipy.optimize import linear_sum_assignment

from dispatch.matching.counts import free_counts
from dispatch.matching.geometry import great_circle_m
from dispatch.statuses import DIVERTIBLE_UNIT, FREE_UNIT


class Policy(StrEnum):
    straight_line = "straight-line"
    drive_time = "drive-time"
    default = "default"


UNREACHABLE = 1e9  # cost of a pairing that cannot be made; far above any drive time
SILENT = 1e6  # added to a unit's cost when its device has not answered: above any drive time, below UNREACHABLE


class PenaltyNote(str):
    """A reason that made a unit dearer rather than impossible: shown only if it changed the choice."""


@dataclass(frozen=True)
class Rules:
    """The knobs of the default policy, with the defaults a centre would start from."""

    coverage_margin_s: Mapping[int, float] = field(default_factory=lambda: {2: 60.0, 3: 180.0, 4: 300.0})
    divert_for_priority: int = 1  # only calls of this priority (or more urgent) take units from other work
    divert_from_priority: int = 3  # ...and only from work of this priority or less urgent
    divert_gain_s: float = 120.0  # a diversion must bring help this much sooner than the best free unit
    max_eta_s: float = 3600.0  # a unit further than this is no candidate at all


@dataclass(frozen=True)
class Slot:
    capability: str
    count: int = 1


@dataclass(frozen=True)
class IncidentIn:
    id: int
    priority: int
    plan: tuple[Slot, ...]
    lat: float | None
    lon: float | None
    area: str | None = None  # the municipality it is in


@dataclass(frozen=True)
class UnitIn:
    id: int
    call_sign: str
    capabilities: frozenset[str]
    status: str
    lat: float | None
    lon: float | None
    area: str | None = None  # the area it covers (its station's municipality)
    work_incident_id: int | None = None  # the incident it is on, if any
    work_priority: int | None = None
    silent: bool = False  # its device has not answered a message after every resend, and not since


@dataclass(frozen=True)
class Pick:
    capability: str
    unit_id: int
    call_sign: str
    eta_s: float | None
    distance_m: float
    reason: str
    diverted_from: int | None = None  # the incident the unit leaves, when it is diverted


@dataclass(frozen=True)
class Passed:
    unit_id: int
    call_sign: str
    reason: str


@dataclass(frozen=True)
class Alternative:
    capability: str
    unit_id: int
    call_sign: str
    eta_s: float | None
    distance_m: float
    reason: str = ""  # why it is not the pick (a dispatcher choosing it by hand reads what he gives up)
    diverted_from: int | None = None  # the incident it would leave: taking it is a diversion


@dataclass(frozen=True)
class Decision:
    incident_id: int
    policy: Policy
    picks: tuple[Pick, ...]
    unfilled: tuple[Slot, ...]  # what the plan asks for and no unit can give now
    alternatives: tuple[Alternative, ...]  # the next best for each capability, best first
    passed: tuple[Passed, ...]  # why each other unit was not chosen

    @property
    def complete(self) -> bool:
        return not self.unfilled

    @property
    def unit_ids(self) -> tuple[int, ...]:
        return tuple(p.unit_id for p in self.picks)


def decide(
    incident: IncidentIn,
    units: Sequence[UnitIn],
    etas: Mapping[int, float] | None,
    *,
    policy: Policy = Policy.default,
    rules: Rules = Rules(),
    free: Mapping[tuple[str | None, str], int] | None = None,
) -> Decision:
    """One incident. `etas`: drive seconds from each unit to the incident (missing or inf: unreachable)."""
    return decide_many([incident], units, {incident.id: etas or {}}, policy=policy, rules=rules, free=free)[0]


def decide_many(
    incidents: Sequence[IncidentIn],
    units: Sequence[UnitIn],
    etas: Mapping[int, Mapping[int, float]],
    *,
    policy: Policy = Policy.default,
    rules: Rules = Rules(),
    free: Mapping[tuple[str | None, str], int] | None = None,
) -> list[Decision]:
    """Several waiting incidents, most urgent first. Within one priority the `default` policy assigns jointly
    (least total drive time); the baselines take incidents one at a time in queue order, as a simple
    dispatcher would. A unit is given to at most one incident.

    `free`: the free units by (area, capability) of the whole fleet (`free_counts`), when `units` holds only
    the candidates near the incident: the rule that keeps an area's last free unit must count them all."""
    units = sorted(units, key=lambda u: u.id)
    order = sorted(range(len(incidents)), key=lambda i: incidents[i].priority)  # stable: queue order kept
    taken: set[int] = set()
    decisions: dict[int, Decision] = {}
    groups: list[list[int]] = []
    for i in order:
        joint = policy == Policy.default and groups and incidents[groups[-1][0]].priority == incidents[i].priority
        if joint:
            groups[-1].append(i)
        else:
            groups.append([i])
    for group in groups:
        batch = [incidents[i] for i in group]
        for decision in _assign(batch, units, etas, taken, policy, rules, free):
            decisions[decision.incident_id] = decision
            taken.update(decision.unit_ids)
    return [decisions[incidents[i].id] for i in range(len(incidents))]


@dataclass
class _Row:
    incident: IncidentIn
    capability: str


def _assign(
    batch: list[IncidentIn],
    units: list[UnitIn],
    etas: Mapping[int, Mapping[int, float]],
    taken: set[int],
    policy: Policy,
    rules: Rules,
    free: Mapping[tuple[str | None, str], int] | None,
) -> list[Decision]:
    rows = [_Row(inc, slot.capability) for inc in batch for slot in inc.plan for _ in range(slot.count)]
    if free is None:
        free_by_area = free_counts(u for u in units if u.id not in taken)
    else:
        free_by_area = dict(free)
        for unit in units:
            if unit.id in taken and unit.status in FREE_UNIT:
                for capability in unit.capabilities:
                    free_by_area[(unit.area, capability)] = free_by_area.get((unit.area, capability), 1) - 1
    cost = np.full((len(rows), len(units)), UNREACHABLE)
    why: dict[tuple[int, int], str] = {}  # (incident id, unit id) -> why the unit cannot or should not go
    for r, row in enumerate(rows):
        inc = row.incident
        for u, unit in enumerate(units):
            if row.capability not in unit.capabilities:
                continue
            verdict, note = _cost(inc, row.capability, unit, etas.get(inc.id, {}), taken, free_by_area, policy, rules)
            if verdict is not None and unit.silent:  # may not have what it is sent: any other unit first
                verdict, note = verdict + SILENT, PenaltyNote("its device is not answering")
            if note:
                why.setdefault((inc.id, unit.id), note)
            if verdict is not None:
                # A tiny tie-breaker by position in the id-sorted list: equal costs go to the lower unit id.
                cost[r, u] = verdict + u * 1e-6
    chosen: dict[int, int] = {}  # row -> unit index
    if rows and units:
        if policy == Policy.default:
            row_ind, col_ind = linear_sum_assignment(cost)
            chosen = {r: u for r, u in zip(row_ind, col_ind, strict=True) if cost[r, u] < UNREACHABLE}
        else:
            used: set[int] = set()
            for r in range(len(rows)):  # one slot at a time, plan order: what a dispatcher does by hand
                best = min(
                    (u for u in range(len(units)) if u not in used and cost[r, u] < UNREACHABLE),
                    key=lambda u: cost[r, u],
                    default=None,
                )
                if best is not None:
                    chosen[r] = best
                    used.add(best)
    return [_decision(inc, rows, units, cost, chosen, why, etas.get(inc.id, {}), policy) for inc in batch]


def _cost(
    inc: IncidentIn,
    capability: str,
    unit: UnitIn,
    etas: Mapping[int, float],
    taken: set[int],
    free_by_area: dict[tuple[str | None, str], int],
    policy: Policy,
    rules: Rules,
) -> tuple[float | None, str | None]:
    """(the cost of sending `unit` for `capability` or None if it cannot go, a note on why not or why dearer)."""
    if unit.id in taken:
        return None, "given to a more urgent incident in this round"
    if unit.work_incident_id == inc.id:
        return None, "already on this incident"
    if unit.lat is None or unit.lon is None:
        return None, "position unknown"
    divert = False
    if unit.status not in FREE_UNIT:
        if (
            policy == Policy.default
            and unit.status in DIVERTIBLE_UNIT
            and inc.priority <= rules.divert_for_priority
            and unit.work_priority is not None
            and unit.work_priority >= rules.divert_from_priority
        ):
            divert = True
        elif unit.work_priority is not None and unit.work_priority <= inc.priority:
            return None, f"on priority-{unit.work_priority} work (incident {unit.work_incident_id})"
        else:
            return None, f"busy ({unit.status.replace('_', ' ')})"
    if policy == Policy.straight_line:
        if inc.lat is None or inc.lon is None:
            return None, "the incident has no location yet"
        return great_circle_m(unit.lat, unit.lon, inc.lat, inc.lon), None
    eta = etas.get(unit.id, math.inf)
    if not math.isfinite(eta):
        return None, "no road to the incident"
    if eta > rules.max_eta_s:
        return None, f"over {rules.max_eta_s / 60:.0f} min away"
    if policy == Policy.drive_time:
        return eta, None
    if divert:
        return eta + rules.divert_gain_s, PenaltyNote(
            f"on priority-{unit.work_priority} work; diverting it would not save {rules.divert_gain_s / 60:.0f} min"
        )
    margin = rules.coverage_margin_s.get(inc.priority, 0.0)
    if margin and unit.area and unit.area != inc.area and free_by_area.get((unit.area, capability)) == 1:
        # The last free one of its area goes only when nothing within `margin` of it is left.
        return eta + margin, PenaltyNote(f"the last free {capability} in {unit.area}: kept there")
    return eta, None


def _decision(
    inc: IncidentIn,
    rows: list[_Row],
    units: list[UnitIn],
    cost: np.ndarray,
    chosen: dict[int, int],
    why: dict[tuple[int, int], str],
    etas: Mapping[int, float],
    policy: Policy,
) -> Decision:
    mine = [r for r, row in enumerate(rows) if row.incident.id == inc.id]
    picks: list[Pick] = []
    unfilled: list[str] = []
    picked_ids = {units[chosen[r]].id for r in mine if r in chosen}
    for r in mine:
        capability = rows[r].capability
        if r not in chosen:
            unfilled.append(capability)
            continue
        unit = units[chosen[r]]
        picks.append(
            Pick(
                capability,
                unit.id,
                unit.call_sign,
                _eta(etas, unit),
                _distance(inc, unit),
                _pick_reason(unit, capability, etas, policy),
                unit.work_incident_id if unit.status not in FREE_UNIT else None,
            )
        )
    passed: list[Passed] = []
    needs = {slot.capability for slot in inc.plan}
    for unit in units:
        if unit.id in picked_ids:
            continue
        if not needs & unit.capabilities:
            reason = f"has none of: {', '.join(sorted(needs))}"
        else:
            note = why.get((inc.id, unit.id))
            if isinstance(note, PenaltyNote) and not _penalty_decided(unit, etas, picks):
                note = None  # it would not have been chosen anyway: the rule did not decide it
            reason = note or "another unit gets there sooner"
        passed.append(Passed(unit.id, unit.call_sign, reason))
    reasons = {p.unit_id: p.reason for p in passed}
    alternatives: list[Alternative] = []
    for capability in dict.fromkeys(rows[r].capability for r in mine):
        r = next(r for r in mine if rows[r].capability == capability)
        ranked = sorted(
            (u for u in range(len(units)) if cost[r, u] < UNREACHABLE and units[u].id not in picked_ids),
            key=lambda u: cost[r, u],
        )
        alternatives.extend(_alternative(inc, capability, units[u], etas, reasons) for u in ranked[:3])
    return Decision(inc.id, policy, tuple(picks), tuple(_slots(unfilled)), tuple(alternatives), tuple(passed))


def _penalty_decided(unit: UnitIn, etas: Mapping[int, float], picks: list[Pick]) -> bool:
    """True if the unit was faster than a unit picked for one of its capabilities: only a rule kept it."""
    eta = etas.get(unit.id)
    if eta is None:
        return False
    return any(p.eta_s is not None and eta < p.eta_s for p in picks if p.capability in unit.capabilities)


def _slots(capabilities: list[str]) -> list[Slot]:
    counts: dict[str, int] = {}
    for capability in capabilities:
        counts[capability] = counts.get(capability, 0) + 1
    return [Slot(c, n) for c, n in counts.items()]


def _eta(etas: Mapping[int, float], unit: UnitIn) -> float | None:
    eta = etas.get(unit.id)
    return round(eta, 1) if eta is not None and math.isfinite(eta) else None


def _distance(inc: IncidentIn, unit: UnitIn) -> float:
    if inc.lat is None or inc.lon is None or unit.lat is None or unit.lon is None:
        return math.inf
    return round(great_circle_m(unit.lat, unit.lon, inc.lat, inc.lon), 1)


def _alternative(
    inc: IncidentIn, capability: str, unit: UnitIn, etas: Mapping[int, float], reasons: Mapping[int, str]
) -> Alternative:
    busy = unit.status not in FREE_UNIT
    return Alternative(
        capability,
        unit.id,
        unit.call_sign,
        _eta(etas, unit),
        _distance(inc, unit),
        reasons.get(unit.id, "another unit gets there sooner"),
        unit.work_incident_id if busy else None,
    )


def _pick_reason(unit: UnitIn, capability: str, etas: Mapping[int, float], policy: Policy) -> str:
    if unit.silent:
        return f"{capability}; its device is not answering, but no other unit can go"
    eta = _eta(etas, unit)
    if policy == Policy.straight_line:
        return f"closest {capability} in a straight line"
    base = f"{capability}, {eta / 60:.1f} min by road" if eta is not None else capability
    if unit.status not in FREE_UNIT:
        return f"{base}; diverted from priority-{unit.work_priority} incident {unit.work_incident_id}"
    return base
