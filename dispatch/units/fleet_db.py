"""A fleet file against the database: checked against the map and the units at work, written in one transaction
(stations by name, units by call sign), and the database's fleet (or OpenStreetMap's proposal) as a file."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dispatch.statuses import ACTIVE_ASSIGNMENT, FREE_UNIT, UnitStatus, sql_in
from dispatch.units.fleet import Fleet, FleetError, StationSpec, UnitSpec, default_kinds, dump, parse
from dispatch.units.seed import create_standby_posts, load_seed_table, plan_units
from geo.osm.importer import IMPORT_LOCK_KEY

OUT_OF_SERVICE = UnitStatus.out_of_service.value


@dataclass
class Changes:
    """What an import did: per table created/updated/unchanged counts, the units the file leaves out, those it
    retired (set out of service)."""

    stations: Counter = field(default_factory=Counter)
    units: Counter = field(default_factory=Counter)
    not_in_file: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


@dataclass
class _Existing:
    stations: dict[str, list[tuple]]  # name -> [(id, kind, municipality, lon, lat)]
    units: dict[str, tuple]  # call sign -> (id, kind, capabilities, home id, status, incident on or None)


def scalar(cur: psycopg.Cursor) -> Any:
    """The first column of the one row a statement returned."""
    row = cur.fetchone()
    if row is None:
        raise LookupError("the statement returned no row")
    return row[0]


def _point(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


def _read(cur: psycopg.Cursor) -> _Existing:
    cur.execute("""SELECT id, name, kind::text, municipality, round(ST_X(location::geometry)::numeric, 7)::float8,
                          round(ST_Y(location::geometry)::numeric, 7)::float8 FROM stations ORDER BY id""")
    stations: dict[str, list[tuple]] = {}
    for sid, name, *rest in cur.fetchall():
        stations.setdefault(name, []).append((sid, *rest))
    cur.execute(f"""
        SELECT u.call_sign, u.id, u.kind::text, u.capabilities, u.home_station_id, u.status::text,
               (SELECT a.incident_id FROM assignments a
                WHERE a.unit_id = u.id AND a.status IN {sql_in(ACTIVE_ASSIGNMENT)} LIMIT 1)
        FROM units u ORDER BY u.id""")
    return _Existing(stations, {row[0]: row[1:] for row in cur.fetchall()})


def _outside(cur: psycopg.Cursor, stations: list[StationSpec], problems: list[str]) -> None:
    """Each station inside the service area (the import's), else inside the map's extent (addresses and roads)."""
    lons, lats = [float(s.lon) for s in stations], [float(s.lat) for s in stations]
    cur.execute("SELECT name FROM service_area")
    area = cur.fetchone()
    if area is not None:
        cur.execute(
            """SELECT i FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lon, lat, i)
               WHERE NOT EXISTS (SELECT 1 FROM service_area a
                                 WHERE ST_Intersects(a.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)))""",
            (lons, lats),
        )
        where = f"the service area ({area[0]})"
        outside = [int(r[0]) for r in cur.fetchall()]
    else:
        cur.execute("""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g) AS e FROM (
                         SELECT location::geometry AS g FROM addresses UNION ALL SELECT geom FROM road_nodes) x) y""")
        box = cur.fetchone()
        if box is None or box[0] is None:
            if stations:
                problems.append("the database holds no map to place the stations on: run `dispatch load-map` first")
            return
        x0, y0, x1, y1 = box
        where = f"the map ({x0:.4f}, {y0:.4f} to {x1:.4f}, {y1:.4f})"
        outside = [
            i for i, (x, y) in enumerate(zip(lons, lats, strict=True), 1) if not (x0 <= x <= x1 and y0 <= y <= y1)
        ]
    for i in outside:
        s = stations[i - 1]
        problems.append(f'station {i} "{s.name}": outside {where} at {s.lon}, {s.lat}')


def _municipalities(cur: psycopg.Cursor, stations: list[StationSpec]) -> list[str | None]:
    """Each station's municipality: the file's, else the one whose boundary holds it (as the map import names)."""
    cur.execute(
        """SELECT (SELECT m.name FROM municipalities m
                   WHERE ST_Intersects(m.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)) ORDER BY m.name LIMIT 1)
           FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(lon, lat, i) ORDER BY i""",
        ([float(s.lon) for s in stations], [float(s.lat) for s in stations]),
    )
    found = [r[0] for r in cur.fetchall()]
    return [s.municipality if s.municipality is not None else m for s, m in zip(stations, found, strict=True)]


def _check(fleet: Fleet, existing: _Existing, problems: list[str]) -> None:
    for i, station in enumerate(fleet.stations, 1):
        if len(existing.stations.get(station.name, [])) > 1:
            problems.append(
                f'station {i} "{station.name}": {len(existing.stations[station.name])} stations in the database '
                "have this name, so the file cannot say which it means"
            )
    named = {s.name for s in fleet.stations}
    for unit in fleet.units:
        if unit.station is not None and unit.station not in named and len(existing.stations.get(unit.station, [])) != 1:
            problems.append(f'unit "{unit.call_sign}": unknown home station "{unit.station}" (not in the file)')


def _on_incident(row: tuple) -> str | None:
    """Why a unit must not be changed: on incident N, or busy (a status not free nor out of service)."""
    _, _, _, _, status, incident = row
    if incident is not None:
        return f"on incident {incident}"
    if status not in FREE_UNIT and status != OUT_OF_SERVICE:
        return f"busy ({status})"
    return None


def _write_stations(cur: psycopg.Cursor, fleet: Fleet, existing: _Existing, changes: Changes) -> dict[str, int]:
    ids = {name: rows[0][0] for name, rows in existing.stations.items() if len(rows) == 1}
    for station, municipality in zip(fleet.stations, _municipalities(cur, fleet.stations), strict=True):
        lon, lat = round(float(station.lon), 7), round(float(station.lat), 7)
        want = (station.kind.value, municipality, lon, lat)
        rows = existing.stations.get(station.name)
        if not rows:
            cur.execute(
                """INSERT INTO stations (name, kind, municipality, location)
                   VALUES (%s, %s, %s, %s::geography) RETURNING id""",
                (station.name, station.kind.value, municipality, _point(lon, lat)),
            )
            ids[station.name] = scalar(cur)
            changes.stations["created"] += 1
        elif tuple(rows[0][1:]) == want:
            changes.stations["unchanged"] += 1
        else:
            cur.execute(
                "UPDATE stations SET kind = %s, municipality = %s, location = %s::geography WHERE id = %s",
                (station.kind.value, municipality, _point(lon, lat), rows[0][0]),
            )
            changes.stations["updated"] += 1
    return ids


def _unit_plan(fleet: Fleet, existing: _Existing, ids: dict[str, int], problems: list[str]) -> list[tuple]:
    """(action, call sign, kind, capabilities, home station id, unit id) per unit of the file; a change to a unit
    at work is a problem, never a write."""
    plan = []
    for unit in fleet.units:
        want = (fleet.unit_kind(unit).value, fleet.capabilities(unit), ids.get(unit.station) if unit.station else None)
        row = existing.units.get(unit.call_sign)
        if row is None:
            plan.append(("created", unit.call_sign, *want, None))
        elif (row[1], list(row[2]), row[3]) == want:
            plan.append(("unchanged", unit.call_sign, *want, row[0]))
        elif why := _on_incident(row):
            problems.append(f'unit "{unit.call_sign}" is {why}: it is not changed under its crew; import again later')
        else:
            plan.append(("updated", unit.call_sign, *want, row[0]))
    return plan


def _write_units(cur: psycopg.Cursor, plan: list[tuple], changes: Changes) -> None:
    for action, call_sign, kind, capabilities, home, unit_id in plan:
        changes.units[action] += 1
        if action == "created":
            cur.execute(
                """INSERT INTO units (call_sign, kind, capabilities, home_station_id, status, position)
                   VALUES (%s, %s, %s, %s, 'available', (SELECT location FROM stations WHERE id = %s))""",
                (call_sign, kind, capabilities, home, home),
            )
        elif action == "updated":
            cur.execute(
                "UPDATE units SET kind = %s, capabilities = %s, home_station_id = %s WHERE id = %s",
                (kind, capabilities, home, unit_id),
            )


def _retire(cur: psycopg.Cursor, existing: _Existing, left_out: list[str], problems: list[str]) -> list[str]:
    retired = []
    for call_sign in left_out:
        row = existing.units[call_sign]
        if why := _on_incident(row):
            problems.append(
                f'unit "{call_sign}" is {why}: it is not retired under its crew; retire it when it is clear'
            )
        elif row[4] != OUT_OF_SERVICE:
            retired.append(call_sign)
    if not problems:
        cur.execute(
            f"UPDATE units SET status = '{OUT_OF_SERVICE}', status_changed_at = now() WHERE call_sign = ANY(%s)",
            (retired,),
        )
    return retired


def apply(cur: psycopg.Cursor, fleet: Fleet, *, retire: bool = False, source: str = "the fleet file") -> Changes:
    """Writes the fleet in the cursor's transaction after checking all of it against the database: stations upserted
    by name, units by call sign; units the file leaves out are kept (reported), or with `retire` set out of
    service. Raises FleetError, having written nothing it keeps (the caller's transaction rolls back)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (IMPORT_LOCK_KEY,))
    existing = _read(cur)
    problems: list[str] = []
    _outside(cur, fleet.stations, problems)
    _check(fleet, existing, problems)
    if problems:
        raise FleetError(problems, source)
    changes = Changes()
    ids = _write_stations(cur, fleet, existing, changes)
    plan = _unit_plan(fleet, existing, ids, problems)
    in_file = {u.call_sign for u in fleet.units}
    changes.not_in_file = [c for c in existing.units if c not in in_file]
    if retire:
        changes.retired = _retire(cur, existing, changes.not_in_file, problems)
    if problems:
        raise FleetError(problems, source)
    _write_units(cur, plan, changes)
    # The fleet is the centre's from now on: a map import applies it again (dispatch.setup), not the demo's. Kept
    # once per version of it: applied again unchanged (each demo start, each map import), nothing is added.
    text = dump(fleet)
    cur.execute("SELECT fleet FROM fleet_imports ORDER BY id DESC LIMIT 1")
    if (cur.fetchone() or (None,))[0] != text:
        cur.execute("INSERT INTO fleet_imports (source, fleet) VALUES (%s, %s)", (source, text))
    return changes


def latest(cur: psycopg.Cursor) -> tuple[str, Fleet] | None:
    """The fleet file imported last (its source and its fleet), if the centre ever imported one."""
    cur.execute("SELECT source, fleet FROM fleet_imports ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    return None if row is None else (row[0], parse(row[1], row[0]))


def export(cur: psycopg.Cursor) -> Fleet:
    """The database's stations and units, in the order they were made, as a fleet."""
    cur.execute("""SELECT id, name, kind::text, round(ST_X(location::geometry)::numeric, 7)::float8,
                          round(ST_Y(location::geometry)::numeric, 7)::float8, municipality
                   FROM stations ORDER BY id""")
    rows = cur.fetchall()
    shared = Counter(r[1] for r in rows)
    if clashes := sorted(n for n, k in shared.items() if k > 1):
        raise FleetError(
            [f'{shared[n]} stations are named "{n}": a fleet file names each station once' for n in clashes],
            "the database",
        )
    stations = [StationSpec(name=n, kind=k, lon=x, lat=y, municipality=m) for _, n, k, x, y, m in rows]
    cur.execute("""SELECT u.call_sign, u.kind::text, u.capabilities, s.name
                   FROM units u LEFT JOIN stations s ON s.id = u.home_station_id ORDER BY u.id""")
    units = [UnitSpec(call_sign=c, kind=k, capabilities=caps, station=s) for c, k, caps, s in cur.fetchall()]
    return Fleet(stations=stations, units=units, kinds=default_kinds())


def proposal(cur: psycopg.Cursor, table: dict | None = None) -> Fleet:
    """OpenStreetMap's stations, the standby posts and the units seed.toml would give them, as a fleet; nothing of it
    is written (a savepoint rolled back). Stations that share a name get their municipality or OSM id after it."""
    table = table or load_seed_table()
    cur.execute("SAVEPOINT fleet_proposal")
    try:
        create_standby_posts(cur)
        plan = plan_units(cur, table)
        cur.execute("""SELECT id, name, kind::text, round(ST_X(location::geometry)::numeric, 7)::float8,
                              round(ST_Y(location::geometry)::numeric, 7)::float8, municipality, osm_ref
                       FROM stations ORDER BY municipality NULLS LAST, name, osm_ref""")
        rows = cur.fetchall()
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT fleet_proposal")
    shared = Counter(r[1].casefold() for r in rows)
    names: dict[int, str] = {}
    for sid, name, _, _, _, municipality, osm_ref in rows:
        names[sid] = name if shared[name.casefold()] == 1 else f"{name} ({municipality or osm_ref or sid})"
    if len({n.casefold() for n in names.values()}) < len(names):
        names = {
            sid: f"{name} ({osm_ref or sid})" if shared[name.casefold()] > 1 else name
            for sid, name, *_, osm_ref in rows
        }
    stations = [StationSpec(name=names[r[0]], kind=r[2], lon=r[3], lat=r[4], municipality=r[5]) for r in rows]
    units = [UnitSpec(call_sign=c, kind=k, station=names[sid]) for c, k, _, sid in plan]
    return Fleet(stations=stations, units=units, kinds=default_kinds())
