"""The report's SQL: intervals from the incident and assignment timestamps (which every event stamps in the same
statement as the event), exact percentiles with percentile_cont, compliance counted in the same pass."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.reports.targets import Target

PERCENTILES = (0.5, 0.9, 0.95)
BIN_S = 30  # the width of a bar in the response-time distribution
MAX_BIN = 120  # the last bar holds everything from 60 min on

# What a group's key is, per grouping. `unit` groups the unit intervals only (an incident has no one unit).
DIMENSIONS = {
    "none": "NULL::text",
    "priority": "i.priority::text",
    "type": "i.type_code",
    "municipality": "coalesce(i.municipality, '(unknown)')",
    "hour": "extract(hour FROM i.received_at AT TIME ZONE :tz)::int::text",
    "day": "to_char(i.received_at AT TIME ZONE :tz, 'YYYY-MM-DD')",
    "month": "to_char(i.received_at AT TIME ZONE :tz, 'YYYY-MM')",
    "unit": "u.call_sign",
}

# The incidents of a period (cancelled and merged ones are left out: no response was owed or it was counted on the
# incident they duplicate) and one row per interval each has: incident intervals, then unit intervals.
_SAMPLES = """
inc AS MATERIALIZED (
    SELECT i.id, i.priority, i.type_code, i.municipality, i.received_at, i.dispatched_at, i.on_scene_at,
           i.cleared_at, i.closed_at
    FROM incidents i
    WHERE i.received_at >= :start AND i.received_at < :end AND i.status <> 'cancelled'
), unit_rows AS (
    SELECT a.incident_id, a.unit_id, a.slot, a.assigned_at, a.en_route_at, a.on_scene_at,
           a.on_scene_at IS NOT NULL AND row_number() OVER (
               PARTITION BY a.incident_id ORDER BY a.on_scene_at NULLS LAST, a.id) = 1 AS first_unit
    FROM assignments a JOIN inc ON inc.id = a.incident_id
    WHERE a.en_route_at IS NOT NULL
), samples AS (
    SELECT {incident_dim} AS key, v.interval, extract(epoch FROM v.d)::float8 AS seconds, i.priority,
           NULL::text AS capability, false AS first_unit
    FROM inc i CROSS JOIN LATERAL (VALUES
        ('processing', i.dispatched_at - i.received_at), ('response', i.on_scene_at - i.received_at),
        ('on_scene', i.cleared_at - i.on_scene_at), ('total', i.closed_at - i.received_at)) v(interval, d)
    WHERE v.d IS NOT NULL AND {incident_rows}
    UNION ALL
    SELECT {dim}, v.interval, extract(epoch FROM v.d)::float8, i.priority, r.slot, r.first_unit
    FROM unit_rows r JOIN inc i ON i.id = r.incident_id JOIN units u ON u.id = r.unit_id
    CROSS JOIN LATERAL (VALUES ('turnout', r.en_route_at - r.assigned_at),
                               ('travel', r.on_scene_at - r.en_route_at)) v(interval, d)
    WHERE v.d IS NOT NULL
)"""


def _target_filter(n: int, target: Target, params: dict) -> str:
    params[f"t{n}_interval"] = target.interval.value
    parts = [f"interval = :t{n}_interval"]
    if target.priorities is not None:
        params[f"t{n}_priorities"] = list(target.priorities)
        parts.append(f"priority = ANY(:t{n}_priorities)")
    if target.capabilities is not None:
        params[f"t{n}_capabilities"] = list(target.capabilities)
        parts.append(f"capability = ANY(:t{n}_capabilities)")
    if target.first_unit:
        parts.append("first_unit")
    return " AND ".join(parts)


async def interval_stats(session: AsyncSession, *, start: datetime, end: datetime, tz: str, group_by: str,
                         targets: list[Target]) -> list[dict]:
    """One row per (group, interval) and per interval overall (key None, overall True): count, the percentiles,
    and for each target its eligible and met counts."""
    params: dict = {"start": start, "end": end, "tz": tz, "ps": list(PERCENTILES)}
    compliance = []
    for n, target in enumerate(targets):
        where = _target_filter(n, target, params)
        params[f"t{n}_seconds"] = target.seconds
        compliance.append(f"count(*) FILTER (WHERE {where}) AS t{n}_n, "
                          f"count(*) FILTER (WHERE {where} AND seconds <= :t{n}_seconds) AS t{n}_met")
    grouping = ("NULL::text AS key, interval, true AS overall", "interval") if group_by == "none" else \
        ("key, interval, GROUPING(key) = 1 AS overall", "GROUPING SETS ((interval), (key, interval))")
    unit = group_by == "unit"
    samples = _SAMPLES.format(dim=DIMENSIONS[group_by], incident_dim="NULL::text" if unit else DIMENSIONS[group_by],
                              incident_rows="false" if unit else "true")
    sql = f"""WITH {samples}
