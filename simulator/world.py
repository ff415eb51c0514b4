"""What a headless simulation runs on: the imported map's addresses and stations, the fleet, the incident types
and the road network. Read once from PostgreSQL; the simulation itself touches no database."""

from dataclasses import dataclass

import numpy as np
import psycopg

from dispatch.incidents.types import IncidentType, IncidentTypes, incident_types
from geo.routing import Router


@dataclass(frozen=True)
class Station:
    id: int
    kind: str
    name: str
    area: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class FleetUnit:
    id: int
    call_sign: str
    kind: str
    capabilities: frozenset[str]
    home: tuple[float, float]
    area: str | None  # its station's municipality


@dataclass
class World:
    addresses: np.ndarray  # (n, 2) lat, lon of the addresses calls can come from (each within reach of a road)
    address_area: list[str | None]
    address_text: list[str | None]  # as a caller says it ("Städtle 20, Vaduz"); None where it has no street
    stations: list[Station]
    units: list[FleetUnit]
    types: IncidentTypes
    type_codes: frozenset[str] | None = None  # only these types are simulated (all with a share, if None)

    @property
    def hospitals(self) -> list[Station]:
        return [s for s in self.stations if s.kind == "hospital"]

    def simulated_types(self) -> list[IncidentType]:
        """The types calls are drawn from: those with a response plan and a share of the calls."""
        return [
            t for t in self.types if t.plan and t.share > 0 and (self.type_codes is None or t.code in self.type_codes)
        ]

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for unit in self.units:
            counts[unit.kind] = counts.get(unit.kind, 0) + 1
        return counts


class WorldError(RuntimeError):
    """The database does not hold what a simulation needs (no map imported, no fleet)."""


def load_world(libpq_url: str, router: Router, types: IncidentTypes | None = None) -> World:
    """The world of the database's current map. Raises WorldError when there is no map or no fleet."""
    with psycopg.connect(libpq_url) as conn:
        addresses = conn.execute("""
            SELECT ST_Y(location::geometry), ST_X(location::geometry), municipality,
                   CASE WHEN street IS NOT NULL AND municipality IS NOT NULL
                        THEN street || ' ' || housenumber || ', ' || municipality END
            FROM addresses ORDER BY id
        """).fetchall()
        stations = conn.execute("""
            SELECT id, kind::text, name, municipality, ST_Y(location::geometry), ST_X(location::geometry)
            FROM stations ORDER BY id""").fetchall()
        units = conn.execute("""
            SELECT u.id, u.call_sign, u.kind, u.capabilities, ST_Y(s.location::geometry), ST_X(s.location::geometry),
                   s.municipality
            FROM units u JOIN stations s ON s.id = u.home_station_id ORDER BY u.id""").fetchall()
    if not addresses:
        raise WorldError("the database has no addresses: import a map first (`dispatch load-map`)")
    if not units:
        raise WorldError("the database has no units: import a map first (`dispatch load-map` seeds the fleet)")
    points = np.array([(a[0], a[1]) for a in addresses], dtype=float)
    # Calls come only from addresses a unit can drive to; the few beyond reach of any road are left out.
    reachable = router.snapper.snap(points).ok
    world = World(
        addresses=points[reachable],
        address_area=[a[2] for a, ok in zip(addresses, reachable, strict=True) if ok],
        address_text=[a[3] for a, ok in zip(addresses, reachable, strict=True) if ok],
        stations=[Station(*s) for s in stations],
        units=[FleetUnit(u[0], u[1], u[2], frozenset(u[3] or ()), (u[4], u[5]), u[6]) for u in units],
        types=types or incident_types(),
    )
    if not world.hospitals:
        raise WorldError("the map has no hospital: patients could not be transported")
    return world
