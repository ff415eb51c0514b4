"""The response-time report: a period in local time, grouped, with compliance and citizens' feedback."""

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from dispatch.errors import DispatchError, InvalidInput
from dispatch.reports import queries
from dispatch.reports.targets import INTERVAL_TITLES, Interval, Targets

MAX_SPAN = timedelta(days=366 * 5)
QUERY_CANCELED = "57014"  # PostgreSQL's statement_timeout


class ReportTooLong(DispatchError):
    status, code, title = 503, "report_too_long", "Report took too long"


def too_long(exc: DBAPIError) -> Exception:
    """What a report's failed statement says: ReportTooLong when the statement timeout stopped it, else itself."""
    if getattr(exc.orig, "sqlstate", None) == QUERY_CANCELED:
        return ReportTooLong(
            f"the report took longer than {queries.STATEMENT_TIMEOUT_S:g} s and was stopped; ask for a shorter period"
        )
    return exc


class GroupBy(StrEnum):
    none = "none"
    priority = "priority"
    type = "type"
    municipality = "municipality"
    unit = "unit"
    station = "station"
    hour = "hour"
    weekday = "weekday"
    day = "day"
    month = "month"


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, and the local time zone it was given in."""

    start: datetime
    end: datetime
    tz: str


def _moment(value: str, name: str, zone: ZoneInfo, *, end: bool) -> datetime:
    value = value.strip()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and len(value) == 10:
        # A date is a whole local day: from its first moment, to the end of it when it ends the period.
        return datetime.combine(day + timedelta(days=1 if end else 0), time(), zone)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"'{name}' must be a date (2026-11-01) or a date and time (2026-11-01T08:00, "
            f"with or without an offset), got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_period(start: str, end: str, tz: str) -> Period:
    """`from` and `to` as commanders say them: dates are whole local days (both included); a date and time
    without an offset is local time; the end of a date and time is excluded."""
    zone = ZoneInfo(tz)
    first, last = _moment(start, "from", zone, end=False), _moment(end, "to", zone, end=True)
    if last <= first:
        raise InvalidInput(f"'to' ({end}) must be after 'from' ({start})")
    if last - first > MAX_SPAN:
        raise InvalidInput("a report covers at most 5 years; ask for a shorter period")
    return Period(first.astimezone(ZoneInfo("UTC")), last.astimezone(ZoneInfo("UTC")), tz)


def _sort_key(key: str | None):
    if key is None:
        return (0, 0, "")
    return (1, int(key), "") if key.isdigit() else (2, 0, key)


def _stats(row: dict) -> dict:
    p = row["p"] or [None] * len(queries.PERCENTILES)
    return {
        "count": row["n"],
        **{
            f"p{round(q * 100)}": (None if v is None else round(v, 1))
            for q, v in zip(queries.PERCENTILES, p, strict=True)
        },
    }


def _compliance(row_by_interval: dict[str, dict], targets: Targets) -> list[dict]:
    out = []
    for n, target in enumerate(targets):
        row = row_by_interval.get(target.interval.value)
        eligible, met = (row[f"t{n}_n"], row[f"t{n}_met"]) if row else (0, 0)
        fraction = met / eligible if eligible else None
        out.append(
            {
                "target": target.key,
                "name": target.name,
                "interval": target.interval.value,
                "seconds": target.seconds,
                "goal": target.fraction,
                "count": eligible,
                "met": met,
                "fraction": None if fraction is None else round(fraction, 4),
                "ok": None if fraction is None else fraction >= target.fraction,
            }
        )
    return out


async def feedback_series(session: AsyncSession, *, period: Period, by: GroupBy) -> dict:
    """Callers' answers over time (`by` day or month): the feedback block of each group and overall, without the
    report's intervals (a year of them costs seconds; these cost a pass over the feedback requests)."""
    rows = await queries.feedback_stats(session, start=period.start, end=period.end, tz=period.tz, group_by=by.value)
    overall = next((r for r in rows if r["overall"]), None)
    by_key = {r["key"]: r for r in rows if not r["overall"]}
    return {
        "group_by": by.value,
        "overall": _feedback(overall),
        # Every day (month) of the period, those without a caller asked as zeros: a gap is not a missing bar.
        "groups": [{"key": key, "feedback": _feedback(by_key.get(key))} for key in _calendar(period, by)],
    }


