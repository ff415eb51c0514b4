"""Snapping points to the nearest drivable road piece, and the legs that join a snapped point to the graph.

A point is snapped to the nearest point of the nearest edge (not the nearest node: a house in the middle of a
long road is reached from both of its ends). Geometry is in the geocoder's local metric projection, so
distances are metres (nearest.py finds the nearest point). A two-way road piece is indexed once; its two
directions are both offered as legs, and Dijkstra picks whichever gives the better time.
"""

from dataclasses import dataclass

import numpy as np

from geo.geocoder.index import EARTH_M_PER_DEG_LAT, Projection
from geo.routing.geometry import RoutingError
from geo.routing.graph import RoadNetwork
from geo.routing.nearest import SegmentIndex

# From the raw point to the road: across a yard, a car park or a farm track the map does not hold, or on foot
# with equipment for the last metres. 15 km/h sits between a crew walking (5) and a vehicle crawling over
# unmapped ground (25), and keeps a point far off the road from ever looking close.
OFFROAD_KPH = 15.0
# Further than this from any drivable road the point is a mistake (a wrong coordinate, a summit), not an address.
MAX_SNAP_M = 2000.0
# A snapped point this close to an end of its edge is also at that node: reachable from every edge into it.
AT_NODE_M = 1.0
LEGS = 4  # candidate (node, seconds) pairs per point: each direction of the piece, and each end when at a node


@dataclass(frozen=True)
class Snap:
    edge_id: int  # road_edges.id of the road piece (one of its directions)
    fraction: float  # along that edge's direction of travel, 0 at its source node
    lat: float  # the snapped point on the road
    lon: float
    distance_m: float  # from the raw point to the road


@dataclass
class Snaps:
    """Snapping of k points as arrays; `ok` is False where a point is off the map or too far from a road."""

    ok: np.ndarray
    edge: np.ndarray  # internal edge index (the piece's line edge), 0 where not ok
    fraction: np.ndarray
    lonlat: np.ndarray  # (k, 2) of the snapped points
    distance_m: np.ndarray

    def take(self, rows) -> "Snaps":
        return Snaps(self.ok[rows], self.edge[rows], self.fraction[rows], self.lonlat[rows], self.distance_m[rows])

    @property
    def offroad_s(self) -> np.ndarray:
        return self.distance_m / (OFFROAD_KPH / 3.6)


def check_latlon(points) -> np.ndarray:
    """(k, 2) float array of (lat, lon); a RoutingError for anything that is not a coordinate."""
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError) as exc:
        raise RoutingError(f"not (lat, lon) coordinates: {exc}") from exc
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise RoutingError(f"expected (lat, lon) pairs, got an array of shape {arr.shape}")
    bad = ~np.isfinite(arr).all(axis=1) | (np.abs(arr[:, 0]) > 90) | (np.abs(arr[:, 1]) > 180)
    if bad.any():
        i = int(np.argmax(bad))
        raise RoutingError(f"point {i} ({arr[i, 0]}, {arr[i, 1]}) is not a valid latitude, longitude")
    return arr


SNAP_MEMO = 200_000  # remembered snaps (a few hundred bytes each); forgotten all at once beyond this


