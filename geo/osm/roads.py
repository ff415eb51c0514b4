"""Which OSM ways an emergency vehicle can drive, how fast, in which direction, and the graph they make."""

import re
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

# Speeds by road class (km/h) where a way has no usable maxspeed: typical for Liechtenstein and its
# neighbours (50 in built-up areas, 80 outside), lower on minor roads where parked cars and bends slow you.
CLASS_SPEED_KPH = {
    "motorway": 110,
    "motorway_link": 60,
    "trunk": 80,
    "trunk_link": 50,
    "primary": 70,
    "primary_link": 45,
    "secondary": 60,
    "secondary_link": 40,
    "tertiary": 50,
    "tertiary_link": 35,
    "unclassified": 40,
    "road": 30,
    "residential": 30,
    "living_street": 10,
    "service": 20,
    "pedestrian": 10,
}
# Implicit maxspeed values used in the region (country:zone).
ZONE_SPEED_KPH = {"urban": 50, "rural": 80, "motorway": 120, "trunk": 100, "living_street": 20, "zone30": 30}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?\s*$")


@dataclass
class RoadWay:
    way_id: int
    highway: str
    name: str | None
    node_ids: list[int]
    coords: list[tuple[float, float]]
    oneway: int  # 1 forward only, -1 backward only, 0 both ways
    speed_kph: float


def is_drivable(tags) -> bool:
    """A motor road, unless it is closed to motor vehicles and not opened to emergency services.

    Private and destination-only roads stay in: emergency vehicles may use them. Pedestrian zones
    stay in too (fire brigades reach the old town through them), at walking-pace speeds.
    """
    if tags.get("highway") not in CLASS_SPEED_KPH or tags.get("area") == "yes":
        return False
    if tags.get("emergency") in ("yes", "designated"):
        return True
    closed = ("no",)
    return tags.get("motor_vehicle", tags.get("vehicle", tags.get("access", "yes"))) not in closed


def oneway_direction(tags) -> int:
    value = tags.get("oneway", "")
    if value in ("yes", "true", "1"):
        return 1
    if value == "-1":
        return -1
    if value in ("no", "false", "0", "reversible", "alternating"):
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def speed_kph(tags) -> float:
    raw = tags.get("maxspeed", "")
    match = _NUMBER.match(raw)
    if match:
        value = float(match.group(1)) * (1.609 if match.group(2) == "mph" else 1.0)
        if value > 0:
            return value
    if ":" in raw:
        zone = ZONE_SPEED_KPH.get(raw.split(":", 1)[1])
        if zone:
            return float(zone)
    if raw == "walk":
        return 7.0
    return float(CLASS_SPEED_KPH[tags["highway"]])


def haversine_m(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


@dataclass
class RoadGraph:
    node_osm_ids: list[int]  # dense id -> OSM node id
    node_coords: list[tuple[float, float]]
    # one row per directed edge: (source, target, way id, highway, name, length m, speed, travel s, coords)
    edges: list[tuple]
    component: np.ndarray  # per node: 0 for the largest strongly connected component, else 1

    @property
    def largest_component_size(self) -> int:
        return int((self.component == 0).sum())


def build_graph(ways: list[RoadWay]) -> RoadGraph:
    """Split ways at junctions and ends; each piece becomes one edge per allowed direction."""
    uses: dict[int, int] = {}
    for way in ways:
        for i, ref in enumerate(way.node_ids):
            # Ends always split; inner nodes split where another way (or this one again) passes.
            uses[ref] = uses.get(ref, 0) + (2 if i in (0, len(way.node_ids) - 1) else 1)
    dense: dict[int, int] = {}
    coords: list[tuple[float, float]] = []

    def node_index(ref: int, xy: tuple[float, float]) -> int:
        idx = dense.get(ref)
        if idx is None:
            idx = dense[ref] = len(coords)
            coords.append(xy)
        return idx

    edges: list[tuple] = []
    for way in ways:
        start = 0
        for i in range(1, len(way.node_ids)):
            if uses[way.node_ids[i]] < 2 and i != len(way.node_ids) - 1:
                continue
            piece = way.coords[start : i + 1]
            arr = np.asarray(piece)
            length = float(haversine_m(arr[:-1, 0], arr[:-1, 1], arr[1:, 0], arr[1:, 1]).sum())
            a = node_index(way.node_ids[start], piece[0])
            b = node_index(way.node_ids[i], piece[-1])
            start = i
            if a == b and length < 1.0:
                continue
            travel = length / (way.speed_kph / 3.6)
            row = (way.way_id, way.highway, way.name, length, way.speed_kph, travel)
            if way.oneway >= 0:
                edges.append((a, b, *row, piece))
            if way.oneway <= 0:
                edges.append((b, a, *row, piece[::-1]))
    n = len(coords)
    component = np.ones(n, dtype=np.int8)
    if edges:
        src = np.fromiter((e[0] for e in edges), dtype=np.int64, count=len(edges))
        dst = np.fromiter((e[1] for e in edges), dtype=np.int64, count=len(edges))
        matrix = csr_matrix((np.ones(len(edges)), (src, dst)), shape=(n, n))
        _, labels = connected_components(matrix, directed=True, connection="strong")
        largest = np.bincount(labels).argmax()
        component[labels == largest] = 0
    osm_ids = [0] * n
    for ref, idx in dense.items():
        osm_ids[idx] = ref
    return RoadGraph(osm_ids, coords, edges, component)