def local_days(period: Period) -> tuple[date, date]:
    """The first and the last local day the period touches (file names, calendars)."""
    zone = ZoneInfo(period.tz)
    return period.start.astimezone(zone).date(), (period.end - timedelta(microseconds=1)).astimezone(zone).date()


def _calendar(period: Period, by: GroupBy) -> list[str]:
    day, last = local_days(period)
    keys: list[str] = []
    while day <= last:
        key = day.strftime("%Y-%m") if by == GroupBy.month else day.isoformat()
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def _feedback(row: dict | None) -> dict:
    if row is None:
        return {
            "offered": 0,
            "answered": 0,
            "satisfaction_mean": None,
            "satisfaction": {str(s): 0 for s in range(1, 6)},
            "complaints": 0,
        }
    mean = row["satisfaction_mean"]
    return {
        "offered": row["offered"],
        "answered": row["answered"],
        "satisfaction_mean": None if mean is None else round(mean, 2),
        "satisfaction": {str(s): row[f"s{s}"] for s in range(1, 6)},
        "complaints": row["complaints"],
    }


async def _stats_rows(session: AsyncSession, sessions: async_sessionmaker | None, **query) -> list[dict]:
    """The incident and the unit statements: one after the other on `session`, or side by side each in a
    transaction of its own from `sessions` (two cores sort at once; committed data only)."""
    try:
        if sessions is None:
            return [
                row
                for unit_level in (False, True)
                for row in await queries.interval_stats(session, unit_level=unit_level, **query)
            ]

        async def one(unit_level: bool) -> list[dict]:
            async with sessions() as own, own.begin():
                return await queries.interval_stats(own, unit_level=unit_level, **query)

        incident_rows, unit_rows = await asyncio.gather(one(False), one(True))
        return incident_rows + unit_rows
    except DBAPIError as exc:
        raise too_long(exc) from None


async def _reports(
    session: AsyncSession,
    *,
    period: Period,
    groupings: tuple[GroupBy, ...],
    targets: Targets,
    sessions: async_sessionmaker | None,
    priority: int | None = None,
) -> dict[str, dict]:
    """One report per grouping, from one incident and one unit statement (the overall computed once); of one
    priority's incidents alone with `priority`."""
    rows = await _stats_rows(
        session,
        sessions,
        start=period.start,
        end=period.end,
        tz=period.tz,
        groupings=[g.value for g in groupings],
        targets=list(targets),
        priority=priority,
    )
    overall = [r for r in rows if r["overall"]]
    out = {}
    for grouping in groupings:
        feedback = await queries.feedback_stats(
            session, start=period.start, end=period.end, tz=period.tz, group_by=grouping.value, priority=priority
        )
        mine = overall + [r for r in rows if r["grouping"] == grouping.value]
        out[grouping.value] = _assemble(period, grouping, mine, feedback, targets) | {"priority": priority}
    return out


def _assemble(period: Period, group_by: GroupBy, rows: list[dict], feedback: list[dict], targets: Targets) -> dict:
    grouped: dict[str | None, dict[str, dict]] = {}
    for row in rows:
        grouped.setdefault(None if row["overall"] else row["key"], {})[row["interval"]] = row
    feedback_by = {None if r["overall"] else r["key"]: r for r in feedback}

    def block(key: str | None) -> dict:
        by_interval = grouped.get(key, {})
        return {
            "intervals": {
                i.value: _stats(by_interval[i.value])
                if i.value in by_interval
                else {"count": 0, "p50": None, "p90": None, "p95": None}
                for i in Interval
            },
            "compliance": _compliance(by_interval, targets),
            "feedback": _feedback(feedback_by.get(key)),
        }

    keys = sorted((k for k in grouped if k is not None), key=_sort_key)
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "time_zone": period.tz,
        "group_by": group_by.value,
        "percentiles": [round(q * 100) for q in queries.PERCENTILES],
        "intervals": {i.value: INTERVAL_TITLES[i] for i in Interval},
        "targets": [t.model_dump(mode="json") for t in targets],
        "overall": block(None),
        "groups": [{"key": k, **block(k)} for k in keys],
    }