class Snapper:
    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        lo, hi = network.node_lonlat.min(axis=0), network.node_lonlat.max(axis=0)
        self.projection = Projection(float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2)
        margin = np.array([MAX_SNAP_M / self.projection.kx, MAX_SNAP_M / EARTH_M_PER_DEG_LAT])
        self.bounds = (lo - margin, hi + margin)  # lon/lat box beyond which nothing is within MAX_SNAP_M
        self.line_edge = network.snap_lines()
        ptr = network.coord_ptr
        sizes = ptr[self.line_edge + 1] - ptr[self.line_edge]
        take = (
            np.repeat(ptr[self.line_edge], sizes) + np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        )
        x, y = self.projection.to_xy(network.coords[take, 0], network.coords[take, 1])
        self.index = SegmentIndex(np.column_stack([x, y]), np.repeat(np.arange(len(sizes)), sizes))

    def in_bounds(self, latlon: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        return (latlon[:, 1] >= lo[0]) & (latlon[:, 1] <= hi[0]) & (latlon[:, 0] >= lo[1]) & (latlon[:, 0] <= hi[1])

    def snap(self, latlon: np.ndarray) -> Snaps:
        """Snap checked (lat, lon) points; those off the map or beyond MAX_SNAP_M come back not ok.

        Units mostly stand still (in quarters, on scene), and every incident snaps all of them again: a point
        snapped before is remembered (by its exact coordinates) and only new points are searched for."""
        memo = self.__dict__.setdefault("_memo", {})
        keys = list(map(tuple, latlon.tolist()))  # Python floats at once, not one numpy scalar at a time
        new = [i for i, key in enumerate(keys) if key not in memo]
        if new:
            found = self._snap(latlon[new])
            if len(memo) + len(new) > SNAP_MEMO:
                memo.clear()
            for j, i in enumerate(new):
                memo[keys[i]] = (found.ok[j], found.edge[j], found.fraction[j], found.lonlat[j], found.distance_m[j])
        rows = [memo[key] for key in keys]
        if not rows:
            return self._snap(latlon)
        ok, edge, fraction, lonlat, dist = zip(*rows, strict=True)
        return Snaps(
            np.array(ok, bool),
            np.array(edge, np.int64),
            np.array(fraction),
            np.array(lonlat).reshape(-1, 2),
            np.array(dist),
        )

    def _snap(self, latlon: np.ndarray, max_m: float = MAX_SNAP_M) -> Snaps:
        k = len(latlon)
        ok, edge, frac = np.zeros(k, bool), np.zeros(k, np.int64), np.zeros(k)
        snapped, dist = np.full((k, 2), np.nan), np.full(k, np.inf)
        inside = np.nonzero(self.in_bounds(latlon))[0]
        if len(inside):
            x, y = self.projection.to_xy(latlon[inside, 1], latlon[inside, 0])
            found, line, f, q, d = self.index.nearest(np.column_stack([x, y]), max_m)
            rows = inside[found]
            ok[rows], edge[rows], frac[rows], dist[rows] = True, self.line_edge[line[found]], f[found], d[found]
            snapped[rows] = np.column_stack(self.projection.to_lonlat(q[found, 0], q[found, 1]))
        return Snaps(ok, edge, frac, snapped, dist)

    def snap_one(self, lat: float, lon: float, more=(), reach_m: float = MAX_SNAP_M) -> tuple[Snaps, Snaps]:
        """Snap one point that must be routable (else a RoutingError saying why), and `more` points in the
        same pass (not ok where off the map or far from roads). With `reach_m` beyond MAX_SNAP_M, a point
        further from the roads (a mountain hut) is joined to the nearest road within that reach, its
        off-road leg counted at OFFROAD_KPH."""
        try:
            one = check_latlon([(lat, lon)])
        except RoutingError:
            raise RoutingError(f"({lat}, {lon}) is not a valid latitude, longitude") from None
        if not self.in_bounds(one)[0]:
            raise RoutingError(f"({lat}, {lon}) is outside the map area")
        snaps = self.snap(np.vstack([one, check_latlon(more)]))
        if not snaps.ok[0] and reach_m > MAX_SNAP_M:
            far = self._snap(one, reach_m)
            if far.ok[0]:
                rest = snaps.take(slice(1, None))
                return far, rest
        if not snaps.ok[0]:
            raise RoutingError(f"({lat}, {lon}) is more than {max(MAX_SNAP_M, reach_m):.0f} m from any drivable road")
        return snaps.take(slice(0, 1)), snaps.take(slice(1, None))

    def describe(self, snaps: Snaps, i: int = 0) -> Snap:
        return Snap(
            int(self.network.edge_id[snaps.edge[i]]),
            float(snaps.fraction[i]),
            float(snaps.lonlat[i, 1]),
            float(snaps.lonlat[i, 0]),
            float(snaps.distance_m[i]),
        )


def origin_legs(net: RoadNetwork, s: Snaps) -> tuple[np.ndarray, np.ndarray]:
    """(k, LEGS) nodes and seconds from each snapped point to them: on to the end of its edge in either
    direction (entering that node, so its junction delay counts), or nothing when the point is at a node."""
    e, f, twin = s.edge, s.fraction, net.edge_twin[s.edge]
    t, length = net.edge_travel_s[e], net.edge_length_m[e]
    src, dst = net.edge_source[e], net.edge_target[e]
    nodes = np.column_stack([dst, src, src, dst])
    secs = np.column_stack(
        [
            (1 - f) * t + net.node_delay_s[dst],
            np.where(twin >= 0, f * net.edge_travel_s[twin] + net.node_delay_s[src], np.inf),
            np.where(f * length <= AT_NODE_M, 0.0, np.inf),
            np.where((1 - f) * length <= AT_NODE_M, 0.0, np.inf),
        ]
    )
    return _finish(nodes, secs, s)


def destination_legs(net: RoadNetwork, s: Snaps) -> tuple[np.ndarray, np.ndarray]:
    """(k, LEGS) nodes and seconds from them to each snapped point: along its edge from the edge's start in
    either direction, or nothing when the point is at a node.

    A point at a node is in that junction, so arriving there along the edge pays its delay like any other way
    in: a point on a node then gets exactly the node-to-node time."""
    e, f, twin = s.edge, s.fraction, net.edge_twin[s.edge]
    t, length = net.edge_travel_s[e], net.edge_length_m[e]
    src, dst = net.edge_source[e], net.edge_target[e]
    at_src, at_dst = f * length <= AT_NODE_M, (1 - f) * length <= AT_NODE_M
    nodes = np.column_stack([src, dst, src, dst])
    secs = np.column_stack(
        [
            f * t + np.where(at_dst, net.node_delay_s[dst], 0.0),
            np.where(twin >= 0, (1 - f) * net.edge_travel_s[twin], np.inf)
            + np.where(at_src, net.node_delay_s[src], 0.0),
            np.where(at_src, 0.0, np.inf),
            np.where(at_dst, 0.0, np.inf),
        ]
    )
    return _finish(nodes, secs, s)


def _finish(nodes: np.ndarray, secs: np.ndarray, s: Snaps) -> tuple[np.ndarray, np.ndarray]:
    secs = secs + s.offroad_s[:, None]
    secs[~s.ok] = np.inf
    return nodes.astype(np.int64), secs
