"""The geocoder's in-memory index, built from the imported map in PostgreSQL.

Geometry is kept in a local metric projection (metres east/north of the map's centre) so that distances,
intersections and interpolation are plain planar shapely operations; results are projected back.
"""

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

from geo.geocoder.normalize import expand_numbers, fold, name_key, range_interior, words

EARTH_M_PER_DEG_LAT = 110_574.0
# Settlements that callers give instead of their municipality ("Malbun" for Triesenberg). Field names
# (place=locality) are left out: too many of them are also words of street names.
LOCALITY_KINDS = ("village", "hamlet", "suburb", "town", "city")
# An address that names no street (no addr:street, no addr:place) lies on the nearest named road this close:
# its entrance is on that road in all but a few cases, and a crew needs a street to drive to.
NEAREST_STREET_M = 40.0
# Farther than that, the road is only named in its reverse label ("11 near Dorfstrasse, Planken").
NEAR_LABEL_M = 200.0
# Without boundaries, the share of the addresses naming one town (addr:city) that makes the map that town's.
ONE_TOWN_SHARE = 0.9


@dataclass
class Projection:
    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return 111_320.0 * math.cos(math.radians(self.lat0))

    def to_xy(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * EARTH_M_PER_DEG_LAT

    def point_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """One point, in plain floats: to_xy without numpy's cost for a scalar (a position fix, thousands a
        second)."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * EARTH_M_PER_DEG_LAT

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self.lon0 + x / self.kx, self.lat0 + y / EARTH_M_PER_DEG_LAT

    def geometry(self, geoms):
        return shapely.transform(geoms, lambda c: np.column_stack(self.to_xy(c[:, 0], c[:, 1])))


@dataclass
class StreetEntity:
    """A named street (or addr:place) in one municipality, with its house numbers."""

    id: int
    name: str
    key: str
    municipality: str | None
    line: BaseGeometry | None = None
    numbers: dict[str, tuple[float, float]] = field(default_factory=dict)
    postcodes: set[str] = field(default_factory=set)
    alt_names: tuple[str, ...] = ()  # its other names (name:sv, name:fi, alt_name...), found as it is

    @property
    def length_m(self) -> float:
        return self.line.length if self.line is not None else 0.0

    def anchor(self) -> tuple[float, float]:
        """A point on the street: the one nearest its middle (or the middle of its addresses)."""
        if self.line is not None:
            p = self.line.interpolate(self.line.project(self.line.centroid))
            return p.x, p.y
        xs, ys = zip(*self.numbers.values(), strict=True)
        return float(np.mean(xs)), float(np.mean(ys))


@dataclass
class PlaceEntity:
    id: int
    name: str
    key: str
    spaced: str  # folded words with spaces, for token-set matching
    kind: str
    category: str
    municipality: str | None
    x: float
    y: float


@dataclass
class GeocoderIndex:
    projection: Projection
    streets: list[StreetEntity]
    street_keys: list[str]  # distinct keys, parallel to street_groups
    street_groups: list[list[int]]
    street_raw_keys: list[str]  # each street's key without transliteration, parallel to street_raw_groups
    street_raw_groups: list[int]  # the group of street_keys it belongs to
    places: list[PlaceEntity]
    place_keys: list[str]
    place_spaced: list[str]
    place_vocab: list[str]  # every word of a place name once, for word-level partial matching
    vocab_places: list[set[int]]  # parallel: the places whose name has that word
    municipalities: dict[str, str]  # key -> name, for municipalities and localities in them
    municipality_names: set[str]
    municipality_shapes: dict[str, BaseGeometry]
    postcodes: dict[str, set[str]]  # postcode -> municipalities where it is used
    service_area: BaseGeometry
    address_points: np.ndarray  # shapely points in metres, for reverse geocoding
    address_labels: list[tuple[str, str | None]]  # (label, municipality)
    address_tree: shapely.STRtree
    street_tree: shapely.STRtree
    street_tree_ids: list[int]
    map_id: int | None
    build_s: float = 0.0

    def __post_init__(self) -> None:
        self._service_area = prep(self.service_area)

    def in_service_area(self, x: float, y: float) -> bool:
        return self._service_area.contains(shapely.Point(x, y))


def _rows(conn: psycopg.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def build_index(libpq_url: str) -> GeocoderIndex:
    started = time.perf_counter()
    with psycopg.connect(libpq_url, connect_timeout=5) as conn:
        map_id = conn.execute("SELECT max(id) FROM map_imports").fetchone()[0]
        munis = _rows(conn, "SELECT name, ST_AsBinary(geom) FROM municipalities ORDER BY name")
        area = _rows(conn, "SELECT ST_AsBinary(ST_Union(geom)) FROM service_area")[0][0]
        streets = _rows(
            conn, "SELECT name, municipality, ST_AsBinary(geom::geometry), alt_names FROM streets ORDER BY id"
        )
        addresses = _rows(
            conn,
            """SELECT coalesce(street, place), housenumber, postcode, municipality,
                                          ST_X(location::geometry), ST_Y(location::geometry)
                                   FROM addresses ORDER BY id""",
        )
        places = _rows(
            conn,
            """SELECT name, kind, category, municipality, ST_X(location::geometry),
                                       ST_Y(location::geometry), tags FROM places ORDER BY id""",
        )
    if not streets:
        raise LookupError("the map is not imported: run `dispatch load-map`")
    if not munis:  # a map without municipality boundaries: the town its addresses name stands for them
        streets, addresses, places = _one_town(streets, addresses, places)

    muni_geoms = shapely.from_wkb([m[1] for m in munis])
    street_geoms = shapely.from_wkb([s[2] for s in streets])
    c = shapely.union_all(muni_geoms if munis else street_geoms).centroid
    proj = Projection(c.x, c.y)
    muni_shapes = dict(zip([m[0] for m in munis], proj.geometry(muni_geoms), strict=True))

    entities: list[StreetEntity] = []
    by_name: dict[tuple[str, str | None], StreetEntity] = {}
    lines = proj.geometry(street_geoms)
    for (name, municipality, _, alt_names), line in zip(streets, lines, strict=True):
        entity = StreetEntity(len(entities), name, name_key(name), municipality, line, alt_names=tuple(alt_names))
        entities.append(entity)
        by_name[(entity.key, municipality)] = entity
        by_name[(name, municipality)] = entity  # "Bodastrasse" and "Bödastrasse" can be two streets of one village

    ax, ay = proj.to_xy([a[4] for a in addresses], [a[5] for a in addresses])
    labels, postcodes = _add_addresses(addresses, ax, ay, entities, by_name)

    groups, raw_groups = _street_groups(entities)

    muni_keys = {name_key(name): name for name in muni_shapes or {s[1] for s in streets if s[1]}}
    place_entities: list[PlaceEntity] = []
    px, py = proj.to_xy([p[4] for p in places], [p[5] for p in places])
    for (name, kind, category, municipality, _, _, tags), x, y in zip(places, px, py, strict=True):
        names = [name] + [tags[k] for k in ("alt_name", "short_name", "official_name", "old_name") if tags.get(k)]
        for alias in names:
            ws = words(alias)
            place_entities.append(
                PlaceEntity(
                    len(place_entities),
                    name,
                    "".join(ws),
                    " ".join(ws),
                    kind,
                    category,
                    municipality,
                    float(x),
                    float(y),
                )
            )
        if category == "place" and kind in LOCALITY_KINDS and municipality:
            for alias in [name, *_aliases(v for k, v in tags.items() if k.startswith("name:"))]:  # "Helsingfors"
                muni_keys.setdefault(name_key(alias), municipality)

    vocab: dict[str, set[int]] = defaultdict(set)
    for place in place_entities:
        for word in place.spaced.split():
            vocab[word].add(place.id)
    street_lines = [e for e in entities if e.line is not None]
    points = shapely.points(np.column_stack([ax, ay]))
    index = GeocoderIndex(
        projection=proj,
        streets=entities,
        street_keys=list(groups),
        street_groups=list(groups.values()),
        street_raw_keys=list(raw_groups),
        street_raw_groups=list(raw_groups.values()),
        places=place_entities,
        place_keys=[p.key for p in place_entities],
        place_spaced=[p.spaced for p in place_entities],
        place_vocab=list(vocab),
        vocab_places=list(vocab.values()),
        municipalities=muni_keys,
        municipality_names=set(muni_shapes),
        municipality_shapes=muni_shapes,
        postcodes={
            code: {m for m, n in ms.items() if m and n >= 0.1 * sum(ms.values())} for code, ms in postcodes.items()
        },
        # The import's (or the centre's own, DISPATCH_SERVICE_AREA) service area; before the import wrote one, the
        # municipalities', else the hull of the streets and addresses
        service_area=(
            proj.geometry(shapely.from_wkb(area))
            if area
            else shapely.union_all(list(muni_shapes.values()))
            if muni_shapes
            else _hull(lines, ax, ay)
        ),
        address_points=points,
        address_labels=labels,
        address_tree=shapely.STRtree(points),
        street_tree=shapely.STRtree([e.line for e in street_lines]),
        street_tree_ids=[e.id for e in street_lines],
        map_id=map_id,
    )
    index.build_s = time.perf_counter() - started
    return index


def _street_groups(entities: list[StreetEntity]) -> tuple[dict[str, list[int]], dict[str, int]]:
    """The streets by key (their own names' and their other names'), and the groups by key as typed."""
    groups: dict[str, list[int]] = defaultdict(list)
    for entity in entities:
        groups[entity.key].append(entity.id)
    for entity in entities:  # "Mannerheimvägen" finds Mannerheimintie: its other names lead to it
        for alt in _aliases(entity.alt_names):
            if entity.id not in groups[name_key(alt)]:
                groups[name_key(alt)].append(entity.id)
    group_of = {key: g for g, key in enumerate(groups)}
    raw_groups = {"".join(words(e.name, transliterate=False)): group_of[e.key] for e in entities}
    for entity in entities:
        for alt in _aliases(entity.alt_names):
            raw_groups.setdefault("".join(words(alt, transliterate=False)), group_of[name_key(alt)])
    return groups, raw_groups


def _aliases(names) -> list[str]:
    """Other names written in a script the keys can hold (not "Хельсинки": nothing is left of it folded)."""
    return [n for n in names if len(name_key(n)) >= 3]


def _one_town(streets: list, addresses: list, places: list) -> tuple[list, list, list]:
    """Without municipality boundaries, streets and places lie in the town (addr:city) nearly all addresses name
    (a stray "Helsingin kaupunki" aside), and so do the addresses naming none, or a town with no letter ("7");
    else they stay in none."""
    towns = Counter(a[3] for a in addresses if a[3] and any(c.isalpha() for c in a[3]))
    if not towns or towns.most_common(1)[0][1] < ONE_TOWN_SHARE * towns.total():
        return streets, addresses, places
    town = towns.most_common(1)[0][0]
    return (
        [(s[0], s[1] or town, *s[2:]) for s in streets],
        [(*a[:3], a[3] if a[3] and any(c.isalpha() for c in a[3]) else town, *a[4:]) for a in addresses],
        [(*p[:3], p[3] or town, *p[4:]) for p in places],
    )


def _hull(lines, ax, ay) -> BaseGeometry:
    """The service area of a map without municipalities: around its streets and addresses."""
    points = shapely.points(np.column_stack([ax, ay])) if len(ax) else []
    return shapely.union_all([*lines, *points]).convex_hull.buffer(500.0)


def _add_addresses(addresses, ax, ay, entities: list[StreetEntity], by_name: dict) -> tuple[list, dict]:
    """Puts each address's numbers on its street (a new entity for an addr:place or a street with no way) and
    returns the reverse labels, parallel to the addresses, and the municipalities using each postcode."""
    postcodes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    nearest = _nearest_streets(entities, [a[0] is None for a in addresses], ax, ay, NEAREST_STREET_M)
    unplaced = [a[0] is None and n is None for a, n in zip(addresses, nearest, strict=True)]
    farther = _nearest_streets(entities, unplaced, ax, ay)
    labels: list[tuple[str, str | None]] = [("", None)] * len(addresses)
    inside: list[tuple[StreetEntity, str, float, float]] = []
    # Addresses that name their street first, so that a street guessed from the nearest road never takes a
    # number the street really has: such a guess is wrong, and the address is labelled as near the road.
    for i in sorted(range(len(addresses)), key=lambda i: nearest[i] is not None):
        street, number, postcode, municipality, _, _ = addresses[i]
        x, y = float(ax[i]), float(ay[i])
        if postcode:
            postcodes[postcode][municipality] += 1
        street = street or nearest[i]
        entity = (
            (by_name.get((street, municipality)) or by_name.get((name_key(street), municipality))) if street else None
        )
        keys = expand_numbers(number)
        if nearest[i] and entity is not None and any(k in entity.numbers for k in keys):
            labels[i] = (_address_label(None, f"{number} near {street}", postcode, municipality), municipality)
            continue
        if not street:
            near = f"{number} near {farther[i]}" if farther[i] else number
            labels[i] = (_address_label(None, near, postcode, municipality), municipality)
            continue
        labels[i] = (_address_label(street, number, postcode, municipality), municipality)
        if not keys:  # a number no one can say ("Keskuskatu 5" on the street "Pohjoisesplanadi 33"): labelled only
            continue
        if entity is None:  # an addr:street with no named way in this municipality, or an addr:place
            entity = StreetEntity(len(entities), street, name_key(street), municipality)
            entities.append(entity)
            by_name[(entity.key, municipality)] = by_name[(street, municipality)] = entity
        for key in keys:
            entity.numbers.setdefault(key, (x, y))
        if postcode:
            entity.postcodes.add(postcode)
        inside.append((entity, number, x, y))
    for entity, number, x, y in inside:  # "16" in the building "14-20", unless 16 is an address of its own
        for key in range_interior(number):
            entity.numbers.setdefault(key, (x, y))
    return labels, postcodes


def _nearest_streets(
    entities: list[StreetEntity], wanted: list[bool], xs, ys, within_m: float = NEAR_LABEL_M
) -> list[str | None]:
    """The name of the nearest named road within `within_m` of each wanted address (None elsewhere)."""
    tree = shapely.STRtree([e.line for e in entities])
    out: list[str | None] = [None] * len(wanted)
    todo = [i for i, w in enumerate(wanted) if w]
    if not todo:
        return out
    points = shapely.points(np.column_stack([np.asarray(xs)[todo], np.asarray(ys)[todo]]))
    pairs = tree.query_nearest(points, max_distance=within_m, all_matches=False)
    for p, e in zip(*pairs, strict=True):
        out[todo[int(p)]] = entities[int(e)].name
    return out


def _address_label(street: str | None, number: str, postcode: str | None, municipality: str | None) -> str:
    place = " ".join(p for p in (postcode, municipality) if p)
    return f"{street or ''} {number}".strip() + (f", {place}" if place else "")


__all__ = ["GeocoderIndex", "PlaceEntity", "Projection", "StreetEntity", "build_index", "fold"]
