"""The municipalities of a map, whatever the extract holds of its boundaries.

A country or region file holds its municipalities' boundaries complete; a clip of a city (a bounding box, the
extracts that libraries ship) cuts them, and libosmium cannot assemble a cut relation into an area. So:

1. complete administrative boundaries at the municipal level (8, else 7, 9 or 10: whichever holds the most
   addresses), where there are some;
2. for the part of the map they leave uncovered, the names its addresses give (`addr:city`), each owning the
   ground nearest to its addresses (Voronoi cells of its addresses, merged); without any, the
   `place=city|town|village|municipality` nodes, each owning the ground nearest to it;
3. without either, the whole map as one area, named after the file.

Each is cut to the map's extent: the concave hull of its roads and addresses, with a margin.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import shapely
from shapely import wkb
from shapely.geometry.base import BaseGeometry

MUNICIPAL_LEVELS = (8, 7, 9, 10)  # in order of preference on a tie
SETTLEMENT_KINDS = ("city", "town", "village", "municipality")
HULL_MARGIN_M = 300.0  # the map's extent reaches this far beyond its outermost road or address
MAX_POINTS = 60_000  # points a hull or a Voronoi diagram is built from at most (evenly sampled beyond)
UNCOVERED_SHARE = 0.1  # complete boundaries leaving more of the addresses outside are completed from the data
MIN_SHARE = 0.005  # an addr:city spelling used by fewer of the addresses is a slip, not a municipality
_NOT_A_NAME = re.compile(r"^[\d\W_]+$")


@dataclass
class Area:
    name: str
    osm_ref: str  # "r123" for a boundary, "addr:city:Name", "place:n123" or "map:Name" for the derived
    admin_level: int
    geom: BaseGeometry


@dataclass
class Municipalities:
    areas: list[Area]
    source: str  # "boundaries", "boundaries and addr:city", "addr:city", "place nodes", "the map's extent"
    extent: BaseGeometry  # the map's extent (lon/lat)


class _Local:
    """An equirectangular projection around the map's middle, in metres: enough for hulls, margins and nearest
    ground at the scale of a region."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = 111_320.0 * math.cos(math.radians(lat0))
        self.ky = 110_540.0

    def to_m(self, xy: np.ndarray) -> np.ndarray:
        return np.column_stack(((xy[:, 0] - self.lon0) * self.kx, (xy[:, 1] - self.lat0) * self.ky))

    def geom_to_m(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, lambda c: self.to_m(c))

    def geom_to_deg(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(
            geom, lambda c: np.column_stack((c[:, 0] / self.kx + self.lon0, c[:, 1] / self.ky + self.lat0))
        )


def _sample(xy: np.ndarray, limit: int = MAX_POINTS) -> np.ndarray:
    return xy if len(xy) <= limit else xy[np.linspace(0, len(xy) - 1, limit).astype(int)]


def extent(points_deg: np.ndarray) -> tuple[BaseGeometry, _Local]:
    """The map's extent: the concave hull of its points (roads, addresses) with a margin; and the projection."""
    lon0, lat0 = (float(v) for v in points_deg.mean(axis=0))
    local = _Local(lon0, lat0)
    pts = shapely.multipoints(local.to_m(_sample(points_deg)))
    hull = shapely.concave_hull(pts, ratio=0.2).buffer(HULL_MARGIN_M)
    return local.geom_to_deg(hull), local


def _level_choice(boundaries: list, addresses: np.ndarray) -> tuple[int | None, list]:
    """The municipal level whose complete boundaries hold the most addresses, and those boundaries."""
    best: tuple[int, int | None, list] = (0, None, [])
    for level in MUNICIPAL_LEVELS:
        shapes = [(b, wkb.loads(b.wkb_hex, hex=True)) for b in boundaries if b.admin_level == level]
        if not shapes:
            continue
        held = int(sum(shapely.contains_xy(s, addresses[:, 0], addresses[:, 1]).sum() for _, s in shapes))
        if held > best[0] or (best[1] is None and not len(addresses)):  # no addresses: the first level there is
            best = (held, level, shapes)
    return best[1], best[2]


def _nearest_ground(
    seeds: list[tuple[str, float, float]], ground: BaseGeometry, local: _Local
) -> dict[str, BaseGeometry]:
    """Each name's share of `ground` (lon/lat): the ground nearer to one of its seeds than to any other name's."""
    names = sorted({n for n, _, _ in seeds})
    if len(names) == 1:
        return {names[0]: ground}
    xy = local.to_m(np.array([(x, y) for _, x, y in seeds]))
    labels = np.array([n for n, _, _ in seeds], dtype=object)
    xy, first = np.unique(np.round(xy, 1), axis=0, return_index=True)  # one seed per spot: the first name there
    labels = labels[first]
    if len(xy) > MAX_POINTS:
        keep = np.linspace(0, len(xy) - 1, MAX_POINTS).astype(int)
        xy, labels = xy[keep], labels[keep]
    ground_m = local.geom_to_m(ground)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=ground_m))
    # voronoi_polygons does not keep the order of its points: each cell is matched to the seed inside it
    tree = shapely.STRtree(shapely.points(xy))
    cell_ix, seed_ix = tree.query(cells, predicate="contains")
    owner = np.full(len(cells), -1)
    owner[cell_ix] = seed_ix
    found: dict[str, BaseGeometry] = {}
    for name in names:
        mine = cells[np.isin(owner, np.flatnonzero(labels == name))]
        if len(mine):
            shape = shapely.intersection(shapely.coverage_union_all(mine), ground_m)
            if not shape.is_empty:
                found[name] = local.geom_to_deg(shape)
    return found


