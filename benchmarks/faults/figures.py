"""The scenario's figures from what the clients saw and what PostgreSQL and Redis hold at the end. Pure: plain
records in, numbers out (tests/test_faults.py feeds it made-up runs).

Every time is epoch seconds (`time.time()` in the benchmark, `extract(epoch …)` in PostgreSQL): one machine,
one clock.
"""

from collections import Counter
from dataclasses import dataclass, field

LATE_S = 2.0  # a message to a crew is late when it arrives this long after it could have
OVERLAP_S = 0.5  # two assignments of one unit overlapping less than this are two transactions' clocks, not a double


@dataclass(frozen=True)
class Received:
    """A server message as a device received it (for a `current`, the assignment it names, if any)."""

    kind: str
    id: str | None
    seq: int | None
    incident_id: int | None
    assignment_id: int | None
    at: float


@dataclass
class StatusSent:
    """A status a device reported, about the assignment its crew was working, and how the server answered."""

    assignment_id: int
    status: str
    at: float
    outcome: str  # ok, conflict, lost (never answered), bad_message, …


@dataclass
class DeviceRecord:
    unit_id: int
    received: list[Received] = field(default_factory=list)
    statuses: list[StatusSent] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)  # assignments whose message the device acknowledged
    connected: list[list] = field(default_factory=list)  # [opened, closed or None] of each socket
    duplicates: int = 0  # a message received again after it was handled, or one assignment in two messages
    silent_from: float | None = None  # from then on the device acknowledges nothing and reports nothing
    two_at_once: int = 0  # an assignment arrived while the crew still worked another (no cancel, not finished)


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    incident_id: int
    unit_id: int
    assigned_at: float
    acknowledged_at: float | None
    en_route_at: float | None
    on_scene_at: float | None
    ended_at: float | None  # cleared or cancelled


def lost(accepted: set[int], incidents: dict[int, str], assigned: set[int], queued: set[int]) -> int:
    """Accepted calls that PostgreSQL does not have, or that nobody was sent to, are not closed and wait in no
    queue (neither waiting nor leased by a matcher): nothing will ever happen to them."""
    missing = accepted - set(incidents)
    stranded = {
        i
        for i in accepted & set(incidents)
        if i not in assigned and i not in queued and incidents[i] not in ("closed", "cancelled")
    }
    return len(missing) + len(stranded)


def doubles(rows: list[AssignmentRow], end: float) -> int:
    """Units that PostgreSQL shows on two assignments at once (active intervals overlapping by OVERLAP_S)."""
    by_unit: dict[int, list[AssignmentRow]] = {}
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    units = 0
    for held in by_unit.values():
        held.sort(key=lambda r: r.assigned_at)
        latest_end = None
        for row in held:
            if latest_end is not None and latest_end - row.assigned_at > OVERLAP_S:
                units += 1
                break
            finish = row.ended_at if row.ended_at is not None else end
            latest_end = finish if latest_end is None else max(latest_end, finish)
    return units


def misapplied(rows: list[AssignmentRow], devices: dict[int, DeviceRecord]) -> int:
    """Statuses PostgreSQL recorded on an assignment its crew never reported them for: acknowledged, en route
    or on scene set on an assignment the device did not acknowledge or did not report that status about."""
    count = 0
    for row in rows:
        device = devices.get(row.unit_id)
        if device is None:
            continue
        reported = {s.status for s in device.statuses if s.assignment_id == row.id}
        if row.acknowledged_at is not None and row.id not in device.acked and "acknowledged" not in reported:
            count += 1
        for status, at in (("en_route", row.en_route_at), ("on_scene", row.on_scene_at)):
            if at is not None and status not in reported:
                count += 1
    return count


def _ready(device: DeviceRecord, made: float) -> float | None:
    """When the device could first have received a message made at `made`: then, if a socket was open, else
    when the next one opened (None: it never reconnected)."""
    for opened, closed in device.connected:
        if opened <= made and (closed is None or closed > made):
            return made
        if opened > made:
            return opened
    return None


@dataclass
class Delivery:
    owed: int = 0  # assignments and cancels a device should have received (made before the judging ended)
    undelivered: int = 0
    late: int = 0  # more than LATE_S after they could have arrived, the undelivered included
    cancels_undelivered: int = 0
    after_reconnect_late: int = 0  # of the late: due at a reconnect (the device was away when it was made)
    examples: list = field(default_factory=list)  # the first late ones: what, whose, how late (None: never)

    def note(self, kind: str, row: AssignmentRow, late_s: float | None) -> None:
        if len(self.examples) < 10:
            self.examples.append(
                {
                    "kind": kind,
                    "unit": row.unit_id,
                    "assignment": row.id,
                    "late_s": None if late_s is None else round(late_s, 2),
                }
            )


def delivery(rows: list[AssignmentRow], devices: dict[int, DeviceRecord], judge_until: float) -> Delivery:
    """Each assignment is owed to its unit's device when it is made; each assignment that ended otherwise than by
    the crew's own `available` (stood down, closed, reassigned, escalated) owes a cancel when it ended."""
    out = Delivery()
    for row in rows:
        device = devices.get(row.unit_id)
        if device is None:
            continue
        owed = [("assignment", row.assigned_at)]
        finished = any(
            s.assignment_id == row.id and s.status == "available" and s.outcome == "ok" for s in device.statuses
        )
        if row.ended_at is not None and not finished:
            owed.append(("cancel", row.ended_at))
        for kind, made in owed:
            if made > judge_until:
                continue
            out.owed += 1
            if kind == "assignment":  # the assignment itself, or a `current` that names it
                got = [
                    m.at for m in device.received if m.kind in ("assignment", "current") and m.assignment_id == row.id
                ]
            else:  # a cancel for its incident, or a later `current` that no longer names it
                got = [
                    m.at
                    for m in device.received
                    if m.at >= made - 1.0
                    and (
                        (m.kind == "cancel" and m.incident_id == row.incident_id)
                        or (m.kind == "current" and m.assignment_id != row.id)
                    )
                ]
            ready = _ready(device, made)
            if not got:
                out.undelivered += 1
                out.cancels_undelivered += kind == "cancel"
                out.late += 1
                out.note(kind, row, None)
                continue
            if ready is not None and min(got) - ready > LATE_S:
                out.late += 1
                out.after_reconnect_late += ready > made
                out.note(kind, row, min(got) - ready)
    return out


def first_after(times: list[float], since: float | None) -> float | None:
    """Seconds from `since` to the first of `times` at or after it (None when there is none)."""
    if since is None:
        return None
    later = [t for t in times if t >= since]
    return round(min(later) - since, 2) if later else None


def first_assignment_after(
    rows: list[AssignmentRow], devices: dict[int, DeviceRecord], fault_at: float | None, back_at: float | None
) -> float | None:
    """Seconds from the system being back to the first assignment made after the fault reaching a device."""
    if fault_at is None or back_at is None:
        return None
    made_after = {r.id for r in rows if r.assigned_at >= fault_at}
    times = [
        m.at
        for d in devices.values()
        for m in d.received
        if m.kind in ("assignment", "current") and m.assignment_id in made_after
    ]
    return first_after(times, back_at)


def alerts_on_working_units(alerts: list[dict], devices: dict[int, DeviceRecord]) -> Counter:
    """Alerts (ack_late, escalation) about units whose device was acknowledging at the time: false alarms."""
    out: Counter = Counter()
    for alert in alerts:
        device = devices.get(alert.get("unit_id"))
        if device is not None and (device.silent_from is None or alert["at"] < device.silent_from):
            out[alert.get("kind", "?")] += 1
    return out
