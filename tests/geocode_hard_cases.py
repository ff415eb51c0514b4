"""The harder evaluation forms, generated from the imported map and the OSM file, independent of the geocoder's code:
house numbers on a place without a street, the country named in the query, a number past the street's end, two
letters swapped, two errors at once, interpolation ways without a street, named areas, corners in every wording, and
reverse geocoding of addresses without `addr:street`. Each form draws from its own `random.Random(f"{seed}:{form}")`
(through `_take`), so these forms leave the others' cases unchanged. Used by `generate_cases`.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

import psycopg
import shapely
from rapidfuzz.distance import OSA

from tests.geocode_cases import _Map, _take, _typo, corner_pairs
from tests.geocode_judge import NOT_STREETS, Case, _geom, _metres_to
from tests.geocode_osm import read_extras
from tests.geocode_region import CORNER_WAYS
from tests.geocode_spelling import _ACCENT_WAYS, _neighbours

CORNERS = CORNER_WAYS["de"]  # the bundled map's; another map's come from its languages (Region.corners)


def _fold(s: str) -> str:
    return re.sub(r"\W", "", _ACCENT_WAYS[0](s).lower())


def _rows(m: _Map, sql: str) -> list[tuple]:
    with psycopg.connect(m.url) as conn:
        return conn.execute(sql).fetchall()


def _addr_place(m: _Map, seed: int, n: int) -> list[Case]:
    rows = _rows(
        m,
        """SELECT place, housenumber, municipality, postcode, ST_Y(location::geometry), ST_X(location::geometry)
           FROM addresses WHERE street IS NULL AND place IS NOT NULL ORDER BY id""",
    )
    writings = ("{p} {h}", "{p} {h}, {mu}", "{h} {p}", "{p} {h} {mu}")
    pool = [(r, w) for r in rows if m.inside(r[4], r[5]) for w in writings if r[2] or "{mu}" not in w]

    def make(rng, item):
        (place, number, muni, _, lat, lon), w = item
        return Case("addr_place", w.format(p=place, h=number, mu=muni), "address", lat, lon, 50.0)

    return _take(seed, "addr_place", pool, n, make)


def _country(m: _Map, seed: int, n: int) -> list[Case]:
    ways, prefix = m.region.country_ways, m.region.postcode_prefix

    def make(rng, a):
        s, h, mu, pc, lat, lon = a
        q = f"{s} {h}, {mu}{rng.choice(ways)}"
        if pc and rng.random() < 0.3:
            q = rng.choice([f"{s} {h}, {prefix}{pc} {mu}", f"{s} {h}, {pc} {mu}{ways[0]}"])
        return Case("country", q, "address", lat, lon, 50.0)

    return _take(seed, "country", m.addresses if ways else [], n, make)


def _nearest_only(s: str, name: str, m: _Map) -> bool:
    d = OSA.distance(s.lower(), name.lower())
    return d > 0 and all(OSA.distance(s.lower(), o, score_cutoff=d) > d for o in m.lower_names if o != name.lower())


def _swapped(m: _Map, seed: int, n: int) -> list[Case]:
    def make(rng, a):
        s, h, mu, _, lat, lon = a
        spots = [i for i in range(1, len(s) - 1) if s[i].isalpha() and s[i + 1].isalpha() and s[i] != s[i + 1]]
        rng.shuffle(spots)
        for i in spots:
            v = s[:i] + s[i + 1] + s[i] + s[i + 2 :]
            if _nearest_only(v, s, m):
                return Case("swapped", f"{v} {h}, {mu}", "address", lat, lon, 50.0)
        return None

    return _take(seed, "swapped", [a for a in m.addresses if sum(c.isalpha() for c in a[0]) >= 6], n, make)


def _municipality_slip(rng: random.Random, muni: str, others: list[str], keys: tuple[str, ...]) -> str | None:
    for _ in range(20):
        i = rng.randrange(1, len(muni))
        op, near = rng.choice(["sub", "del", "swap", "ins"]), _neighbours(muni[i], keys)
        if op == "sub" and near:
            v = muni[:i] + rng.choice(near) + muni[i + 1 :]
        elif op == "ins" and near:
            v = muni[:i] + rng.choice(near) + muni[i:]
        elif op == "swap" and i + 1 < len(muni):
            v = muni[:i] + muni[i + 1] + muni[i] + muni[i + 2 :]
        else:
            v = muni[:i] + muni[i + 1 :]
        if OSA.distance(v.lower(), muni.lower()) == 1 and all(OSA.distance(v.lower(), o.lower()) > 1 for o in others):
            return v
    return None


def _two_errors(m: _Map, seed: int, n: int) -> list[Case]:
    """Umlaut dropped in the street (or one typing slip where it has none) and the municipality misspelt."""
    munis = [name for name, _ in m.munis]

    def make(rng, a):
        s, h, mu, _, lat, lon = a
        if re.search(m.region.accented.replace("ß", ""), s):
            v = _ACCENT_WAYS[0](s)
            v = v if v.lower() not in m.lower_names else None
        else:
            v = _typo(rng, s, 1, m)
        slip = _municipality_slip(rng, mu, [o for o in munis if o != mu], m.region.keyboard)
        if not v or not slip:
            return None
        return Case("two_errors", f"{v} {h}{rng.choice([' ', ', '])}{slip}", "address", lat, lon, 50.0)

    pool = [a for a in m.addresses if a[2] in munis and sum(c.isalpha() for c in a[0]) >= 7]
    return _take(seed, "two_errors", pool, n, make)


def _past_end(m: _Map, seed: int, n: int) -> list[Case]:
    """A number past the street's highest: the answer is the street, judged with the street-length cap."""
    lengths = {(r[0], r[1]): r[2] for r in _rows(m, "SELECT name, municipality, length_m FROM streets ORDER BY id")}
    lines = {(s[0], s[1]): s[3] for s in m.streets if s[1] and s[2] not in NOT_STREETS}
    top = {}
    for street, number, muni, _, lat, lon in m.addresses:
        if number.isdigit() and (street, muni) in lines and int(number) > top.get((street, muni), (0,))[0]:
            top[(street, muni)] = (int(number), lat, lon)

    def make(rng, key):
        high, lat, lon = top[key]
        present = {int(x) for text in m.numbers_on[key] for x in re.findall(r"\d+", text)}
        x = high + rng.choice([2, 4, 6, 10, 20, 40])
        if x in present or x <= max(present, default=0) or _metres_to(_geom(lines[key]), lat, lon) > 60:
            return None
        return Case("past_end", f"{key[0]} {x}, {key[1]}", "street", lat, lon, 50.0, lines[key],
                    street_length_m=lengths[key])  # fmt: skip

    return _take(seed, "past_end", sorted(top), n, make)


