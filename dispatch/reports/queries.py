"""The report's SQL: intervals from the incident and assignment timestamps (which every event stamps in the same
statement as the event), exact percentiles with percentile_cont, compliance counted in the same pass."""

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.reports.targets import UNIT_INTERVALS, Interval, Target

PERCENTILES = (0.5, 0.9, 0.95)
STATEMENT_TIMEOUT_S = 120.0
BIN_S = 30  # the width of a bar in the response-time distribution
MAX_BIN = 120  # the last bar holds everything from 60 min on

OUTSIDE = "Outside the service area"
UNKNOWN = "(unknown)"
# What the municipality grouping joins: the incident's municipality by name, and the service area (one row, or
# none on a map without municipalities).
PLACE_JOINS = " LEFT JOIN municipalities m ON m.name = i.municipality LEFT JOIN service_area sa ON true"
# An incident's municipality as reports show it: one group for every incident outside the service area (a town
# across the border is not one of the service's municipalities), '(unknown)' where the geocoder gave none. A name
# the map does not hold as a municipality (an address's addr:city beyond the map's boundaries) is outside if the
# incident lies outside the area: the point-in-polygon test runs for those incidents only.
MUNICIPALITY = f"""CASE WHEN i.municipality IS NULL THEN '{UNKNOWN}'
    WHEN NOT coalesce(m.in_service_area, sa.geom IS NULL OR i.location IS NULL
                      OR ST_Intersects(sa.geom, i.location::geometry)) THEN '{OUTSIDE}'
    ELSE i.municipality END"""

# What a group's key is, per grouping (words in byte order: the locale's collation would cost more than the
# whole percentile sort, and the groups are put in order afterwards anyway). `unit` and `station` (the unit's home
# station) group the unit intervals only: an incident has no one unit. `weekday` is ISO: 1 Monday … 7 Sunday.
NO_STATION = "(none)"
UNIT_GROUPINGS = ("unit", "station")
DIMENSIONS = {
    "none": "NULL::text",
    "priority": "i.priority",
    "type": 'i.type_code COLLATE "C"',
    "municipality": f'({MUNICIPALITY}) COLLATE "C"',
    "hour": "date_part('hour', i.received_at AT TIME ZONE :tz)::int",
    "day": "(i.received_at AT TIME ZONE :tz)::date",
    "month": "date_trunc('month', i.received_at AT TIME ZONE :tz)::date",
    "weekday": "date_part('isodow', i.received_at AT TIME ZONE :tz)::int",
    "unit": 'u.call_sign COLLATE "C"',
    "station": f"coalesce(st.name, '{NO_STATION}') COLLATE \"C\"",
}
# The unit and its home station, for the unit groupings (and the drill-down's unit and station keys).
UNIT_JOIN = "JOIN units u ON u.id = a.unit_id LEFT JOIN stations st ON st.id = u.home_station_id JOIN incidents i"


def key_text(grouping: str, value) -> str | None:
    """A group's key as reports show it: "1", "Vaduz", "14", "2026-11-28", "2026-11"."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.strftime("%Y-%m") if grouping == "month" else value.isoformat()
    return str(value)


# The incidents of a period, one row each with its intervals in seconds (cancelled and merged incidents are left
# out: no response was owed, or it is counted on the incident they duplicate). NULL where a stage never came.
INCIDENT_SECONDS = {
    "processing": "date_part('epoch', i.dispatched_at - i.received_at)",
    "response": "date_part('epoch', i.on_scene_at - i.received_at)",
    "on_scene": "date_part('epoch', i.cleared_at - i.on_scene_at)",
    "total": "date_part('epoch', i.closed_at - i.received_at)",
}
INCIDENT_COLUMNS = "".join(f",\n       {sql} AS {name}" for name, sql in INCIDENT_SECONDS.items())
INCIDENT_ROWS = (
    "\nSELECT i.priority{dims}"
    + INCIDENT_COLUMNS.replace("{", "{{").replace("}", "}}")
    + """
FROM incidents i{joins}
WHERE i.received_at >= :start AND i.received_at < :end AND i.status <> 'cancelled' AND NOT i.exercise"""
)

# One row per unit sent to those incidents that got under way, with its turnout and travel, and whether it was the
# incident's first unit on scene: the incident's on-scene time is its first unit's (the event log stamps it so),
# which saves sorting every assignment by arrival (two units arriving in the same microsecond would both count).
UNIT_ROWS = """
SELECT i.priority, a.slot AS capability{dims},
       date_part('epoch', a.en_route_at - a.assigned_at) AS turnout,
       date_part('epoch', a.on_scene_at - a.en_route_at) AS travel,
       a.on_scene_at = i.on_scene_at AS first_unit
