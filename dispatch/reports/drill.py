"""The incidents behind a cell of the response-time report (the drill-down): the report's period, exclusions, group
keys and target rules, a page at a time, longest first by one interval. The statements are built on the report's
own sources (queries.INCIDENT_ROWS, queries.UNIT_ROWS) and its target filter, so that a cell and its list agree."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.errors import InvalidInput
from dispatch.incidents.types import IncidentTypes
from dispatch.reports import queries
from dispatch.reports.service import GroupBy, Period
from dispatch.reports.targets import UNIT_INTERVALS, Interval, Target, Targets

MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
_WHOLE = {"priority": (1, 4), "hour": (0, 23), "weekday": (1, 7)}


@dataclass(frozen=True)
class Cell:
    """What to list: the report's period, one group of one grouping (or all), the sort, and a target."""

    period: Period
    group_by: GroupBy
    key: str | None
    interval: Interval
    target: Target | None
    late: bool
    priority: int | None = None  # one priority's incidents alone, as the report filtered


def find_target(targets: Targets, key: str | None) -> Target | None:
    if key is None:
        return None
    for target in targets:
        if target.key == key:
            return target
    raise InvalidInput(f"unknown target {key!r} (known: {', '.join(t.key for t in targets)})")


def make_cell(
    period: Period,
    *,
    group_by: GroupBy,
    key: str | None,
    interval: Interval,
    target: Target | None,
    late: bool,
    priority: int | None = None,
) -> Cell:
    if key is not None and group_by == GroupBy.none:
        raise InvalidInput("a key needs a grouping: give group_by (priority, type, ...) with it, or leave key out")
    if late and target is None:
        raise InvalidInput("late=true needs a target: give target (a key from the report's targets)")
    if key is not None:
        _key_value(group_by, key)  # refused here, before any statement
    return Cell(period, group_by, key, interval, target, late, priority)


def _key_value(group_by: GroupBy, key: str):
    """The group key as the report writes it, read back into what the grouping's SQL compares with."""
    name = group_by.value
    if name in _WHOLE:
        low, high = _WHOLE[name]
        if not (re.fullmatch(r"[0-9]{1,2}", key) and low <= int(key) <= high):
            raise InvalidInput(f"a {name} key is a whole number from {low} to {high}, got {key!r}")
        return int(key)
    if name in ("day", "month"):
        try:
            day = date.fromisoformat(key if name == "day" else f"{key}-01")
        except ValueError:
            day = None
        if day is None or len(key) != (10 if name == "day" else 7):
            shape = "2026-11-28" if name == "day" else "2026-11"
            raise InvalidInput(f"a {name} key looks like {shape}, got {key!r}")
        return day
    if not key.strip():
        raise InvalidInput(f"a {name} key must not be empty")
    return key


def _span(cell: Cell) -> tuple[datetime, datetime]:
    """The period, narrowed to the day or month of a day or month key (so the received_at index serves it)."""
    start, end = cell.period.start, cell.period.end
    if cell.key is None or cell.group_by not in (GroupBy.day, GroupBy.month):
        return start, end
    first = _key_value(cell.group_by, cell.key)
    after = first + timedelta(days=1) if cell.group_by == GroupBy.day else (first + timedelta(days=32)).replace(day=1)
    zone = ZoneInfo(cell.period.tz)
    return max(start, datetime.combine(first, time(), zone)), min(end, datetime.combine(after, time(), zone))


def _conditions(cell: Cell, params: dict) -> tuple[list[str], list[str], str | None]:
    """The cell's conditions on an incident's columns (names of INCIDENT_ROWS, `g` its group key) and on a unit's
    (names of UNIT_ROWS, `ug` its unit or station), and the column a target is judged on."""
    grouping, target = cell.group_by.value, cell.target
    incident, unit = [], []
    if cell.key is not None and grouping in queries.UNIT_GROUPINGS:
        params["key"] = cell.key
        unit.append("ug = :key")
    elif cell.key is not None:
        params["key"] = _key_value(cell.group_by, cell.key)
        incident.append("g = :key")
    if cell.priority is not None:
        params["only_priority"] = cell.priority
        incident.append("priority = :only_priority")
    if target is None:
        return incident, unit, None
    params["t0_seconds"] = target.seconds
    (unit if target.interval in UNIT_INTERVALS else incident).append(queries.target_filter(0, target, params))
    return incident, unit, target.interval.value