def _nearest_street(m: _Map, lat: float, lon: float, within: float = 150.0) -> list[str]:
    """Names of the named roads nearest the point: the nearest within `within` m, and any within 25 m more."""
    rows = _rows(
        m,
        f"""SELECT name, ST_Distance(geom, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography) AS d
            FROM streets WHERE highway NOT IN ({",".join(f"'{h}'" for h in sorted(NOT_STREETS))})
            ORDER BY geom <-> ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, name LIMIT 6""",
    )
    rows = sorted(rows, key=lambda r: (r[1], r[0]))
    if not rows or rows[0][1] > within:
        return []
    return sorted({name for name, d in rows if d <= rows[0][1] + 25})


def _way_street(m: _Map, way) -> str | None:
    names = {t.get("addr:street") for t, _, _ in way.ends} - {None}
    if way.street or len(names) == 1:
        return way.street or names.pop()
    mid = shapely.LineString([(x, y) for _, x, y in way.ends]).interpolate(0.5, normalized=True)
    near = _nearest_street(m, mid.y, mid.x, within=60.0)
    return near[0] if len(near) == 1 else None


def _interp_way(m: _Map, seed: int, n: int) -> list[Case]:
    """Numbers on interpolation ways that carry no street tag: the street from the end nodes, else the road the
    way runs along; the truth interpolated along the way between its numbered nodes."""
    pool = []
    for way in read_extras(m.map_path).interpolations:
        step = {"odd": 2, "even": 2, "all": 1}.get(way.scheme)
        street = _way_street(m, way) if way.street is None and step else None
        tagged = [(i, int(t["addr:housenumber"])) for i, (t, _, _) in enumerate(way.ends)]
        tagged = [(i, h) for i, h in tagged if str(h).isdigit()] if street else []
        for (i0, h0), (i1, h1) in zip(tagged, tagged[1:], strict=False):
            line = shapely.LineString([(x, y) for _, x, y in way.ends[i0 : i1 + 1]])
            for x in range(min(h0, h1) + step, max(h0, h1), step):
                pt = line.interpolate((x - h0) / (h1 - h0), normalized=True)
                if m.inside(pt.y, pt.x) and (mu := m.municipality_at(pt.y, pt.x)):
                    pool.append((street, x, mu, pt.y, pt.x))

    def make(rng, item):
        street, x, mu, lat, lon = item
        q = rng.choice([f"{street} {x}, {mu}", f"{street} {x} {mu}", f"{x} {street}, {mu}"])
        return Case("interp_way", q, "interpolated", lat, lon, 75.0)

    return _take(seed, "interp_way", pool, n, make)