SELECT {grouping[0]}, count(*) AS n,
       percentile_cont(CAST(:ps AS float8[])) WITHIN GROUP (ORDER BY seconds) AS p
       {''.join(', ' + c for c in compliance)}
FROM samples GROUP BY {grouping[1]}"""
    # The percentiles sort every group's samples: in memory, not on disk.
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    rows = (await session.execute(text(sql), params)).mappings().all()
    return [dict(r) for r in rows]


async def response_histogram(session: AsyncSession, *, start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """(priority, bar, count): received → first on scene in BIN_S-second bars, the last bar open-ended."""
    rows = await session.execute(text(f"""
        SELECT priority, least(floor(extract(epoch FROM on_scene_at - received_at) / {BIN_S}), {MAX_BIN})::int AS bar,
               count(*)
        FROM incidents
        WHERE received_at >= :start AND received_at < :end AND status <> 'cancelled' AND on_scene_at IS NOT NULL
        GROUP BY 1, 2 ORDER BY 1, 2"""), {"start": start, "end": end})
    return [tuple(r) for r in rows]


async def feedback_stats(session: AsyncSession, *, start: datetime, end: datetime, tz: str,
                         group_by: str) -> list[dict]:
    """Citizens' feedback on the period's incidents: links offered, answers, mean satisfaction, each score's
    count, complaints; per group and overall (key None)."""
    overall_only = group_by in ("unit", "none")  # feedback is about incidents, not units
    dim = DIMENSIONS["none" if overall_only else group_by]
    head, tail = ("NULL::text AS key, true AS overall", "") if overall_only else \
        (f"{dim} AS key, GROUPING({dim}) = 1 AS overall", f"GROUP BY ROLLUP ({dim})")
    rows = await session.execute(text(f"""
        SELECT {head}, count(*) AS offered, count(f.answered_at) AS answered,
               avg(f.satisfaction)::float8 AS satisfaction_mean,
               count(*) FILTER (WHERE f.satisfaction = 1) AS s1, count(*) FILTER (WHERE f.satisfaction = 2) AS s2,
               count(*) FILTER (WHERE f.satisfaction = 3) AS s3, count(*) FILTER (WHERE f.satisfaction = 4) AS s4,
               count(*) FILTER (WHERE f.satisfaction = 5) AS s5, count(*) FILTER (WHERE f.complaint) AS complaints
        FROM feedback_requests f JOIN incidents i ON i.id = f.incident_id
        WHERE i.received_at >= :start AND i.received_at < :end
        {tail}"""), {"start": start, "end": end, "tz": tz})
    return [dict(r) for r in rows.mappings()]


async def public_stats(session: AsyncSession, *, start: datetime, end: datetime, tz: str) -> list[dict]:
    """Per month and municipality: incidents, and received → first on scene for all and for priority 1."""
    rows = await session.execute(text("""
        SELECT to_char(received_at AT TIME ZONE :tz, 'YYYY-MM') AS month,
               coalesce(municipality, '(unknown)') AS municipality, count(*) AS incidents,
               count(on_scene_at) AS responses,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM on_scene_at - received_at))
                   AS p_all,
               count(on_scene_at) FILTER (WHERE priority = 1) AS responses_p1,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM on_scene_at - received_at))
                   FILTER (WHERE priority = 1) AS p_p1
        FROM incidents
        WHERE received_at >= :start AND received_at < :end AND status <> 'cancelled'
        GROUP BY 1, 2 ORDER BY 1, 2"""), {"start": start, "end": end, "tz": tz})
    return [dict(r) for r in rows.mappings()]
