"""One pass over an OSM file with pyosmium, collecting what dispatch needs into plain Python lists.

Nothing here touches the database: a file that fails to read fails before anything is written.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import osmium
import shapely
from shapely import wkb

from geo.osm.roads import RoadWay, is_drivable, oneway_direction, speed_kph

PLACE_KEYS = (
    "amenity",
    "shop",
    "tourism",
    "leisure",
    "historic",
    "office",
    "craft",
    "healthcare",
    "emergency",
    "place",
    "man_made",
    "sport",
    "public_transport",
    # Named land (a field, a vineyard, a lake, a peak): where callers on foot say they are. Last, so that a
    # named building or amenity on such land is known by what it is.
    "natural",
    "landuse",
)
# Names by which the public refers to a place besides its official name.
NAME_KEYS = ("alt_name", "short_name", "official_name", "old_name", "name:de", "operator", "brand")
# A street's other names: in the other official languages (name:sv, name:fi), and those it is also known by.
STREET_NAME_KEYS = ("alt_name", "old_name", "short_name", "official_name", "loc_name")
_LANGUAGE_NAME = re.compile(r"name:[a-z]{2,3}(-[A-Za-z]+)?")
STATION_KINDS = {
    ("amenity", "fire_station"): "fire",
    ("amenity", "police"): "police",
    ("emergency", "ambulance_station"): "ambulance",
    ("amenity", "hospital"): "hospital",
}


# What the reader makes of a map: raised when it starts reading something new (addr:place, associatedStreet,
# streets of interpolation ways, the other names of streets), so that a map imported by an older reader is
# imported again.
READER_VERSION = 3


class MapReadError(Exception):
    """The file is missing, unreadable or not OSM data."""


@dataclass
class AddressRow:
    osm_ref: str
    source: str
    street: str | None
    place: str | None
    housenumber: str
    postcode: str | None
    city: str | None
    lon: float
    lat: float


@dataclass
class PlaceRow:
    osm_ref: str
    name: str
    category: str
    kind: str
    tags: dict
    lon: float
    lat: float


@dataclass
class StationRow:
    osm_ref: str
    kind: str
    name: str | None
    lon: float
    lat: float


@dataclass
class BoundaryRow:
    osm_ref: str
    name: str
    admin_level: int
    wkb_hex: str


@dataclass
class MapData:
    addresses: list[AddressRow] = field(default_factory=list)
    places: list[PlaceRow] = field(default_factory=list)
    stations: list[StationRow] = field(default_factory=list)
    boundaries: list[BoundaryRow] = field(default_factory=list)
    road_ways: list[RoadWay] = field(default_factory=list)  # drivable ways, for the graph
    # (name, highway, wkt, other names) for streets
    named_ways: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    objects_read: int = 0
    # Named administrative boundary relations: those seen, and those the extract holds whole (assembled into areas)
    boundary_relations: set[str] = field(default_factory=set)
    boundaries_assembled: set[str] = field(default_factory=set)

    @property
    def incomplete_boundaries(self) -> int:
        """Boundary relations cut by the extract's edge (their members not all in the file): not fatal, they are
        read from the data instead (geo.osm.areas)."""
        return len(self.boundary_relations - self.boundaries_assembled)


def _address(ref: str, source: str, tags, lon: float, lat: float) -> AddressRow:
    return AddressRow(
        ref,
        source,
        tags.get("addr:street"),
        tags.get("addr:place"),
        tags["addr:housenumber"],
        tags.get("addr:postcode"),
        tags.get("addr:city"),
        lon,
        lat,
    )


def street_alt_names(tags) -> list[str]:
    """A named way's other names (name:sv, alt_name "A;B", old_name...), each once, without its own name."""
    name = tags.get("name")
    found: list[str] = []
    for key, value in ((t.k, t.v) for t in tags):
        if key in STREET_NAME_KEYS or _LANGUAGE_NAME.fullmatch(key):
            for alt in value.split(";"):
                alt = alt.strip()
                if alt and alt != name and alt not in found:
                    found.append(alt)
    return found


