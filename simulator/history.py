"""A simulated day written into the database as if the centre had lived it: incidents, calls, the event log and
assignments, from the headless simulation's outcome (the same seed gives the same day). Reports, the demo and
the report example read it like any other history.

The simulation decides who goes where and when; this module records it: a unit's assignment at dispatch, its
acknowledgement and departure (the crew's delays), arrival (the road router's drive time), a diversion if it
had one, and the moment it was free again; the incident's times are its units' firsts, as the event log's
replay makes them. Callers get made-up numbers; a share of them answer the feedback link.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson
import psycopg

from dispatch.incidents.events import replay
from dispatch.matching.core import Policy
from simulator.calls import Call, Timing, generate
from simulator.headless import Simulation
from simulator.model import Params, SimIncident, SimUnit
from simulator.phone import caller_number
from simulator.results import learnt_coverage
from simulator.world import World

ACTOR = "simulator"
# What callers write beside their score, by score: the unhappy ones about the wait or the call, the happy ones
# thanks. A share of the answers carry one (COMMENT_SHARE), complaints nearly always (COMPLAINT_COMMENT_SHARE).
COMMENTS = {
    1: (
        "We waited far too long for the ambulance.",
        "Nobody came for a long time and nobody called back to say why.",
        "The person on the phone kept asking the same questions while my father could not breathe.",
        "I was put on hold when every second counted.",
    ),
    2: (
        "It took longer than I expected for anyone to arrive.",
        "The call was confusing; I was not sure help was coming.",
        "The crew was kind but the wait was long.",
    ),
    3: (
        "Help came, but I had to repeat the address several times.",
        "Fine in the end, though the wait felt long.",
        "The crew did their job; the call could have been shorter.",
    ),
    4: (
        "Thank you, the crew was quick and calm.",
        "The dispatcher stayed on the line until they arrived. Thank you.",
        "Good service, thank you.",
    ),
    5: (
        "Thank you so much, they were here in minutes.",
        "The dispatcher talked me through everything until the crew arrived. Thank you.",
        "Excellent: fast, kind and professional. Thank you all.",
    ),
}
COMMENT_SHARE, COMPLAINT_COMMENT_SHARE = 0.28, 0.9


@dataclass
class UnitRecord:
    call_id: int
    unit_id: int
    slot: str
    eta_s: float | None
    assigned: float
    acknowledged: float | None  # None: taken off for another call before it happened
    en_route: float | None
    on_scene: float | None = None
    left: float | None = None  # free again (cleared) or taken off for another call (diverted)
    diverted_to: int | None = None


class RecordingSimulation(Simulation):
    """The headless simulation, keeping every unit's times on every call it was sent to."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[UnitRecord] = []
        self.current: dict[int, UnitRecord] = {}

    def _send(self, unit: SimUnit, incident: SimIncident, capability: str, eta_s: float | None) -> None:
        earlier = self.current.pop(unit.id, None)
        if earlier is not None:  # diverted: the earlier assignment ends here, with only what happened by now
            earlier.left, earlier.diverted_to = self.now, incident.call.id
            if earlier.acknowledged is not None and earlier.acknowledged > self.now:
                earlier.acknowledged = None
            if earlier.en_route is not None and earlier.en_route > self.now:
                earlier.en_route = None
        slot = incident.slots_used % max(1, len(incident.call.ack_s))
        super()._send(unit, incident, capability, eta_s)
        record = UnitRecord(
            incident.call.id,
            unit.id,
            capability,
            eta_s,
            self.now,
            self.now + incident.call.ack_s[slot],
            unit.leg.depart,
        )
        self.records.append(record)
        self.current[unit.id] = record

    def _on_arrive(self, unit_id: int, version: int) -> None:
        unit = self.by_id[unit_id]
        if unit.version == version and unit.status == "en_route" and unit_id in self.current:
            self.current[unit_id].on_scene = self.now
        super()._on_arrive(unit_id, version)

    def _free(self, unit: SimUnit) -> None:
        record = self.current.pop(unit.id, None)
        if record is not None:
            record.left = self.now
        super()._free(unit)


def simulate_day(
    world: World, router, *, per_hour: float, seed: int, timing: Timing = Timing(), params: Params = Params()
) -> tuple[list[Call], list[UnitRecord]]:
    """24 hours of calls from `seed`, dispatched by the default policy with move-up, run until every unit is free."""
    calls = generate(world, per_hour=per_hour, hours=24, seed=seed, timing=timing)
    coverage = learnt_coverage(world, router, per_hour=per_hour, seed=seed, timing=timing)
    sim = RecordingSimulation(
        world, router, calls, Policy.default, params=params, coverage=coverage, horizon_s=24 * 3600
    )
    sim.run(drain=True)  # on until the last unit is free, so every incident can be closed
    return calls, sim.records