def _city_seeds(addresses: list, ground: BaseGeometry) -> list[tuple[str, float, float]]:
    """The addresses on `ground` naming a municipality, by a spelling enough of them use."""
    named = [a for a in addresses if a.city]
    on_ground = shapely.contains_xy(ground, [a.lon for a in named], [a.lat for a in named]) if named else []
    inside = [a for a, on in zip(named, on_ground, strict=True) if on]
    counts = Counter(a.city.strip() for a in inside)
    least = max(3, MIN_SHARE * len(inside))
    wanted = {n for n, c in counts.items() if c >= least and not _NOT_A_NAME.match(n)}
    return [(a.city.strip(), a.lon, a.lat) for a in inside if a.city.strip() in wanted]


def municipalities(data, fallback_name: str) -> Municipalities:
    """The map's municipalities (see the module's note). `fallback_name` names the whole map when nothing in it
    names a municipality."""
    addr_xy = np.array([(a.lon, a.lat) for a in data.addresses], dtype=float).reshape(-1, 2)
    road_xy = np.array([c for way in data.road_ways for c in way.coords], dtype=float).reshape(-1, 2)
    map_extent, local = extent(np.vstack((_sample(road_xy), _sample(addr_xy))))

    level, shapes = _level_choice(data.boundaries, addr_xy)
    areas = [Area(b.name, b.osm_ref, b.admin_level, s) for b, s in shapes]
    covered = shapely.union_all([s for _, s in shapes]) if shapes else shapely.Polygon()
    if areas:
        held = shapely.contains_xy(covered, addr_xy[:, 0], addr_xy[:, 1]).sum() if len(addr_xy) else 0
        if held >= (1 - UNCOVERED_SHARE) * len(addr_xy):  # the few beyond are across a border: kept by addr:city
            return Municipalities(areas, "boundaries", map_extent)
    ground = map_extent.difference(covered) if areas else map_extent

    seeds, source = _city_seeds(data.addresses, ground), "addr:city"
    ref = "addr:city:"
    if not seeds:
        seeds = [
            (p.name, p.lon, p.lat)
            for p in data.places
            if p.category == "place" and p.kind in SETTLEMENT_KINDS and shapely.contains_xy(ground, p.lon, p.lat)
        ]
        source, ref = "place nodes", "place:"
    if not seeds:
        if areas:
            return Municipalities(areas, "boundaries", map_extent)
        return Municipalities(
            [Area(fallback_name, f"map:{fallback_name}", 8, map_extent)], "the map's extent", map_extent
        )
    by_name = {a.name: a for a in areas}
    for name, shape in _nearest_ground(seeds, ground, local).items():
        if name in by_name:  # addresses across the boundary of a municipality of the same name: one municipality
            by_name[name].geom = shapely.union(by_name[name].geom, shape)
        else:
            by_name[name] = Area(name, ref + name, level or 8, shape)
    return Municipalities(list(by_name.values()), f"boundaries and {source}" if areas else source, map_extent)


class AreaFileError(ValueError):
    """A service area file that is not a GeoJSON polygon."""


def read_area_file(path: Path | str) -> Area:
    """A centre's own service area: a GeoJSON Polygon or MultiPolygon (bare, a Feature, or a FeatureCollection
    whose polygons are merged), in WGS 84 longitude/latitude; its name from the properties' `name`, else the
    file's."""
    path = Path(path)
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise AreaFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise AreaFileError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise AreaFileError(f"{path}: not a GeoJSON object")
    features = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(features, list) or not features:
        raise AreaFileError(f"{path}: a FeatureCollection without features")
    shapes, name = [], None
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise AreaFileError(f"{path}: feature {i + 1} is not an object")
        geometry = feature.get("geometry") if feature.get("type") == "Feature" else feature
        props = feature.get("properties")
        if name is None and isinstance(props, dict) and isinstance(props.get("name"), str):
            name = props["name"]
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            raise AreaFileError(f"{path}: feature {i + 1} is not a Polygon or MultiPolygon")
        try:
            shape = shapely.geometry.shape(geometry)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise AreaFileError(f"{path}: feature {i + 1}: not a valid polygon ({exc})") from None
        lon_min, lat_min, lon_max, lat_max = shape.bounds
        if shape.is_empty or not (-180 <= lon_min <= lon_max <= 180 and -90 <= lat_min <= lat_max <= 90):
            raise AreaFileError(f"{path}: feature {i + 1} is empty or not in longitude/latitude (WGS 84)")
        shapes.append(shapely.make_valid(shape))
    merged = shapely.union_all(shapes)
    if merged.area == 0:
        raise AreaFileError(f"{path}: the polygons enclose no area")
    return Area(name or path.name.split(".")[0], f"file:{path.name}", 2, merged)
