"""Seeds the demo fleet at the imported stations, from seed.toml; idempotent by call sign."""

import random
import tomllib
from collections import defaultdict
from pathlib import Path

import psycopg

SEED_FILE = Path(__file__).with_name("seed.toml")


def load_seed_table(path: Path = SEED_FILE) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def create_standby_posts(cur: psycopg.Cursor) -> None:
    cur.execute("""
        INSERT INTO stations (osm_ref, kind, name, municipality, location)
        SELECT 'standby:' || m.name, 'standby', 'Standby post ' || m.name, m.name,
               coalesce((SELECT a.location FROM addresses a WHERE a.municipality = m.name
                         ORDER BY a.location::geometry <-> (SELECT ST_Centroid(ST_Collect(b.location::geometry))
                                                           FROM addresses b WHERE b.municipality = m.name)
                         LIMIT 1),
                        ST_PointOnSurface(m.geom)::geography)
        FROM municipalities m
        WHERE NOT EXISTS (SELECT 1 FROM stations s WHERE s.kind = 'police' AND s.municipality = m.name)
        ON CONFLICT (osm_ref) DO UPDATE SET location = excluded.location""")


def plan_units(cur: psycopg.Cursor, table: dict) -> list[tuple[str, str, list[str], int]]:
    """The fleet seed.toml gives the stations in the database: (call sign, kind, capabilities, station id) each."""
    cur.execute("SELECT id, kind::text, municipality FROM stations ORDER BY municipality NULLS LAST, name, osm_ref")
    plan: list[tuple[str, int]] = []  # (unit kind, station id) in call-sign order
    main = table["main_fire_station"]
    stations = cur.fetchall()
    # The special units' station: the fire station in the municipality seed.toml names, else (another region's
    # map) the first fire station of the municipality with the most addresses.
    fire = [(sid, m) for sid, kind, m in stations if kind == "fire"]
    main_ids = {sid for sid, m in fire if m == main["municipality"]}
    if not main_ids and fire:
        cur.execute("SELECT municipality, count(*) FROM addresses GROUP BY 1 ORDER BY 2 DESC, 1")
        rank = {m: i for i, (m, _) in enumerate(cur.fetchall())}
        main_ids = {min(fire, key=lambda f: rank.get(f[1], len(rank)))[0]}
    for station_id, kind, _ in stations:
        kinds = list(table["stations"].get(kind, []))
        if station_id in main_ids:
            kinds += main["units"]
        if kind == "standby":
            kinds += table["standby_patrols"]["units"]
        plan += [(k, station_id) for k in kinds]
    numbers: dict[str, int] = defaultdict(int)
    rows = []
    for unit_kind, station_id in plan:
        spec = table["kinds"][unit_kind]
        numbers[unit_kind] += 1
        rows.append((f"{spec['call_sign']} {numbers[unit_kind]}", unit_kind, list(spec["capabilities"]), station_id))
    return rows


def seed_units(cur: psycopg.Cursor, table: dict | None = None) -> int:
    """Creates the fleet's units where their call sign does not exist yet; returns how many it created."""
    table = table or load_seed_table()
    create_standby_posts(cur)
    created = 0
    for row in plan_units(cur, table):
        cur.execute(
            """
            INSERT INTO units (call_sign, kind, capabilities, home_station_id, status, position)
            SELECT %s, %s, %s, s.id, 'available', s.location FROM stations s WHERE s.id = %s
            ON CONFLICT (call_sign) DO NOTHING""",
            row,
        )
        created += cur.rowcount
    return created


def seed_after_import(cur: psycopg.Cursor) -> dict[str, int]:
    """The service's step after a map import, in its transaction (geo.osm.importer's `then`): the fleet at the
    imported stations; the import's summary counts the units."""
    seed_units(cur)
    cur.execute("SELECT count(*) FROM units")
    return {"units": cur.fetchone()[0]}


# A large synthetic fleet for load tests: the demo fleet's mix of kinds, spread over the map's addresses.
FLEET_MIX = (("patrol", 0.4), ("ambulance", 0.3), ("engine", 0.2), ("ladder", 0.04), ("rescue", 0.03), ("tanker", 0.03))


def seed_fleet(cur: psycopg.Cursor, n: int, seed: int, table: dict | None = None) -> int:
    """Adds `n` units named "Bench <kind> <i>", each at a random address (from `seed`), homed at the nearest
    station of the kind it belongs to. Returns how many it created (existing call signs are kept)."""
    table = table or load_seed_table()
    rng = random.Random(seed)
    cur.execute("SELECT id FROM addresses ORDER BY id")
    addresses = [r[0] for r in cur.fetchall()]
    if not addresses:
        raise ValueError("the map has no addresses to place units at: import a map first")
    kinds = [k for k, _ in FLEET_MIX]
    weights = [w for _, w in FLEET_MIX]
    rows = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        rows.append((f"Bench {kind} {i + 1}", kind, table["kinds"][kind]["capabilities"], rng.choice(addresses)))
    created = 0
    for call_sign, kind, capabilities, address_id in rows:
        cur.execute(
            """
            INSERT INTO units (call_sign, kind, capabilities, home_station_id, status, position)
            SELECT %s, %s, %s,
                   (SELECT s.id FROM stations s ORDER BY s.location <-> a.location LIMIT 1), 'available', a.location
            FROM addresses a WHERE a.id = %s
            ON CONFLICT (call_sign) DO NOTHING""",
            (call_sign, kind, capabilities, address_id),
        )
        created += cur.rowcount
    return created
