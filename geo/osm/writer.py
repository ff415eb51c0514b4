"""Writes what the reader collected into PostgreSQL/PostGIS, inside the caller's transaction.

Map tables are replaced wholesale; stations are upserted by their OSM reference so that units,
users and incident history that point at them survive a re-import.
"""

import orjson
import psycopg
import shapely

from geo.osm.areas import Area, Municipalities
from geo.osm.reader import MapData, MapReadError
from geo.osm.roads import RoadGraph

MAP_TABLES = ("road_edges", "road_nodes", "streets", "places", "addresses", "municipalities", "service_area")
SERVICE_AREA_LEVELS = range(2, 7)  # a country, a state, a district: what a dispatch centre answers for


def _pt(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon:.7f} {lat:.7f})"


def _line(coords) -> str:
    return "SRID=4326;LINESTRING(" + ",".join(f"{x:.7f} {y:.7f}" for x, y in coords) + ")"


def _copy(cur: psycopg.Cursor, sql: str, rows) -> int:
    n = 0
    with cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def clear_map(cur: psycopg.Cursor) -> None:
    cur.execute(f"TRUNCATE {', '.join(MAP_TABLES)} RESTART IDENTITY")


def write_municipalities(cur: psycopg.Cursor, found: Municipalities) -> int:
    """The municipalities geo.osm.areas found: complete boundaries, else areas read from the data."""
    rows = [(a.name, a.osm_ref, a.admin_level, shapely.to_wkb(a.geom, hex=True)) for a in found.areas]
    cur.executemany(
        "INSERT INTO municipalities (name, osm_ref, admin_level, geom) "
        "VALUES (%s, %s, %s, ST_Multi(ST_CollectionExtract(ST_MakeValid("
        "ST_SetSRID(ST_GeomFromWKB(decode(%s, 'hex')), 4326)), 3))) "
        "ON CONFLICT (name) DO NOTHING",
        rows,
    )
    return len(rows)


def write_service_area(cur: psycopg.Cursor, data: MapData, given: Area | None = None) -> None:
    """The service area, and which municipalities lie in it (their point on surface).

    The area is the complete boundary of admin_level 2 to 6 holding the most of the map's addresses, if it holds
    more than half of them (an extract is cut around its region: the neighbours' boundaries come incomplete, or
    hold the few addresses across the border); on a tie the larger level. Else the union of the municipalities.
    Runs after the addresses are written. A centre's own area (`given`, DISPATCH_SERVICE_AREA) takes the place of
    all that."""
    if given is not None:
        cur.execute(
            "INSERT INTO service_area (name, osm_ref, admin_level, geom) VALUES (%s, %s, %s, "
            "ST_Multi(ST_CollectionExtract(ST_SetSRID(ST_GeomFromWKB(decode(%s, 'hex')), 4326), 3)))",
            (given.name, given.osm_ref, given.admin_level, shapely.to_wkb(given.geom, hex=True)),
        )
        cur.execute("""
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM service_area s WHERE ST_Intersects(s.geom, a.location::geometry)))
            FROM addresses a""")
        addresses, inside = cur.fetchone() or (0, 0)
        if addresses and not inside:  # the transaction rolls back: nothing of the import is written
            raise MapReadError(
                f"the service area {given.name!r} holds none of the map's {addresses:,} addresses: is it this map's "
                "region, its coordinates longitude first, then latitude (GeoJSON's order)?"
            )
    else:
        _propose_service_area(cur, data)
    cur.execute("""
        UPDATE municipalities m SET in_service_area = coalesce(
            (SELECT ST_Intersects(s.geom, ST_PointOnSurface(m.geom)) FROM service_area s), true)""")


def _propose_service_area(cur: psycopg.Cursor, data: MapData) -> None:
    cur.execute(
        "CREATE TEMP TABLE area_candidates (osm_ref text, name text, admin_level int, geom geometry) ON COMMIT DROP"
    )
    cur.executemany(
        "INSERT INTO area_candidates VALUES (%s, %s, %s, ST_SetSRID(ST_GeomFromWKB(decode(%s, 'hex')), 4326))",
        [
            (b.osm_ref, b.name, b.admin_level, b.wkb_hex)
            for b in data.boundaries
            if b.admin_level in SERVICE_AREA_LEVELS
        ],
    )
    cur.execute("""
        INSERT INTO service_area (name, osm_ref, admin_level, geom)
        SELECT c.name, c.osm_ref, c.admin_level, ST_Multi(c.geom)
        FROM area_candidates c
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM addresses a WHERE ST_Intersects(c.geom, a.location::geometry)) k
        WHERE k.n * 2 > (SELECT count(*) FROM addresses)
        ORDER BY k.n DESC, c.admin_level, c.name LIMIT 1""")
    if not cur.rowcount:  # one municipality's name, when it is the whole area (a city's extract)
        cur.execute("""
            INSERT INTO service_area (name, geom)
            SELECT CASE WHEN count(*) = 1 THEN min(name) ELSE 'the municipalities' END, ST_Multi(ST_Union(geom))
            FROM municipalities HAVING count(*) > 0""")