class HistoryError(RuntimeError):
    """The day cannot be written (it already has incidents, or no database answers); the message says what to
    do, and `code` is the exit status (2: the arguments)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _incident_rows(calls: list[Call], records: list[UnitRecord], seed: int, tz: str):
    """Per call that a unit reached: its units' records, the caller's made-up number, when the dispatcher closed it
    (seconds after the start) and the response time; with the random stream the feedback draws from."""
    rng = random.Random(f"history:{seed}")
    by_call: dict[int, list[UnitRecord]] = {}
    for r in records:
        by_call.setdefault(r.call_id, []).append(r)
    for call in calls:
        mine = sorted(by_call.get(call.id, []), key=lambda r: r.assigned)
        served = [r for r in mine if r.on_scene is not None]
        if not served:
            continue  # never reached (cannot happen when the simulation runs to the end); left out
        closed = max(r.left for r in mine) + rng.uniform(30, 300)
        number = caller_number(rng, tz, digits=7)
        yield call, mine, number, closed, min(r.on_scene for r in served) - call.t, rng


def refuse_written_day(conn: psycopg.Connection, day: date, tz: str) -> None:
    start = datetime.combine(day, time(), ZoneInfo(tz))
    if conn.execute(
        "SELECT 1 FROM incidents WHERE received_at >= %s AND received_at < %s LIMIT 1",
        (start, start + timedelta(days=1)),
    ).fetchone():
        raise HistoryError(f"the database already has incidents on {day}: choose another --day")


def write_day(
    libpq_url: str,
    world: World,
    calls: list[Call],
    records: list[UnitRecord],
    *,
    day: date,
    tz: str,
    seed: int,
    feedback_share: float = 0.3,
) -> dict:
    """Writes the day in one transaction. Refuses a day that already has incidents (the event log is append-only:
    a day written twice could not be taken back)."""
    with psycopg.connect(libpq_url) as conn:
        return write_day_on(conn, world, calls, records, day=day, tz=tz, seed=seed, feedback_share=feedback_share)


def write_day_on(
    conn: psycopg.Connection,
    world: World,
    calls: list[Call],
    records: list[UnitRecord],
    *,
    day: date,
    tz: str,
    seed: int,
    feedback_share: float = 0.3,
) -> dict:
    """`write_day` on an open connection (many days, one connection), in a transaction of its own."""
    start = datetime.combine(day, time(), ZoneInfo(tz))
    # The comments draw from a stream of their own, so the day's other draws stay what the seed gave before.
    comments = random.Random(f"history-comments:{seed}")
    counts = {"incidents": 0, "assignments": 0, "events": 0, "feedback": 0, "calls": len(calls)}  # feedback: answered
    with conn.transaction():
        refuse_written_day(conn, day, tz)
        for call, mine, number, closed, response, rng in _incident_rows(calls, records, seed, tz):
            incident_id = _write_incident(conn, world, call, mine, number, start, closed, counts)
            closed_at = start + timedelta(seconds=closed)
            # Every caller is sent a link (its token is random and kept nowhere: nobody can use it); a share answer.
            # Slower responses please less: the score falls by about one for every target's worth of waiting.
            answered = rng.random() < feedback_share
            late = response / Params().target(call.priority)
            score = max(1, min(5, round(rng.gauss(4.6 - 1.2 * late, 0.8)))) if answered else None
            answered_at = closed_at + timedelta(hours=rng.uniform(1, 30)) if answered else None
            complaint = answered and score == 1 and rng.random() < 0.5
            conn.execute(
                """INSERT INTO feedback_requests (incident_id, token_hash, created_at, expires_at,
                                answered_at, satisfaction, complaint, comment)
                            VALUES (%s, md5(random()::text) || md5(random()::text), %s, %s, %s, %s, %s, %s)""",
                (
                    incident_id,
                    closed_at,
                    closed_at + timedelta(days=14),
                    answered_at,
                    score,
                    complaint,
                    caller_comment(comments, score, complaint=complaint) if answered else None,
                ),
            )
            counts["feedback"] += answered
    return counts


def caller_comment(rng: random.Random, score: int, *, complaint: bool) -> str | None:
    """A comment matched to the score for a share of the answers (complaints nearly always), or None."""
    if rng.random() >= (COMPLAINT_COMMENT_SHARE if complaint else COMMENT_SHARE):
        return None
    return rng.choice(COMMENTS[score])


def _timeline(call: Call, mine: list[UnitRecord], label: str | None, start: datetime, closed: float) -> list:
    """The incident's events in log order, as (at, kind, payload, record): the ids of its call and assignments
    are put in the payloads once the rows exist."""
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    received = {
        "type_code": call.type_code,
        "priority": call.priority,
        "status": "pending",
        "narrative": None,
        "channel": "phone",
        "type_suggested": False,
        "received_at": at(call.t).isoformat(),
        "lat": call.lat,
        "lon": call.lon,
        "address_label": label,
        "municipality": call.area,
        "geocode_match": "address",
        "geocode_confidence": 1.0,
        "needs_location": False,
    }
    events = [(at(call.t), "received", received, None), (at(call.t), "queued", {}, None)]
    for r in mine:
        unit = {"unit_id": r.unit_id}
        events.append((at(r.assigned), "dispatched", {**unit, "slot": r.slot, "eta_s": r.eta_s}, r))
        for moment, kind in ((r.acknowledged, "acknowledged"), (r.en_route, "en_route"), (r.on_scene, "on_scene")):
            if moment is not None:
                events.append((at(moment), kind, unit, None))
        events.append(
            (at(r.left), "diverted", {**unit, "to": r.diverted_to}, None)
            if r.diverted_to
            else (at(r.left), "cleared", unit, None)
        )
    events.append((at(closed), "closed", {"disposition": "treated", "note": None}, None))
    events.sort(key=lambda e: e[0])
    return events


def _write_incident(
    conn, world: World, call: Call, mine: list[UnitRecord], number: str, start: datetime, closed: float, counts: dict
) -> int:
    """The incident, its call, its assignments and its events. The incident's times are what its events replay
    to, so the row and the log agree as they do for every incident the service writes."""
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    label = world.address_text[call.address] if 0 <= call.address < len(world.address_text) else None
    events = _timeline(call, mine, label, start, closed)
    state = replay([(kind, moment, payload) for moment, kind, payload, _ in events])
    times = {
        name: getattr(state, name)
        for name in (
            "received_at",
            "dispatched_at",
            "acknowledged_at",
            "en_route_at",
            "on_scene_at",
            "cleared_at",
            "closed_at",
        )
    }
    incident_id = conn.execute(
        """
        INSERT INTO incidents (type_code, priority, status, location, address_label, municipality, geocode_match,
            geocode_confidence, disposition, received_at, entered_at, queued_at, dispatched_at, acknowledged_at,
            en_route_at, on_scene_at, cleared_at, closed_at)
        VALUES (%(type_code)s, %(priority)s, 'closed', ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography,
            %(label)s, %(area)s, 'address', 1.0, 'treated', %(received_at)s, %(received_at)s, %(received_at)s,
            %(dispatched_at)s, %(acknowledged_at)s, %(en_route_at)s, %(on_scene_at)s, %(cleared_at)s, %(closed_at)s)
        RETURNING id""",
        {
            "type_code": call.type_code,
            "priority": call.priority,
            "lon": call.lon,
            "lat": call.lat,
            "label": label,
            "area": call.area,
            **times,
        },
    ).fetchone()[0]
    events[0][2]["call_id"] = conn.execute(
        """INSERT INTO calls (incident_id, channel, caller_number, callback_number, location_text, received_at)
           VALUES (%s, 'phone', %s, %s, %s, %s) RETURNING id""",
        (incident_id, number, number, label, times["received_at"]),
    ).fetchone()[0]
    ids = {}
    for r in mine:
        ids[id(r)] = conn.execute(
            """
            INSERT INTO assignments (incident_id, unit_id, slot, status, eta_s, assigned_at, acknowledged_at,
                en_route_at, on_scene_at, cleared_at, cancelled_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                incident_id,
                r.unit_id,
                r.slot,
                "cancelled" if r.diverted_to else "cleared",
                r.eta_s,
                at(r.assigned),
                *(None if t is None else at(t) for t in (r.acknowledged, r.en_route, r.on_scene)),
                None if r.diverted_to else at(r.left),
                at(r.left) if r.diverted_to else None,
            ),
        ).fetchone()[0]
        counts["assignments"] += 1
    for _, _, payload, record in events:
        if record is not None:
            payload["assignment_id"] = ids[id(record)]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO incident_events (incident_id, at, kind, actor, payload) VALUES (%s, %s, %s, %s, %s::jsonb)",
            [(incident_id, t, kind, ACTOR, orjson.dumps(p).decode()) for t, kind, p, _ in events],
        )
    counts["incidents"] += 1
    counts["events"] += len(events)
    return incident_id
