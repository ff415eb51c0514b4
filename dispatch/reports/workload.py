"""The commanders' workload report: how busy each unit and station was in a period, how long units were out of
service, and in which hours of the week calls come in.

A unit is busy from its assignment until it was free again (cleared) or taken off (cancelled, diverted); an
assignment not yet ended counts until now. Time is clipped to the period, and a unit's assignments are joined
where they overlap (only one is ever active at a time, but history written by other means need not say so), so
that utilisation stays within 0..1. Out-of-service time is read from the unit status log (migration 0014): a
unit out of service since before the period counts from the period's start, one still out until its end or now.
Time on exercise incidents is busy time (the unit was not available for a real call), and shown apart as
exercise_s; the hours grid leaves exercise incidents out.
"""

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.reports import queries
from dispatch.reports.service import Period, too_long
from dispatch.statuses import UnitStatus
from dispatch.units.models import OUT_OF_SERVICE_SPELL

OUT = UnitStatus.out_of_service.value

# Per unit: its assignments overlapping the period, clipped to it. Each counts only the part beyond the latest end
# of the unit's assignments that started before it (sorted by start, that is the length of their union); on-scene
# time the same way, from arrival.
_ASSIGNMENTS = """
WITH spans AS (
    SELECT a.unit_id,
           greatest(a.assigned_at, :start) AS s,
           least(coalesce(a.cleared_at, a.cancelled_at, now()), :end) AS e,
           -- greatest() skips a NULL: a unit that never arrived has no on-scene time, not the period's start
           CASE WHEN a.on_scene_at IS NOT NULL THEN greatest(a.on_scene_at, :start) END AS os,
           i.exercise
    FROM assignments a JOIN incidents i ON i.id = a.incident_id
    WHERE a.assigned_at < :end AND coalesce(a.cleared_at, a.cancelled_at, 'infinity') > :start
), busy AS (
    SELECT unit_id, s, e, os, exercise,
           max(e) OVER (PARTITION BY unit_id ORDER BY s, e ROWS {earlier}) AS before_s,
           max(e) FILTER (WHERE os IS NOT NULL) OVER (PARTITION BY unit_id ORDER BY os, e ROWS {earlier}) AS before_os
    FROM spans
)
SELECT unit_id, count(*) AS assignments,
       coalesce(sum(greatest(0, date_part('epoch', e - greatest(s, coalesce(before_s, s))))), 0) AS busy_s,
       coalesce(sum(greatest(0, date_part('epoch', e - greatest(os, coalesce(before_os, os)))))
                    FILTER (WHERE os IS NOT NULL), 0) AS on_scene_s,
       coalesce(sum(greatest(0, date_part('epoch', e - s))) FILTER (WHERE exercise), 0) AS exercise_s
FROM busy GROUP BY unit_id""".format(earlier="BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING")

# Per unit: the entries in the period that begin or end a spell out of service (a partial index holds just those:
# the log has a handful of entries for every assignment, and these are few), and the unit's last entry before the
# period when it was out of service then. Each spell lasts until the unit's next such entry, or now. An entry ends
# a spell by its `previous` status, which the trigger writes with every change.
_OUT_OF_SERVICE = f"""
WITH entries AS (
    SELECT l.unit_id, l.id, l.at, l.status FROM unit_status_log l
    WHERE l.at >= :start AND l.at < :end AND {OUT_OF_SERVICE_SPELL}
    UNION ALL
    SELECT u.id, b.id, b.at, b.status FROM units u
    CROSS JOIN LATERAL (SELECT l.id, l.at, l.status FROM unit_status_log l
                        WHERE l.unit_id = u.id AND l.at < :start ORDER BY l.at DESC, l.id DESC LIMIT 1) b
    WHERE b.status = '{OUT}'
), spells AS (
    SELECT unit_id, status, at, lead(at) OVER (PARTITION BY unit_id ORDER BY at, id) AS until FROM entries
)
SELECT unit_id,
       sum(greatest(0, date_part('epoch', least(coalesce(until, now()), :end) - greatest(at, :start)))) AS seconds
FROM spells WHERE status = '{OUT}' GROUP BY unit_id"""

