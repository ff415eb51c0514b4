"""What the evaluation needs from the OSM file itself, where the imported tables do not keep it: the streets of
`associatedStreet` relations, interpolation ways with their end nodes, named areas (field names, landuse and
natural features) with their outlines, and the country: the addresses' `addr:country` codes and the names of the
admin_level 2 boundaries. Read once per file with pyosmium, independently of the importer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import osmium
from shapely import wkb

AREA_PLACES = {"locality", "neighbourhood", "isolated_dwelling", "farm", "hamlet"}
POINT_NATURAL = {"peak", "saddle", "cave_entrance", "hill", "valley"}


@dataclass(frozen=True)
class InterpolationWay:
    way_id: int
    scheme: str  # odd | even | all
    street: str | None  # addr:street on the way itself
    ends: tuple[tuple[dict, float, float], ...]  # (tags, lon, lat) of every node; untagged nodes have {}


@dataclass(frozen=True)
class NamedArea:
    osm_ref: str
    name: str
    kind: str  # e.g. place=locality, landuse=vineyard, natural=water
    wkt: str  # a point for nodes, a (multi)polygon for areas


@dataclass
class OsmExtras:
    house_street: dict[str, str] = field(default_factory=dict)  # "w123" -> street named by an associatedStreet
    interpolations: list[InterpolationWay] = field(default_factory=list)
    areas: list[NamedArea] = field(default_factory=list)
    addr_countries: Counter = field(default_factory=Counter)  # addr:country code -> objects carrying it
    countries: dict[str, dict[str, str]] = field(default_factory=dict)  # ISO3166-1 code -> its boundary's name tags


def _area_kind(tags) -> str | None:
    if tags.get("place") in AREA_PLACES:
        return f"place={tags['place']}"
    for key in ("landuse", "natural"):
        if tags.get(key):
            return f"{key}={tags[key]}"
    return None


def _named_point(node) -> NamedArea | None:
    """A locality or a natural feature mapped as a point: a peak, a saddle, a field name."""
    tags, kind = node.tags, _area_kind(node.tags)
    if not tags.get("name") or not (tags.get("natural") in POINT_NATURAL or (kind and kind.startswith("place="))):
        return None
    kind = kind if kind and kind.startswith("place=") else f"natural={tags['natural']}"
    pt = f"POINT({node.location.lon:.7f} {node.location.lat:.7f})"
    return NamedArea(f"n{node.id}", tags["name"], kind, pt)


def _relation(obj, out: OsmExtras) -> None:
    """A country's boundary (its names), or the houses of an associatedStreet."""
    tags = obj.tags
    if tags.get("admin_level") == "2" and tags.get("ISO3166-1") and tags.get("boundary") == "administrative":
        names = {k: v for k, v in tags if k == "name" or k.startswith("name:") or k == "official_name"}
        out.countries[tags["ISO3166-1"].upper()] = names
    if tags.get("type") == "associatedStreet":
        street = tags.get("name") or tags.get("addr:street")
        for m in obj.members:
            if m.role == "house" and street:
                out.house_street[f"{m.type}{m.ref}"] = street


@lru_cache(maxsize=4)
def read_extras(path: str) -> OsmExtras:
    out = OsmExtras()
    factory = osmium.geom.WKBFactory()
    node_tags: dict[int, tuple[dict, float, float]] = {}
    raw_ways: list[tuple[int, str, str | None, list[int]]] = []
    for obj in osmium.FileProcessor(path).with_locations().with_areas():
        tags = obj.tags
        if "addr:country" in tags and not obj.is_area():
            out.addr_countries[tags["addr:country"].upper()] += 1
        if obj.is_node():
            if len(tags) and obj.location.valid():
                node_tags[obj.id] = (dict(tags), obj.location.lon, obj.location.lat)
                if area := _named_point(obj):
                    out.areas.append(area)
        elif obj.is_way():
            if "addr:interpolation" in tags:
                refs = [n.ref for n in obj.nodes]
                raw_ways.append((obj.id, tags["addr:interpolation"], tags.get("addr:street"), refs))
        elif obj.is_relation():
            _relation(obj, out)
        elif obj.is_area() and tags.get("name") and (kind := _area_kind(tags)) and "highway" not in tags:
            try:
                shape = wkb.loads(factory.create_multipolygon(obj), hex=True)
            except RuntimeError:  # an outline cut at the edge of the extract
                continue
            ref = ("w" if obj.from_way() else "r") + str(obj.orig_id())
            out.areas.append(NamedArea(ref, tags["name"], kind, shape.wkt))
    for way_id, scheme, street, refs in raw_ways:
        ends = tuple(node_tags.get(r, ({}, None, None)) for r in refs)
        if all(lon is not None for _, lon, _ in ends):
            out.interpolations.append(InterpolationWay(way_id, scheme, street, ends))
    out.areas.sort(key=lambda a: a.osm_ref)
    return out
