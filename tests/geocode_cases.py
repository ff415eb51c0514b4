"""Evaluation cases for the geocoder, generated from the imported map and independent of its code.

`generate_cases(url, seed=7)` reads the PostGIS tables and writes queries the way a caller or call-taker would
type them, each with its truth point (or street geometry) and expected match kind. Every form draws from its
own `random.Random(f"{seed}:{form}")`, so adding or changing a form does not reshuffle the others, and all SQL
is ordered so the same data and seed give the same cases. Used by `benchmarks/geocode_eval.py`.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import combinations

import psycopg
import shapely
from rapidfuzz.distance import OSA
from shapely import wkt as shapely_wkt
from shapely.geometry import GeometryCollection, Point
from shapely.prepared import prep

from tests.geocode_inputs import BAD_INPUT, FAR_AWAY, NONSENSE
from tests.geocode_judge import (  # noqa: F401 - re-exported for the benchmark
    EARTH_R,
    EXACT_FORMS,
    FORMS,
    HARD_FORMS,
    MISSPELT_FORMS,
    NOT_STREETS,
    POI_KINDS,
    Case,
    _geom,
    _metres_to,
    distance_m,
    haversine_m,
    is_confident_wrong,
    is_right,
)
from tests.geocode_osm import read_extras
from tests.geocode_region import Region, region_of, why_skipped
from tests.geocode_spelling import _ACCENT_WAYS, _abbreviations, _neighbours, format_coordinates


def _spread_m(pts: list) -> float:
    return max((haversine_m(p[0], p[1], q[0], q[1]) for p, q in combinations(pts, 2)), default=0.0)


def _mean(pts: list) -> tuple[float, float]:
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)


class _Map:
    """The tables, read once in id order, with the lookups the forms share; the file they were imported from (the
    latest import's), and its region (tests/geocode_region.py)."""

    def __init__(self, url: str):
        self.url = url
        with psycopg.connect(url) as conn:
            q = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
            source = q("SELECT source FROM map_imports ORDER BY id DESC LIMIT 1")
            if not source:
                raise LookupError(f"{url}: no map imported")
            self.map_path = source[0][0]
            self.region: Region = region_of(self.map_path, read_extras(self.map_path))
            munis = q("SELECT name, ST_AsText(geom) FROM municipalities ORDER BY name")
            addrs = q("""SELECT street, housenumber, postcode, municipality, ST_Y(location::geometry),
                                ST_X(location::geometry) FROM addresses ORDER BY id""")
            self.streets = q("SELECT name, municipality, highway, ST_AsText(geom::geometry) FROM streets ORDER BY id")
            self.places = q("""SELECT name, kind, municipality, ST_Y(location::geometry), ST_X(location::geometry)
                               FROM places WHERE name <> '' ORDER BY id""")
            self.meetings = q("""
                WITH ends AS (SELECT name, source AS node FROM road_edges WHERE name IS NOT NULL
                              UNION SELECT name, target FROM road_edges WHERE name IS NOT NULL)
                SELECT a.name, b.name, n.id, ST_Y(n.geom), ST_X(n.geom)
                FROM ends a JOIN ends b ON a.node = b.node AND a.name <> b.name JOIN road_nodes n ON n.id = a.node
                WHERE a.name IN (SELECT name FROM streets) AND b.name IN (SELECT name FROM streets)
                ORDER BY n.id, a.name, b.name""")
        self.munis = [(name, prep(shapely_wkt.loads(w))) for name, w in munis]
        self.area = prep(shapely.union_all([shapely_wkt.loads(w) for _, w in munis]))
        self.street_names = sorted({s[0] for s in self.streets})
        self.lower_names = {n.lower() for n in self.street_names}
        self.place_names = {p[0].lower() for p in self.places}
        # One (street, number, municipality) is sometimes several buildings: keep it when they lie within 50 m
        # of each other, with their mean as the truth. Feldkirch (Austria) addresses fall outside and are left out.
        groups, self.numbers_on, self.munis_of = defaultdict(list), defaultdict(list), defaultdict(set)
        for name, muni, *_ in self.streets:
            self.munis_of[name].add(muni)  # municipalities a name is in, both tables; NULL: a piece abroad
        for street, number, postcode, muni, lat, lon in addrs:
            if street:
                self.numbers_on[(street, muni)].append(number)  # every housenumber text, for interpolation
                self.munis_of[street].add(muni)
            if street and re.fullmatch(r"\d+[a-zA-Z]?", number) and self.inside(lat, lon):
                groups[(street, number.lower(), muni)].append((lat, lon, postcode))
        self.addresses = []  # (street, number, municipality, postcode or None, lat, lon)
        for (street, number, muni), pts in groups.items():
            codes = {p[2] for p in pts}
            if _spread_m(pts) <= 50:
                self.addresses.append((street, number, muni, codes.pop() if len(codes) == 1 else None, *_mean(pts)))

    @property
    def around(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Where `outside` points are drawn: Liechtenstein's Rhine valley, else the map's bounds 0.2° wider."""
        if self.region.country == "LI":
            return (46.95, 47.35), (9.35, 9.75)
        x0, y0, x1, y1 = self.area.context.bounds
        return (y0 - 0.2, y1 + 0.2), (x0 - 0.2, x1 + 0.2)

    def inside(self, lat: float, lon: float) -> bool:
        return self.area.contains(Point(lon, lat))

    def municipality_at(self, lat: float, lon: float) -> str | None:
        return next((name for name, poly in self.munis if poly.contains(Point(lon, lat))), None)


def _take(seed: int, form: str, pool: Iterable, n: int, make: Callable) -> list:
    """Up to n results of `make(rng, item)` over the pool in a seeded random order; None skips an item."""
    rng = random.Random(f"{seed}:{form}")
    pool = list(pool)
    rng.shuffle(pool)
    cases = []
    for item in pool:
        if len(cases) == n:
            break
        if (case := make(rng, item)) is not None:
            cases.append(case)
    return cases


# --- address forms ---------------------------------------------------------------------------------------------


def _address_forms(m: _Map, seed: int, n: int) -> list[Case]:
    A = m.addresses

    def form(name: str, pool: Iterable, write: Callable) -> list[Case]:
        def make(rng, a):
            q = write(rng, *a[:4])
            return Case(name, q, "address", a[4], a[5], 50.0) if q else None

        return _take(seed, name, pool, n, make)

    casings = (str.upper, str.lower, str.title, "mixed")

    def recase(rng, q):
        c = rng.choice([c for c in casings if c == "mixed" or c(q) != q])
        out = " ".join(rng.choice(casings[:3])(w) for w in q.split(" ")) if c == "mixed" else c(q)
        return out if out != q else q.upper()  # a mix that came out as the original would be an exact case

    def checked(variant, s, h, mu):  # a misspelling that is some other real street is not a misspelling
        return f"{variant} {h}, {mu}" if variant and variant.lower() not in m.lower_names else None

    return [
        *form("exact", A, lambda rng, s, h, mu, pc: f"{s} {h}, {mu}"),
        *form("number_first", A, lambda rng, s, h, mu, pc: f"{h} {s}{rng.choice([' ', ', '])}{mu}"),
        *form("no_municipality", [a for a in A if len(m.munis_of[a[0]]) == 1], lambda rng, s, h, mu, pc: f"{s} {h}"),
        *form("postcode", [a for a in A if a[3]], lambda rng, s, h, mu, pc: f"{s} {h}, {pc} {mu}"),
        *form(
            "abbreviated",
            [a for a in A if m.region.abbreviable(a[0])],
            lambda rng, s, h, mu, pc: checked(rng.choice(_abbreviations(s)), s, h, mu),
        ),
        *form("case", A, lambda rng, s, h, mu, pc: recase(rng, f"{s} {h}, {mu}")),
        *form(
            "accents",
            [a for a in A if re.search(m.region.accented, a[0])],
            lambda rng, s, h, mu, pc: checked(rng.choice(m.region.accent_ways)(s), s, h, mu),
        ),
        *[
            c
            for k in (1, 2)
            for c in form(
                f"typo{k}",
                [a for a in A if sum(ch.isalpha() for ch in a[0]) >= 7],
                lambda rng, s, h, mu, pc, k=k: checked(_typo(rng, s, k, m), s, h, mu),
            )
        ],
    ]


def _typo(rng: random.Random, name: str, k: int, m: _Map) -> str | None:
    """k typing errors after the first letter, kept only when `name` is still strictly the nearest street name
    (a slip that turns Mühlegasse into Mühlegass, a real street, is not asked)."""
    for _ in range(30):
        s = name
        for _ in range(k):
            i = rng.choice([j for j in range(1, len(s)) if s[j].isalpha()])
            op, near = rng.choice(["sub", "del", "ins", "swap"]), _neighbours(s[i], m.region.keyboard)
            if op == "sub" and near:
                s = s[:i] + rng.choice(near) + s[i + 1 :]
            elif op == "ins" and near:
                s = s[:i] + rng.choice(near) + s[i:]
            elif op == "swap" and i + 1 < len(s) and s[i + 1].isalpha():
                s = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
            else:
                s = s[:i] + s[i + 1 :]
        d = OSA.distance(s.lower(), name.lower())
        if d == k and all(OSA.distance(s.lower(), o, score_cutoff=d) > d for o in m.lower_names if o != name.lower()):
            return s
    return None


# --- interpolation, streets, intersections, places -------------------------------------------------------------


def _interpolated(m: _Map, seed: int, n: int) -> list[Case]:
    """Gaps between consecutive same-parity plain numbers <= 300 m apart, with no number of that parity in
    between anywhere in the data (ranges "2-4", lists "36;38" and "14a" count as present)."""
    anchors = defaultdict(dict)
    for street, number, muni, _, lat, lon in m.addresses:
        if number.isdigit():
            anchors[(street, muni)][int(number)] = (lat, lon)
    lines = {(s[0], s[1]): _geom(s[3]) for s in m.streets}
    gaps = []
    for (street, muni), pts in sorted(anchors.items()):
        present = set()
        for text in m.numbers_on[(street, muni)]:
            present.update(int(x) for x in re.findall(r"\d+", text))
            present.update(x for lo, hi in re.findall(r"(\d+)\s*-\s*(\d+)", text) for x in range(int(lo), int(hi)))
        nums = sorted(pts)
        for parity in (0, 1):
            same = [x for x in nums if x % 2 == parity]
            for lo, hi in zip(same, same[1:], strict=False):
                between = list(range(lo + 2, hi, 2))
                if between and not present.intersection(between) and haversine_m(*pts[lo], *pts[hi]) <= 300:
                    gaps.append((street, muni, lo, hi, between, pts[lo], pts[hi]))

    def make(rng, gap):
        street, muni, lo, hi, between, (la1, lo1), (la2, lo2) = gap
        x = rng.choice(between)
        f = (x - lo) / (hi - lo)
        lat, lon = la1 + f * (la2 - la1), lo1 + f * (lo2 - lo1)
        # Buildings set far back give a truth that interpolating along the street line would miss; both readings
        # are fair, so ask only where they agree (the truth within 40 m of the street).
        if (street, muni) in lines and _metres_to(lines[(street, muni)], lat, lon) <= 40:
            return Case("interpolated", f"{street} {x}, {muni}", "interpolated", lat, lon, 75.0)
        return None

    return _take(seed, "interpolated", gaps, n, make)


def _street_forms(m: _Map, seed: int, n: int) -> list[Case]:
    # A street named like a place (the locality "Gafadura", a bus stop "Feldstrasse") has two fair answers.
    usable = [
        s
        for s in m.streets
        if s[1]
        and s[2] not in NOT_STREETS
        and s[0].lower() not in m.place_names
        and sum(c.isalpha() for c in s[0]) >= 3
    ]

    def street(rng, s):
        p = _geom(s[3]).representative_point()
        return Case("street_only", f"{s[0]}, {s[1]}", "street", p.y, p.x, 50.0, s[3])

    pieces = defaultdict(list)
    for name, muni, _, wkt in usable:
        pieces[name].append((muni, wkt))

    def shared(rng, name):
        geoms = [_geom(w) for _, w in sorted(pieces[name])]
        p = geoms[0].representative_point()  # lat/lon: the first municipality's street; all count, see is_right
        return Case(
            "ambiguous",
            name,
            "street",
            p.y,
            p.x,
            50.0,
            shapely.to_wkt(GeometryCollection(geoms), rounding_precision=7),
            ambiguous=True,
        )

    def separate_places(name) -> bool:
        # Pieces of one road that cross a municipal border touch each other: that is one street, not two.
        geoms = [_geom(w) for _, w in pieces[name]]
        return len(geoms) >= 2 and any(a.distance(b) > 0.002 for i, a in enumerate(geoms) for b in geoms[i + 1 :])

    return [
        *_take(seed, "street_only", usable, n, street),
        *_take(seed, "ambiguous", sorted(k for k in pieces if separate_places(k)), n, shared),
    ]


def corner_pairs(m: _Map) -> list[tuple[str, str, tuple[float, float]]]:
    """Pairs of streets that meet at one point inside the area: (name, name, the meeting node's lat/lon)."""
    # Names are compared folded, as a geocoder would: "Plankner Strasse" (a 6 m piece) meeting "Planknerstrasse"
    # is one road under two spellings, and either spelling's meetings with a third street count as one pair.
    fold = lambda s: re.sub(r"\W", "", _ACCENT_WAYS[0](s).lower())  # noqa: E731
    nodes, names = defaultdict(dict), {}  # folded pair -> {node id: (lat, lon)}, and the spelling first seen
    for a, b, node, lat, lon in m.meetings:
        key = tuple(sorted((fold(a), fold(b))))
        if key[0] != key[1]:
            nodes[key][node] = (lat, lon)
            names.setdefault(key, tuple(sorted((a, b))))
    pairs = []
    for key, pts in sorted(nodes.items()):
        pts = list(pts.values())
        if _spread_m(pts) <= 50:  # else they meet at two places (here or abroad) and no one point is the truth
            middle = _mean(pts)
            node = min(pts, key=lambda p: haversine_m(*p, *middle))  # the real node nearest the middle
            if m.inside(*node):
                pairs.append((*names[key], node))
    return pairs


def _intersections(m: _Map, seed: int, n: int) -> list[Case]:
    pairs = corner_pairs(m)
    templates = m.region.intersections

    def make(rng, pair):
        a, b, (lat, lon) = pair
        a, b = (b, a) if rng.random() < 0.5 else (a, b)
        q = rng.choice(templates).format(a=a, b=b) + (f", {m.municipality_at(lat, lon)}" if rng.random() < 0.4 else "")
        return Case("intersection", q, "intersection", lat, lon, 50.0)

    return _take(seed, "intersection", pairs, n, make)


def _pois(m: _Map, seed: int, n: int) -> list[Case]:
    by_name = defaultdict(list)  # over all places: a bus stop far away named like the school makes it ambiguous
    for name, _, _, lat, lon in m.places:
        by_name[name.lower()].append((lat, lon))
    chosen = {}
    for name, kind, muni, lat, lon in m.places:
        same = by_name[name.lower()]
        if (
            kind in POI_KINDS
            and muni
            and m.inside(lat, lon)
            and len(name) >= 3
            and name.lower() not in m.lower_names
            and _spread_m(same) <= 100
        ):
            chosen.setdefault(name, (muni, *_mean(same)))  # rows within 100 m (amenity + building): aim between

    def make(rng, name):
        muni, lat, lon = chosen[name]
        q = f"{name}, {muni}" if muni not in name and rng.random() < 0.4 else name
        return Case("poi", q, "poi", lat, lon, 50.0)

    return _take(seed, "poi", sorted(chosen), n, make)


# --- coordinates, nothing to find, bad input -------------------------------------------------------------------


def _coordinates(m: _Map, seed: int, n: int) -> list[Case]:
    picked = _take(seed, "coordinates", m.addresses, n, lambda rng, a: a[4:])
    cases = [
        Case("coordinates", format_coordinates(lat, lon, i), "coordinates", lat, lon, 50.0)
        for i, (lat, lon) in enumerate(picked)
    ]
    rng, points = random.Random(f"{seed}:outside"), list(FAR_AWAY)
    while len(points) < n:  # the land around the map (the Rhine valley), only points >= 1 km beyond its border
        lat, lon = rng.uniform(*m.around[0]), rng.uniform(*m.around[1])
        if _metres_to(m.area.context, lat, lon) >= 1000:
            points.append((lat, lon))
    return cases + [
        Case("outside", format_coordinates(lat, lon, i), "coordinates", lat, lon, 50.0)
        for i, (lat, lon) in enumerate(points[:n])
    ]


def _nowhere(m: _Map, seed: int, n: int) -> list[Case]:
    known = sorted(m.lower_names | m.place_names)
    made_up = [
        a + b
        for a in m.region.made_up[0]
        for b in m.region.made_up[1]
        if all(OSA.distance((a + b).lower(), k, score_cutoff=3) > 3 for k in known)
    ]

    def make(rng, name):
        muni = rng.choice(m.munis)[0]
        q = rng.choice([f"{name} {rng.randint(1, 80)}, {muni}", f"{name} {rng.randint(1, 80)}", name])
        return Case("nonexistent", q, "none", None, None, 50.0)

    cases = _take(seed, "nonexistent", made_up, n - min(len(NONSENSE), n // 3), make)
    cases += [Case("nonexistent", q, "none", None, None, 50.0) for q in NONSENSE[: n - len(cases)]]
    return cases + [Case("bad_input", q, "none", None, None, 50.0) for q in BAD_INPUT[:n]]


def generate_cases(
    libpq_url: str, *, seed: int = 7, per_form: int = 40, hard: bool = True, skipped: dict | None = None
) -> list[Case]:
    """Every form's cases; with `hard` also those of tests/geocode_hard_cases.py (places without a street, the
    country named, numbers past the end, corners, named areas, reverse geocoding, ...). The forms the map gives no
    case of go into `skipped`, with the reason."""
    from tests.geocode_hard_cases import HARD_MAKERS  # it builds on this module's map and streams

    m = _Map(libpq_url)
    makers = (_address_forms, _interpolated, _street_forms, _intersections, _pois, _coordinates, _nowhere)
    cases = [c for make in (*makers, *(HARD_MAKERS if hard else ())) for c in make(m, seed, per_form)]
    if skipped is not None:
        made = {c.form for c in cases}
        skipped.update({f: why_skipped(f, m.region) for f in FORMS if f not in made and (hard or f not in HARD_FORMS)})
    return sorted(cases, key=lambda c: FORMS.index(c.form))  # stable: each form keeps its drawn order