_FLEET = """
SELECT u.id, u.call_sign, u.kind::text AS kind, s.id AS station_id, s.name AS station
FROM units u LEFT JOIN stations s ON s.id = u.home_station_id
ORDER BY s.name NULLS LAST, s.id, u.call_sign"""

# Incidents received, by local ISO weekday and hour; cancelled ones (and merged duplicates) are left out, as in the
# response-time report: the hours show the calls that needed units.
_HOURS = """
SELECT date_part('isodow', i.received_at AT TIME ZONE :tz)::int AS weekday,
       date_part('hour', i.received_at AT TIME ZONE :tz)::int AS hour, count(*) AS incidents
FROM incidents i
WHERE i.received_at >= :start AND i.received_at < :end AND i.status <> 'cancelled' AND NOT i.exercise
GROUP BY 1, 2"""


def _seconds(value: Any) -> float:
    return round(float(value or 0), 1)


def _share(part: float, whole: float) -> float:
    return round(min(1.0, part / whole), 4) if whole > 0 else 0.0


async def workload(session: AsyncSession, *, period: Period) -> dict[str, Any]:
    """The report for `period` (service.parse_period): every unit and every station with units, zeros included,
    and all 168 hours of the week."""
    bounds = {"start": period.start, "end": period.end}
    try:
        await queries.bounded(session)  # each unit's assignments are sorted by start, twice
        fleet = (await session.execute(text(_FLEET))).mappings().all()
        work = {r["unit_id"]: r for r in (await session.execute(text(_ASSIGNMENTS), bounds)).mappings()}
        down = {r[0]: r[1] for r in (await session.execute(text(_OUT_OF_SERVICE), bounds)).all()}
        hours = (await session.execute(text(_HOURS), {**bounds, "tz": period.tz})).all()
    except DBAPIError as exc:
        raise too_long(exc) from None
    counts = {(r[0], r[1]): r[2] for r in hours}
    period_s = (period.end - period.start).total_seconds()

    units: list[dict[str, Any]] = []
    stations: dict[int | None, dict[str, Any]] = {}
    for unit in fleet:
        done = work.get(unit["id"])
        busy = _seconds(done["busy_s"]) if done else 0.0
        row = {
            "call_sign": unit["call_sign"],
            "kind": unit["kind"],
            "station": unit["station"],
            "assignments": done["assignments"] if done else 0,
            "busy_s": busy,
            "utilisation": _share(busy, period_s),
            "out_of_service_s": _seconds(down.get(unit["id"])),
            "on_scene_s": _seconds(done["on_scene_s"]) if done else 0.0,
            "exercise_s": _seconds(done["exercise_s"]) if done else 0.0,
        }
        units.append(row)
        station = stations.setdefault(
            unit["station_id"],
            {
                "station": unit["station"],
                "units": 0,
                "assignments": 0,
                "busy_s": 0.0,
                "out_of_service_s": 0.0,
                "exercise_s": 0.0,
            },
        )
        station["units"] += 1
        for name in ("assignments", "busy_s", "out_of_service_s", "exercise_s"):
            station[name] += row[name]
    for station in stations.values():
        for name in ("busy_s", "out_of_service_s", "exercise_s"):
            station[name] = round(station[name], 1)
        station["utilisation"] = _share(station["busy_s"], station["units"] * period_s)
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "time_zone": period.tz,
        "period_s": period_s,
        "units": units,
        "stations": list(stations.values()),
        "hours": [
            {"weekday": day, "hour": hour, "incidents": counts.get((day, hour), 0)}
            for day in range(1, 8)
            for hour in range(24)
        ],
    }