def _incident_rows(cell: Cell) -> str:
    dims = ", i.id" + (f", {queries.DIMENSIONS[cell.group_by.value]} AS g" if _incident_key(cell) else "")
    return queries.INCIDENT_ROWS.format(dims=dims, joins=_joins(cell))


def _incident_key(cell: Cell) -> bool:
    return cell.key is not None and cell.group_by.value not in queries.UNIT_GROUPINGS


def _unit_rows(cell: Cell) -> str:
    """The report's unit rows with their incident's columns, so that one join answers both levels."""
    dims = ", i.id" + queries.INCIDENT_COLUMNS
    if _incident_key(cell):
        dims += f", {queries.DIMENSIONS[cell.group_by.value]} AS g"
    source = queries.UNIT_ROWS
    if cell.key is not None and not _incident_key(cell):
        dims += f", {queries.DIMENSIONS[cell.group_by.value]} AS ug"
        source = source.replace("JOIN incidents i", queries.UNIT_JOIN)
    return source.format(dims=dims, joins=_joins(cell))


def _joins(cell: Cell) -> str:
    """The municipality grouping's joins (the service area's), where the cell's key is a municipality."""
    return queries.PLACE_JOINS if _incident_key(cell) and cell.group_by.value == "municipality" else ""


def _where(parts: list[str]) -> str:
    return " AND ".join(parts) or "true"


async def page(session: AsyncSession, cell: Cell, *, limit: int, offset: int) -> tuple[int, list[dict]]:
    """The count of the cell's incidents, and a page of (id, late), longest `interval` first (nulls last)."""
    start, end = _span(cell)
    params: dict = {"start": start, "end": end, "tz": cell.period.tz, "limit": limit, "offset": offset}
    incident, unit, judged = _conditions(cell, params)
    if cell.late:
        (unit if judged in {i.value for i in UNIT_INTERVALS} else incident).append(f"{judged} > :t0_seconds")
    await queries.bounded(session)
    order = "DESC NULLS LAST, id LIMIT :limit OFFSET :offset"
    late = "NULL::bool" if judged is None else f"{judged} > :t0_seconds"
    if not unit and cell.interval not in UNIT_INTERVALS:
        # Incidents alone: a scan of the period's incidents, the count and a top-N sort.
        body = f"FROM ({_incident_rows(cell)}) s WHERE {_where(incident)}"
        count = await session.scalar(text(f"SELECT count(*) {body}"), params)
        return count, await _rows(
            session, f"SELECT id, {late} AS late {body}", f"{cell.interval.value} {order}", params
        )
    # The incidents with units that count (their unit's, their station's, eligible for a unit target): one join of
    # the report's unit rows with their incidents, grouped by incident; sorted by the longest of its units.
    # Late for a unit target: a unit over it; the longest of those is the longest of all the eligible ones.
    grouped = f"FROM ({_unit_rows(cell)}) s WHERE {_where(incident + unit)} GROUP BY id"
    sort = f"max({cell.interval.value}) {order}"
    if unit:
        rows = await _rows(
            session, f"SELECT id, bool_or({late}) AS late, count(*) OVER () AS n {grouped}", sort, params
        )
        if rows:
            return rows[0]["n"], rows
        return await session.scalar(text(f"SELECT count(*) FROM (SELECT id {grouped}) c"), params), rows
    # Sorted by a unit interval but not narrowed to units: the incidents without a unit under way come last.
    body = f"FROM ({_incident_rows(cell)}) s WHERE {_where(incident)}"
    count = await session.scalar(text(f"SELECT count(*) {body}"), params)
    top, with_units = await _top_units(session, cell, incident, late, params)
    if top is not None:
        rows = top
    else:  # too many units at the top of the list to read them row by row: grouped, then
        rows = await _rows(session, f"SELECT id, bool_or({late}) AS late {grouped}", sort, params)
        if len(rows) < limit:
            with_units = await session.scalar(text(f"SELECT count(*) FROM (SELECT id {grouped}) c"), params)
    if len(rows) < limit:
        params |= {"limit": limit - len(rows), "offset": max(0, offset - with_units)}
        rest = (
            f"SELECT id, {late} AS late {body} AND NOT EXISTS (SELECT 1 FROM assignments a "
            "WHERE a.incident_id = s.id AND a.en_route_at IS NOT NULL)"
        )
        rows += await _rows(session, rest, "id LIMIT :limit OFFSET :offset", params)
    return count, rows