async def response_times(
    session: AsyncSession,
    *,
    period: Period,
    group_by: GroupBy,
    targets: Targets,
    sessions: async_sessionmaker | None = None,
    priority: int | None = None,
) -> dict:
    """Every interval's count and exact p50/p90/p95, overall and per group; compliance with each target, overall
    and per group; citizens' feedback on the same incidents; of one priority's incidents with `priority`. With
    `sessions`, the two big statements run side by side on connections of their own."""
    reports = await _reports(
        session, period=period, groupings=(group_by,), targets=targets, sessions=sessions, priority=priority
    )
    return reports[group_by.value]


async def distribution(session: AsyncSession, *, period: Period) -> dict[int, list[int]]:
    """Per priority, the count of responses in each BIN_S-second bar (the last bar open-ended)."""
    out: dict[int, list[int]] = {}
    for priority, bar, count in await queries.response_histogram(session, start=period.start, end=period.end):
        out.setdefault(priority, [0] * (queries.MAX_BIN + 1))[bar] = count
    return out


async def public_response_times(session: AsyncSession, *, period: Period, min_count: int) -> dict:
    """Monthly response times for citizens: `months` per municipality (one row for all incidents outside the
    service area), `totals` per month over every incident, and the service area's name; counts and percentiles
    only, none for a cell of fewer than `min_count` responses (so no single incident can be read out of it)."""

    def pct(values, n):
        if values is None or n < min_count:
            return {"p50_s": None, "p90_s": None}
        return {"p50_s": round(values[0]), "p90_s": round(values[1])}

    months, totals = [], []
    for row in await queries.public_stats(session, start=period.start, end=period.end, tz=period.tz):
        cell = {
            "month": row["month"],
            "municipality": row["municipality"],
            "incidents": row["incidents"],
            "responses": row["responses"],
            "all_priorities": pct(row["p_all"], row["responses"]),
            "priority_1_responses": row["responses_p1"],
            "priority_1": pct(row["p_p1"], row["responses_p1"]),
        }
        if row["total"]:
            del cell["municipality"]
            totals.append(cell)
        else:
            months.append(cell)
    area = await queries.service_area_name(session)
    return {"service_area": area, "months": months, "totals": totals}


FULL_GROUPINGS = (GroupBy.priority, GroupBy.type, GroupBy.municipality, GroupBy.unit, GroupBy.hour, GroupBy.day)


async def full_report(
    session: AsyncSession,
    *,
    period: Period,
    targets: Targets,
    groupings: tuple[GroupBy, ...] = FULL_GROUPINGS,
    sessions: async_sessionmaker | None = None,
) -> dict:
    """The commander's report: one response-time report per grouping (all from the same two statements), and the
    distribution for the chart."""

    async def bars_of_own() -> dict[int, list[int]]:
        async with sessions() as own, own.begin():
            return await distribution(own, period=period)

    if sessions is None:
        by = await _reports(session, period=period, groupings=groupings, targets=targets, sessions=None)
        bars = await distribution(session, period=period)
    else:  # the distribution beside the big statements, on a connection of its own too
        by, bars = await asyncio.gather(
            _reports(session, period=period, groupings=groupings, targets=targets, sessions=sessions), bars_of_own()
        )
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "time_zone": period.tz,
        "by": by,
        "distribution": {str(p): b for p, b in bars.items()},
        "distribution_bar_s": queries.BIN_S,
    }