FROM assignments a JOIN incidents i ON i.id = a.incident_id{joins}
WHERE i.received_at >= :start AND i.received_at < :end AND i.status <> 'cancelled' AND a.en_route_at IS NOT NULL
  AND NOT i.exercise"""


def target_filter(n: int, target: Target, params: dict) -> str:
    column = target.interval.value
    parts = [f"{column} IS NOT NULL"]
    if target.priorities is not None:
        params[f"t{n}_priorities"] = list(target.priorities)
        parts.append(f"priority = ANY(:t{n}_priorities)")
    if target.capabilities is not None:
        params[f"t{n}_capabilities"] = list(target.capabilities)
        parts.append(f"capability = ANY(:t{n}_capabilities)")
    if target.first_unit:
        parts.append("first_unit")
    return " AND ".join(parts)


def _statement(
    source: str, intervals: tuple[Interval, ...], targets: list[Target], groupings: list[str], params: dict
) -> str:
    """Count and percentiles of each interval column, and each target's eligible and met counts, overall and per
    group of each grouping: one pass, one sort per interval and group set (the overall computed once)."""
    columns = []
    for interval in intervals:
        name = interval.value
        columns.append(
            f"count({name}) AS {name}_n, "
            f"percentile_cont(CAST(:ps AS float8[])) WITHIN GROUP (ORDER BY {name}) AS {name}_p"
        )
    for n, target in enumerate(targets):
        if target.interval in intervals:
            where = target_filter(n, target, params)
            params[f"t{n}_seconds"] = target.seconds
            columns.append(
                f"count(*) FILTER (WHERE {where}) AS t{n}_n, "
                f"count(*) FILTER (WHERE {where} AND {target.interval.value} <= :t{n}_seconds) AS t{n}_met"
            )
    keys = [f"g_{g}" for g in groupings]
    source = source.format(
        dims="".join(f", {DIMENSIONS[g]} AS g_{g}" for g in groupings),
        joins=PLACE_JOINS if "municipality" in groupings else "",
    )
    if not keys:
        return f"WITH s AS ({source}) SELECT 0 AS mask, {', '.join(columns)} FROM s"
    sets = ", ".join(f"({k})" for k in keys)
    return (
        f"WITH s AS ({source}) SELECT GROUPING({', '.join(keys)}) AS mask, {', '.join(keys)}, "
        f"{', '.join(columns)} FROM s GROUP BY GROUPING SETS ((), {sets})"
    )


def _long(rows, intervals: tuple[Interval, ...], targets: list[Target], groupings: list[str]) -> list[dict]:
    """Wide rows (one per group) to one row per group and interval, as the service reads them: `grouping` is None
    for the overall row, else the grouping whose key the row has (GROUPING's bit is 0 for the grouped column)."""
    out = []
    everything = (1 << len(groupings)) - 1
    for row in rows:
        if row["mask"] == everything:
            grouping, key = None, None
        else:
            grouping = next(g for i, g in enumerate(groupings) if not row["mask"] >> (len(groupings) - 1 - i) & 1)
            key = key_text(grouping, row[f"g_{grouping}"])
        for interval in intervals:
            name = interval.value
            item = {
                "grouping": grouping,
                "key": key,
                "overall": grouping is None,
                "interval": name,
                "n": row[f"{name}_n"],
                "p": row[f"{name}_p"],
            }
            for n, target in enumerate(targets):
                if target.interval == interval:
                    item[f"t{n}_n"], item[f"t{n}_met"] = row[f"t{n}_n"], row[f"t{n}_met"]
            out.append(item)
    return out


INCIDENT_INTERVALS = tuple(i for i in Interval if i not in UNIT_INTERVALS)


async def bounded(session: AsyncSession) -> None:
    """A report's statements in this transaction: their sorts (percentiles, a year's incidents grouped) in
    memory, not on disk; no plan compiling, which would cost more than it saves; and stopped after
    STATEMENT_TIMEOUT_S rather than left to load the database (years of a big centre)."""
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    await session.execute(text("SET LOCAL jit = off"))
    await session.execute(text(f"SET LOCAL statement_timeout = '{int(STATEMENT_TIMEOUT_S * 1000)}ms'"))


async def interval_stats(
    session: AsyncSession,
    *,
    unit_level: bool,
    start: datetime,
    end: datetime,
    tz: str,
    groupings: list[str],
    targets: list[Target],
    priority: int | None = None,
) -> list[dict]:
    """One row per (grouping, group, interval) and per interval overall (grouping None): count, the percentiles,
    and for each target of that interval its eligible and met counts; of the incident intervals, or of the unit
    intervals (`unit_level`). The two are separate statements so that they can run side by side. `unit` and
    `station` group unit intervals only; `none` is the overall row alone."""
    params: dict = {"start": start, "end": end, "tz": tz, "ps": list(PERCENTILES)}
    await bounded(session)
    groupings = [g for g in groupings if g != "none" and (unit_level or g not in UNIT_GROUPINGS)]
    intervals = UNIT_INTERVALS if unit_level else INCIDENT_INTERVALS
    source = UNIT_ROWS if unit_level else INCIDENT_ROWS
    if any(g in UNIT_GROUPINGS for g in groupings):
        source = source.replace("JOIN incidents i", UNIT_JOIN)
    if priority is not None:  # one priority's incidents (the statements end in their WHERE)
        source += " AND i.priority = :only_priority"
        params["only_priority"] = priority
    sql = _statement(source, intervals, targets, groupings, params)
    rows = _long((await session.execute(text(sql), params)).mappings().all(), intervals, targets, groupings)
    return [r for r in rows if r["n"] or r["overall"]]


async def response_histogram(session: AsyncSession, *, start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """(priority, bar, count): received → first on scene in BIN_S-second bars, the last bar open-ended."""
    rows = await session.execute(
        text(f"""
        SELECT priority, least(floor(extract(epoch FROM on_scene_at - received_at) / {BIN_S}), {MAX_BIN})::int AS bar,
               count(*)
        FROM incidents
        WHERE received_at >= :start AND received_at < :end AND status <> 'cancelled' AND on_scene_at IS NOT NULL
          AND NOT exercise
        GROUP BY 1, 2 ORDER BY 1, 2"""),
        {"start": start, "end": end},
    )
    return [tuple(r) for r in rows]


async def feedback_stats(
    session: AsyncSession, *, start: datetime, end: datetime, tz: str, group_by: str, priority: int | None = None
) -> list[dict]:
    """Citizens' feedback on the period's incidents: links offered, answers, mean satisfaction, each score's
    count, complaints; per group and overall (key None)."""
    overall_only = group_by in (*UNIT_GROUPINGS, "none")  # feedback is about incidents, not units
    dim = DIMENSIONS["none" if overall_only else group_by]
    head, tail = (
        ("NULL::text AS key, true AS overall", "")
        if overall_only
        else (f"{dim} AS key, GROUPING({dim}) = 1 AS overall", f"GROUP BY ROLLUP ({dim})")
    )
    joins = PLACE_JOINS if group_by == "municipality" else ""
    rows = await session.execute(
        text(f"""
        SELECT {head}, count(*) AS offered, count(f.answered_at) AS answered,
               avg(f.satisfaction)::float8 AS satisfaction_mean,
               count(*) FILTER (WHERE f.satisfaction = 1) AS s1, count(*) FILTER (WHERE f.satisfaction = 2) AS s2,
               count(*) FILTER (WHERE f.satisfaction = 3) AS s3, count(*) FILTER (WHERE f.satisfaction = 4) AS s4,
               count(*) FILTER (WHERE f.satisfaction = 5) AS s5, count(*) FILTER (WHERE f.complaint) AS complaints
        FROM feedback_requests f JOIN incidents i ON i.id = f.incident_id{joins}
        WHERE i.received_at >= :start AND i.received_at < :end AND NOT i.exercise{
            " AND i.priority = :only_priority" if priority else ""
        }
        {tail}"""),
        {"start": start, "end": end, "tz": tz, "only_priority": priority},
    )
    return [{**r, "key": key_text(group_by, r["key"])} for r in rows.mappings()]


async def public_stats(session: AsyncSession, *, start: datetime, end: datetime, tz: str) -> list[dict]:
    """Per month and municipality (OUTSIDE for all outside the service area), and per month for all incidents
    (`total`, municipality None): incidents, and received → first on scene for all and for priority 1."""
    rows = await session.execute(
        text(f"""
        WITH s AS (
            SELECT to_char(i.received_at AT TIME ZONE :tz, 'YYYY-MM') AS month, {MUNICIPALITY} AS municipality,
                   i.priority, extract(epoch FROM i.on_scene_at - i.received_at) AS response
            FROM incidents i{PLACE_JOINS}
            WHERE i.received_at >= :start AND i.received_at < :end AND i.status <> 'cancelled' AND NOT i.exercise)
        SELECT month, municipality, GROUPING(municipality) = 1 AS total, count(*) AS incidents,
               count(response) AS responses,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY response) AS p_all,
               count(response) FILTER (WHERE priority = 1) AS responses_p1,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY response) FILTER (WHERE priority = 1) AS p_p1
        FROM s
        GROUP BY GROUPING SETS ((month, municipality), (month))
        ORDER BY month, total DESC, municipality"""),
        {"start": start, "end": end, "tz": tz},
    )
    return [dict(r) for r in rows.mappings()]


async def service_area_name(session: AsyncSession) -> str | None:
    """The service area's name as the map gives it (None without a boundary of its own)."""
    return await session.scalar(text("SELECT name FROM service_area WHERE osm_ref IS NOT NULL"))