async def _rows(session: AsyncSession, select: str, order: str, params: dict) -> list[dict]:
    return [dict(r) for r in (await session.execute(text(f"{select} ORDER BY {order}"), params)).mappings()]


TOP_UNITS_PER_INCIDENT = 4
TOP_ROWS_AT_MOST = 20_000


async def _top_units(
    session: AsyncSession, cell: Cell, incident: list[str], late: str, params: dict
) -> tuple[list[dict] | None, int]:
    """A page by the longest unit interval read from the longest unit rows, each incident where its longest unit
    first comes (the same order as grouping every incident, without grouping a year of them): the page, and how
    many incidents have units when all rows were read. None when the rows read did not reach the page's end."""
    want = params["offset"] + params["limit"]
    top = want * TOP_UNITS_PER_INCIDENT
    if top > TOP_ROWS_AT_MOST:
        return None, 0
    name = cell.interval.value
    found = await _rows(
        session,
        f"SELECT id, {late} AS late FROM ({_unit_rows(cell)}) s WHERE {_where(incident)}",
        f"{name} DESC NULLS LAST, id LIMIT {top}",
        params,
    )
    first: dict[int, dict] = {}
    for row in found:
        first.setdefault(row["id"], row)
    if len(found) == top and len(first) < want:
        return None, 0
    return list(first.values())[params["offset"] : want], len(first)


_DETAILS = f"""
SELECT i.id, i.received_at, i.priority, i.type_code, i.municipality, i.address_label AS address, i.status::text,
       i.disposition, i.on_scene_at{queries.INCIDENT_COLUMNS}
FROM incidents i WHERE i.id = ANY(:ids)"""

# Every unit sent, in the order sent; diverted when the log says it was taken off this incident for another.
_UNITS_SENT = """
SELECT a.incident_id, u.call_sign, st.name AS station, a.slot, a.eta_s, a.on_scene_at,
       date_part('epoch', a.en_route_at - a.assigned_at) AS turnout,
       date_part('epoch', a.on_scene_at - a.en_route_at) AS travel,
       EXISTS (SELECT 1 FROM incident_events e
               WHERE e.incident_id = a.incident_id AND e.kind = 'diverted' AND e.payload ->> 'unit_id' = a.unit_id::text
                 AND e.at >= a.assigned_at AND (a.cancelled_at IS NULL OR e.at <= a.cancelled_at)) AS diverted
FROM assignments a JOIN units u ON u.id = a.unit_id LEFT JOIN stations st ON st.id = u.home_station_id
WHERE a.incident_id = ANY(:ids)
ORDER BY a.incident_id, a.assigned_at, a.id"""


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def items(session: AsyncSession, rows: list[dict], *, tz: str, types: IncidentTypes) -> list[dict]:
    """The page's incidents with their units, in the page's order."""
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    zone = ZoneInfo(tz)
    found = {r["id"]: r for r in (await session.execute(text(_DETAILS), {"ids": ids})).mappings()}
    sent: dict[int, list[dict]] = {}
    for u in (await session.execute(text(_UNITS_SENT), {"ids": ids})).mappings():
        sent.setdefault(u["incident_id"], []).append(dict(u))
    out = []
    for row in rows:
        i = found[row["id"]]
        units = sent.get(i["id"], [])
        kind = types.get(i["type_code"])
        # The first unit on scene is the one whose arrival is the incident's on-scene time, as the report has it.
        first = next((u["call_sign"] for u in units if i["on_scene_at"] and u["on_scene_at"] == i["on_scene_at"]), None)
        out.append(
            {
                "id": i["id"],
                "received_at": i["received_at"].astimezone(zone).isoformat(),
                "priority": i["priority"],
                "type_code": i["type_code"],
                "type_name": kind.name if kind else None,
                "municipality": i["municipality"],
                "address": i["address"],
                "status": i["status"],
                "disposition": i["disposition"],
                **{name: _seconds(i[name]) for name in ("processing", "response", "on_scene", "total")},
                "first_unit": first,
                "units": [
                    {
                        "call_sign": u["call_sign"],
                        "station": u["station"],
                        "slot": u["slot"],
                        "eta_s": _seconds(u["eta_s"]),
                        "turnout": _seconds(u["turnout"]),
                        "travel": _seconds(u["travel"]),
                        "diverted": u["diverted"],
                    }
                    for u in units
                ],
                "late": row["late"],
            }
        )
    return out