def service_area_summary(cur: psycopg.Cursor) -> dict:
    """The service area's name (None without one), and the municipalities in it and outside, by name."""
    cur.execute("SELECT name FROM service_area")
    row = cur.fetchone()
    cur.execute("SELECT name, in_service_area FROM municipalities ORDER BY name")
    rows = cur.fetchall()
    return {
        "name": row[0] if row else None,
        "inside": [name for name, inside in rows if inside],
        "outside": [name for name, inside in rows if not inside],
    }


def write_addresses(cur: psycopg.Cursor, data: MapData) -> int:
    n = _copy(
        cur,
        "COPY addresses (osm_ref, source, street, place, housenumber, postcode, municipality, location) FROM STDIN",
        (
            (a.osm_ref, a.source, a.street, a.place, a.housenumber, a.postcode, a.city, _pt(a.lon, a.lat))
            for a in data.addresses
        ),
    )
    # The municipality is where the point lies; addr:city only where no boundary covers it.
    cur.execute("""
        UPDATE addresses a SET municipality = m.name
        FROM municipalities m WHERE ST_Intersects(m.geom, a.location::geometry)""")
    return n


def write_places(cur: psycopg.Cursor, data: MapData) -> int:
    seen: set[str] = set()
    rows = []
    for p in data.places:
        if p.osm_ref not in seen:  # a closed way can reach us both as a way and as an area
            seen.add(p.osm_ref)
            rows.append((p.osm_ref, p.name, p.category, p.kind, orjson.dumps(p.tags).decode(), _pt(p.lon, p.lat)))
    n = _copy(cur, "COPY places (osm_ref, name, category, kind, tags, location) FROM STDIN", rows)
    cur.execute("""
        UPDATE places p SET municipality = m.name
        FROM municipalities m WHERE ST_Intersects(m.geom, p.location::geometry)""")
    return n


def write_streets(cur: psycopg.Cursor, data: MapData) -> int:
    """Named ways merged into one street per name and municipality (the one holding each way's middle)."""
    cur.execute(
        "CREATE TEMP TABLE named_ways (name text, highway text, geom geometry(LineString, 4326), alt_names text[]) "
        "ON COMMIT DROP"
    )
    _copy(
        cur,
        "COPY named_ways (name, highway, geom, alt_names) FROM STDIN",
        ((name, highway, "SRID=4326;" + wkt, alts) for name, highway, wkt, alts in data.named_ways),
    )
    cur.execute("""
        INSERT INTO streets (name, municipality, highway, length_m, geom)
        SELECT w.name, m.name,
               (array_agg(w.highway ORDER BY array_position(ARRAY['motorway','trunk','primary','secondary',
                 'tertiary','unclassified','residential','living_street','service','pedestrian'],
                 w.highway) NULLS LAST))[1],
               sum(ST_Length(w.geom::geography)),
               ST_Multi(ST_LineMerge(ST_Collect(w.geom)))::geography
        FROM named_ways w
        LEFT JOIN municipalities m ON ST_Intersects(m.geom, ST_LineInterpolatePoint(w.geom, 0.5))
        GROUP BY w.name, m.name""")
    written = cur.rowcount
    cur.execute("""
        UPDATE streets s SET alt_names = o.alt_names
        FROM (SELECT w.name, m.name AS municipality, array_agg(DISTINCT a ORDER BY a) AS alt_names
              FROM named_ways w CROSS JOIN unnest(w.alt_names) a
              LEFT JOIN municipalities m ON ST_Intersects(m.geom, ST_LineInterpolatePoint(w.geom, 0.5))
              GROUP BY w.name, m.name) o
        WHERE s.name = o.name AND s.municipality IS NOT DISTINCT FROM o.municipality""")
    return written


def write_road_graph(cur: psycopg.Cursor, graph: RoadGraph) -> tuple[int, int]:
    nodes = _copy(
        cur,
        "COPY road_nodes (id, osm_node_id, geom) FROM STDIN",
        ((i, ref, _pt(*xy)) for i, (ref, xy) in enumerate(zip(graph.node_osm_ids, graph.node_coords, strict=True))),
    )
    edges = _copy(
        cur,
        "COPY road_edges (id, source, target, osm_way_id, highway, name, length_m, speed_kph, "
        "travel_s, geom) FROM STDIN",
        (
            (i, a, b, way, hw, name, length, speed, travel, _line(coords))
            for i, (a, b, way, hw, name, length, speed, travel, coords) in enumerate(graph.edges)
        ),
    )
    return nodes, edges


def write_stations(cur: psycopg.Cursor, data: MapData) -> int:
    cur.executemany(
        """INSERT INTO stations (osm_ref, kind, name, location)
           VALUES (%s, %s, coalesce(%s, ''), %s::geography)
           ON CONFLICT (osm_ref) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                                                location = excluded.location""",
        [(s.osm_ref, s.kind, s.name, _pt(s.lon, s.lat)) for s in data.stations],
    )
    cur.execute("""
        UPDATE stations s SET municipality = m.name
        FROM municipalities m WHERE ST_Intersects(m.geom, s.location::geometry)""")
    # A station without a name in the map is named by what it is and where.
    cur.execute("""
        UPDATE stations SET name = initcap(kind::text) || ' station ' || coalesce(municipality, osm_ref)
        WHERE name = ''""")
    return len(data.stations)