def _classify(tags) -> tuple[str, str] | None:
    for key in PLACE_KEYS:
        value = tags.get(key)
        if value and value not in ("yes", "no"):
            return key, value
    if tags.get("building") in ("church", "chapel", "cathedral", "school", "hospital", "fire_station"):
        return "building", tags["building"]
    return None


def _station_kind(tags) -> str | None:
    for (key, value), kind in STATION_KINDS.items():
        if tags.get(key) == value:
            return kind
    return None


class _Collector:
    def __init__(self) -> None:
        self.data = MapData()
        self.addr_nodes: dict[int, dict] = {}  # node id -> address tags, for interpolation ways
        self.interpolations: list[tuple[int, str, list[tuple[int, float, float]], dict]] = []
        # "n1"/"w2" -> the street of an address that names none: its associatedStreet relation's, or that of
        # the interpolation way it ends
        self.associated: dict[str, str] = {}

    def point_features(self, ref: str, tags, lon: float, lat: float, *, source: str) -> None:
        if "addr:housenumber" in tags:
            self.data.addresses.append(_address(ref, source, tags, lon, lat))
        kind = _station_kind(tags)
        if kind:
            self.data.stations.append(StationRow(ref, kind, tags.get("name"), lon, lat))
        name = tags.get("name")
        if name:
            category = _classify(tags)
            if category:
                extra = {k: tags[k] for k in NAME_KEYS if k in tags}
                if category[0] == "place":  # a town's or quarter's names in the other languages: "Helsingfors"
                    extra.update({t.k: t.v for t in tags if _LANGUAGE_NAME.fullmatch(t.k)})
                extra.update({k: tags[k] for k in ("addr:street", "addr:housenumber") if k in tags})
                self.data.places.append(PlaceRow(ref, name, category[0], category[1], extra, lon, lat))

    def node(self, n) -> None:
        tags = n.tags
        if len(tags) == 0:
            return
        lon, lat = n.location.lon, n.location.lat
        self.point_features(f"n{n.id}", tags, lon, lat, source="node")
        if "addr:housenumber" in tags:
            self.addr_nodes[n.id] = dict(tags)

    def way(self, w) -> None:
        tags = w.tags
        highway = tags.get("highway")
        if "addr:interpolation" in tags:
            nodes = [(nd.ref, nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
            self.interpolations.append((w.id, tags["addr:interpolation"], nodes, dict(tags)))
        if not highway:
            if not w.is_closed() and ("addr:housenumber" in tags or _classify(tags)):
                coords = [(nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
                if coords:
                    mid = (
                        shapely.LineString(coords).interpolate(0.5, normalized=True)
                        if len(coords) > 1
                        else shapely.Point(coords[0])
                    )
                    self.point_features(f"w{w.id}", tags, mid.x, mid.y, source="building")
            return
        coords = [(nd.lon, nd.lat) for nd in w.nodes if nd.location.valid()]
        if len(coords) < 2:
            return
        name = tags.get("name")
        if name:
            wkt = "LINESTRING(" + ",".join(f"{x:.7f} {y:.7f}" for x, y in coords) + ")"
            self.data.named_ways.append((name, highway, wkt, street_alt_names(tags)))
        if is_drivable(tags):
            self.data.road_ways.append(
                RoadWay(
                    way_id=w.id,
                    highway=highway,
                    name=name,
                    node_ids=[nd.ref for nd in w.nodes if nd.location.valid()],
                    coords=coords,
                    oneway=oneway_direction(tags),
                    speed_kph=speed_kph(tags),
                )
            )

    def area(self, a, factory: osmium.geom.WKBFactory) -> None:
        tags = a.tags
        ref = ("w" if a.from_way() else "r") + str(a.orig_id())
        is_boundary = tags.get("boundary") == "administrative" and not a.from_way()
        wanted = (
            is_boundary or "addr:housenumber" in tags or _station_kind(tags) or (tags.get("name") and _classify(tags))
        )
        if not wanted:
            return
        try:
            geom_hex = factory.create_multipolygon(a)
        except RuntimeError:  # an incomplete ring at the edge of the extract: nothing to place
            return
        if is_boundary and tags.get("name") and tags.get("admin_level", "").isdigit():
            self.data.boundaries_assembled.add(ref)
            self.data.boundaries.append(BoundaryRow(ref, tags["name"], int(tags["admin_level"]), geom_hex))
        if "highway" in tags:  # a pedestrian square and the like: a place at most, never an address
            return
        shape = wkb.loads(geom_hex, hex=True)
        point = shape.representative_point() if not shape.centroid.within(shape) else shape.centroid
        self.point_features(ref, tags, point.x, point.y, source="building")

    def relation(self, r) -> None:
        """An associatedStreet relation names the street of its houses (its own name, else its street member's);
        a named administrative boundary is counted, to say in the import's summary which the extract cut."""
        if r.tags.get("boundary") == "administrative" and r.tags.get("name") and r.tags.get("admin_level"):
            self.data.boundary_relations.add(f"r{r.id}")
        if r.tags.get("type") != "associatedStreet":
            return
        name = r.tags.get("name")
        houses = [f"{m.type}{m.ref}" for m in r.members if m.role in ("house", "address", "addr")]
        if name:
            for ref in houses:
                self.associated.setdefault(ref, name)

    def finish_associated_streets(self) -> None:
        for address in self.data.addresses:
            if address.street is None and address.place is None and address.osm_ref in self.associated:
                address.street = self.associated[address.osm_ref]

    def finish_interpolations(self) -> None:
        """Expand addr:interpolation ways into one address per number between their tagged ends."""
        for way_id, scheme, nodes, tags in self.interpolations:
            ends = [(i, self.addr_nodes.get(ref)) for i, (ref, _, _) in enumerate(nodes)]
            tagged = [(i, t) for i, t in ends if t and t.get("addr:housenumber", "").isdigit()]
            step = 1 if scheme == "all" else 2 if scheme in ("odd", "even") else None
            if step is None or len(tagged) < 2:
                continue
            for (i0, t0), (i1, t1) in zip(tagged, tagged[1:], strict=False):
                n0, n1 = int(t0["addr:housenumber"]), int(t1["addr:housenumber"])
                # The street: the way's own tag, else either end's (often only one end node carries it).
                street = tags.get("addr:street") or t0.get("addr:street") or t1.get("addr:street")
                if street:  # its end nodes without a street of their own are on the way's street
                    for ref in (nodes[i0][0], nodes[i1][0]):
                        self.associated.setdefault(f"n{ref}", street)
                    t0 = {**t0, "addr:street": street}
                if abs(n1 - n0) <= step or abs(n1 - n0) > 400:
                    continue
                line = shapely.LineString([(x, y) for _, x, y in nodes[i0 : i1 + 1]])
                sign = 1 if n1 > n0 else -1
                for number in range(n0 + sign * step, n1, sign * step):
                    pt = line.interpolate((number - n0) / (n1 - n0), normalized=True)
                    self.data.addresses.append(
                        _address(f"w{way_id}", "interpolation", {**t0, "addr:housenumber": str(number)}, pt.x, pt.y)
                    )


def read_map(path: str, on_progress: Callable[[int], None] | None = None) -> MapData:
    collector = _Collector()
    factory = osmium.geom.WKBFactory()
    count = 0
    try:
        processor = osmium.FileProcessor(path).with_locations().with_areas()
        for count, obj in enumerate(processor, 1):
            if obj.is_node():
                collector.node(obj)
            elif obj.is_way():
                collector.way(obj)
            elif obj.is_area():
                collector.area(obj, factory)
            elif obj.is_relation():
                collector.relation(obj)
            if on_progress and count % 20_000 == 0:
                on_progress(count)
    except RuntimeError as exc:  # libosmium reports bad input as RuntimeError with a reason
        raise MapReadError(f"{path}: not a readable OSM file ({exc})") from exc
    collector.finish_interpolations()
    collector.finish_associated_streets()
    if count == 0:
        raise MapReadError(f"{path}: holds no OSM objects")
    collector.data.objects_read = count
    if on_progress:
        on_progress(collector.data.objects_read)
    return collector.data