def _area(m: _Map, seed: int, n: int) -> list[Case]:
    """Field names, localities, landuse and natural features by name: an answer near or inside the area."""
    extras = read_extras(m.map_path).areas
    taken = {_fold(s) for s in m.street_names} | {_fold(name) for name, _ in m.munis}
    by_name = defaultdict(list)
    for a in extras:
        by_name[_fold(a.name)].append(_geom(a.wkt))
    for name, _, _, lat, lon in m.places:
        by_name[_fold(name)].append(shapely.Point(lon, lat))
    pool = []
    for a in extras:
        g, key = _geom(a.wkt), _fold(a.name)
        p = g if g.geom_type == "Point" else g.representative_point()
        far = [o for o in by_name[key] if _metres_to(g, o.representative_point().y, o.representative_point().x) > 500]
        if len(key) >= 3 and key not in taken and not far and m.inside(p.y, p.x):
            pool.append((a, p.y, p.x))

    def make(rng, item):
        a, lat, lon = item
        mu = m.municipality_at(lat, lon)
        q = a.name
        if a.kind == "place=locality" and rng.random() < 0.25 and m.region.locality_prefix:
            q = f"{m.region.locality_prefix}{a.name}"
        if mu and mu not in a.name and rng.random() < 0.4:
            q = f"{q}, {mu}"
        point = a.wkt.startswith("POINT")
        return Case("area", q, "area", lat, lon, 300.0 if point else 100.0, None if point else a.wkt)

    return _take(seed, "area", pool, n, make)


def _corner(m: _Map, seed: int, n: int) -> list[Case]:
    def make(rng, pair):
        a, b, (lat, lon) = pair
        a, b = (b, a) if rng.random() < 0.5 else (a, b)
        t = m.municipality_at(lat, lon)
        w = rng.choice([w for w in m.region.corners if t or "{t}" not in w])
        return Case("corner", w.format(a=a, b=b, t=t), "intersection", lat, lon, 50.0)

    return _take(seed, "corner", corner_pairs(m), n, make)


def _reverse(m: _Map, seed: int, n: int) -> list[Case]:
    """Addresses without addr:street or addr:place: their reverse label must name a street (the associatedStreet's,
    the one the interpolation way runs along, else the nearest named road within 150 m)."""
    extras = read_extras(m.map_path)
    rows = _rows(
        m,
        """SELECT osm_ref, ST_Y(location::geometry), ST_X(location::geometry) FROM addresses
           WHERE street IS NULL AND place IS NULL ORDER BY id""",
    )
    ways = {f"w{w.way_id}": w for w in extras.interpolations}

    def make(rng, row):
        ref, lat, lon = row
        if not m.inside(lat, lon):
            return None
        if ref in extras.house_street:
            names = [extras.house_street[ref]]
        elif ref in ways:
            names = [s] if (s := _way_street(m, ways[ref])) else []
        else:
            names = _nearest_street(m, lat, lon)
        if not names:
            return None
        q = f"reverse {lat:.6f},{lon:.6f}"
        return Case("reverse", q, "reverse", lat, lon, 0.0, street_names=tuple(names))

    return _take(seed, "reverse", rows, n, make)


HARD_MAKERS = (_addr_place, _country, _swapped, _two_errors, _past_end, _interp_way, _area, _corner, _reverse)
