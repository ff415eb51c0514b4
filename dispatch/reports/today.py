"""The commander's live panel: today's calls since local midnight, priority 1's responses against its target, and
the units now. Today's incidents are a day's worth, read through the received_at index."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.reports.targets import Interval, Target, Targets
from dispatch.statuses import FREE_UNIT, OFF_INCIDENT_UNIT, OPEN_INCIDENT, UnitStatus, sql_in

# On an incident now: every status but the free ones and out of service.
COMMITTED_UNIT = frozenset(UnitStatus) - OFF_INCIDENT_UNIT


def p1_target(targets: Targets) -> Target | None:
    """`response-p1`, else the first response target for priority 1 alone."""
    by_key = {t.key: t for t in targets}
    if "response-p1" in by_key and by_key["response-p1"].interval == Interval.response:
        return by_key["response-p1"]
    return next((t for t in targets if t.interval == Interval.response and t.priorities == [1]), None)


# Merged duplicates (cancelled into another incident) are not calls of their own; the percentiles leave every
# cancelled incident out, as the report does. Exercise incidents are left out of everything but their own count.
_CALLS = f"""
SELECT i.priority, count(*) AS calls,
       count(*) FILTER (WHERE i.status <> 'cancelled' AND i.on_scene_at IS NOT NULL) AS responses,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY date_part('epoch', i.on_scene_at - i.received_at))
           FILTER (WHERE i.status <> 'cancelled') AS p,
       count(*) FILTER (WHERE i.status <> 'cancelled'
                          AND date_part('epoch', i.on_scene_at - i.received_at) <= :target_s) AS met,
       count(*) FILTER (WHERE i.status IN {sql_in(OPEN_INCIDENT)} AND i.on_scene_at IS NULL) AS waiting
FROM incidents i
WHERE i.received_at >= :since AND i.duplicate_of_id IS NULL AND NOT i.exercise
GROUP BY i.priority"""
_OPEN = f"SELECT count(*) FROM incidents WHERE status IN {sql_in(OPEN_INCIDENT)} AND NOT exercise"
_EXERCISE = "SELECT count(*) FROM incidents WHERE received_at >= :since AND duplicate_of_id IS NULL AND exercise"
_UNITS = "SELECT status::text, count(*) FROM units GROUP BY status"
# Units on an exercise now (their one active assignment, as the unique partial index keeps it, is a drill's).
_ON_EXERCISE = """SELECT count(*) FROM assignments a JOIN incidents i ON i.id = a.incident_id
WHERE a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene') AND i.exercise"""


async def today(session: AsyncSession, *, tz: str, targets: Targets, now: datetime) -> dict:
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    since = datetime.combine(local_now.date(), time(), zone)
    target = p1_target(targets)
    target_s = target.seconds if target else None
    rows = {
        r["priority"]: r
        for r in (
            await session.execute(text(_CALLS), {"since": since, "target_s": target_s if target_s else -1.0})
        ).mappings()
    }
    open_now = await session.scalar(text(_OPEN))
    exercise = await session.scalar(text(_EXERCISE), {"since": since})
    units = {status: n for status, n in (await session.execute(text(_UNITS))).all()}
    on_exercise = await session.scalar(text(_ON_EXERCISE))
    p1 = rows.get(1)
    p = (p1["p"] if p1 else None) or [None, None]
    return {
        "since": since.isoformat(),
        "as_of": local_now.isoformat(),
        "calls": sum(r["calls"] for r in rows.values()),
        "open": open_now,
        "by_priority": {str(k): rows[k]["calls"] for k in sorted(rows)},
        "exercise": exercise,  # exercise calls today, left out of every other figure
        "p1": {
            "responses": p1["responses"] if p1 else 0,
            "p50": None if p[0] is None else round(p[0], 1),
            "p90": None if p[1] is None else round(p[1], 1),
            "target_s": target_s,
            "met": p1["met"] if p1 and target_s else 0,
            "waiting": p1["waiting"] if p1 else 0,
        },
        "units": {
            "total": sum(units.values()),
            "committed": sum(n for s, n in units.items() if s in COMMITTED_UNIT),
            "available": sum(n for s, n in units.items() if s in FREE_UNIT),
            "out_of_service": units.get(UnitStatus.out_of_service.value, 0),
            "on_exercise": on_exercise,
        },
    }
