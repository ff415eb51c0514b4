"""Drive times and routes on the imported road graph: the dispatch hot path is `times_to` (one incident
against every unit), which is one Dijkstra from the incident on the reversed graph.

Points are snapped to roads (snap.py). Single points that a query is about (the incident of `times_to`, the
origin of `times_from`, both ends of `route`) raise RoutingError when they are not coordinates, lie outside
the map area or more than MAX_SNAP_M from a road. In the lists (units, demand points) a malformed coordinate
raises too, but a point off the map or far from any road gets `inf`: one unit reporting from across the border
must not stop the others from being ranked.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geo.routing import search
from geo.routing.geometry import RoutingError, cut, straight_line_m
from geo.routing.graph import RoadNetwork
from geo.routing.snap import MAX_SNAP_M, Snap, Snapper, Snaps, check_latlon, destination_legs, origin_legs
from geo.routing.store import load_network

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Route:
    seconds: float  # including the off-road legs at both ends
    meters: float  # on roads, from snapped point to snapped point
    coords: list[LatLon]  # road geometry from snapped_from to snapped_to
    snapped_from: Snap
    snapped_to: Snap


class Router:
    def __init__(self, network: RoadNetwork) -> None:
        self.network = network
        self.snapper = Snapper(network)

    @classmethod
    def load(cls, libpq_url: str, cache_dir: Path | None = None) -> "Router":
        """The router of the current map (newest map_imports row), from the disk cache when it holds it."""
        return cls(load_network(libpq_url, cache_dir))

    @property
    def from_cache(self) -> bool:
        return self.network.from_cache

    def snap(self, lat: float, lon: float) -> Snap:
        return self.snapper.describe(self.snapper.snap_one(lat, lon)[0])

    def times_to(self, lat: float, lon: float, sources: Sequence[LatLon], cutoff_s: float | None = None,
                 reach_m: float = MAX_SNAP_M) -> np.ndarray:
        """Seconds from each source to (lat, lon): one Dijkstra from the target on the reversed graph. A target
        further than MAX_SNAP_M from the roads is reached by the nearest road within `reach_m`."""
        target, many = self.snapper.snap_one(lat, lon, sources, reach_m=reach_m)
        return self._times(many, target, reverse=True, cutoff_s=cutoff_s)[:, 0]

    def times_from(self, lat: float, lon: float, targets: Sequence[LatLon],
                   cutoff_s: float | None = None) -> np.ndarray:
        """Seconds from (lat, lon) to each target: one Dijkstra from the origin."""
        origin, many = self.snapper.snap_one(lat, lon, targets)
        return self._times(origin, many, reverse=False, cutoff_s=cutoff_s)[0]

    def table(self, sources: Sequence[LatLon], targets: Sequence[LatLon], cutoff_s: float | None = None) -> np.ndarray:
        """(len(sources), len(targets)) seconds, by as many Dijkstras as the shorter of the two lists."""
        a, b = self._snap_many(sources), self._snap_many(targets)
        return self._times(a, b, reverse=int(b.ok.sum()) < int(a.ok.sum()), cutoff_s=cutoff_s)

    def route(self, from_latlon: LatLon, to_latlon: LatLon) -> Route:
        """The fastest route with its road geometry, partial first and last road pieces included."""
        net = self.network
        a, b = self.snapper.snap_one(*from_latlon)[0], self.snapper.snap_one(*to_latlon)[0]
        a_nodes, a_secs = origin_legs(net, a)
        b_nodes, b_secs = destination_legs(net, b)
        dist, pred = search.from_points(net.forward, a_nodes, a_secs, None, predecessors=True)
        via = dist[0, b_nodes[0]] + b_secs[0]
        last = int(np.argmin(via))
        if not np.isfinite(via[last]):  # cannot happen within one strongly connected component
            raise RoutingError(f"no route from {from_latlon} to {to_latlon}")
        direct = float(search.same_edge(net, a, b)[0, 0])
        if direct <= via[last]:
            e, fa, fb = int(a.edge[0]), float(a.fraction[0]), float(b.fraction[0])
            if fa > fb:  # backwards along the piece: on its twin, whose fractions run the other way
                e, fa, fb = int(net.edge_twin[e]), 1 - fa, 1 - fb
            pieces, seconds = [(e, fa, fb)], direct
        else:
            nodes = [int(b_nodes[0, last])]
            while pred[0, nodes[-1]] != net.n_nodes:  # back to the virtual origin row
                nodes.append(int(pred[0, nodes[-1]]))
            nodes.reverse()
            first = int(np.argmin(np.where(a_nodes[0] == nodes[0], a_secs[0], np.inf)))
            pieces = _end_piece(net, a, first, origin=True)
            pieces += [(net.edge_between(u, v), 0.0, 1.0) for u, v in zip(nodes, nodes[1:], strict=False)]
            pieces += _end_piece(net, b, last, origin=False)
            seconds = float(via[last])
        coords = self._geometry(pieces, a, b)
        meters = sum((f1 - f0) * float(net.edge_length_m[e]) for e, f0, f1 in pieces)
        return Route(seconds, meters, coords, self.snapper.describe(a), self.snapper.describe(b))

    def destinations(self, targets: Sequence[LatLon]) -> "Destinations":
        """Fixed targets asked about again and again from changing origins: see Destinations."""
        return Destinations(self, targets)

    @staticmethod
    def straight_line_m(a: LatLon, b: LatLon) -> float:
        return straight_line_m(a, b)

    def _snap_many(self, points: Sequence[LatLon]) -> Snaps:
        return self.snapper.snap(check_latlon(points))

    def _times(self, a: Snaps, b: Snaps, *, reverse: bool, cutoff_s: float | None) -> np.ndarray:
        if cutoff_s is not None and not cutoff_s >= 0:
            raise RoutingError(f"cutoff_s must be a number of seconds >= 0, got {cutoff_s}")
        net = self.network
        out = np.minimum(search.matrix(net, origin_legs(net, a), destination_legs(net, b), reverse, cutoff_s),
                         search.same_edge(net, a, b))
        if cutoff_s is not None:
            out[out > cutoff_s] = np.inf
        return out

    def _geometry(self, pieces: list[tuple[int, float, float]], a: Snaps, b: Snaps) -> list[LatLon]:
        net, proj = self.network, self.snapper.projection
        parts = [a.lonlat[:1]]
        for e, f0, f1 in pieces:
            lonlat = net.edge_lonlat(e)
            if f0 > 0.0 or f1 < 1.0:
                x, y = proj.to_xy(lonlat[:, 0], lonlat[:, 1])
                px, py = cut(np.column_stack([x, y]), f0, f1).T
                lonlat = np.column_stack(proj.to_lonlat(px, py))
            parts.append(lonlat[1:])
        parts.append(b.lonlat[:1])
        line = np.vstack(parts)
        # Cut ends and snapped points agree to float noise; drop the repeats (0.1 mm) rather than draw them.
        keep = np.concatenate([[True], np.abs(np.diff(line, axis=0)).max(axis=1) > 1e-9])
        return list(zip(line[keep, 1].tolist(), line[keep, 0].tolist(), strict=True))


class Destinations:
    """Fixed targets (the move-up planner's demand cells and posts) asked about from ever new origins: one
    Dijkstra per target on the reversed graph, once, keeps the seconds from every node to every target
    (float32, nodes x targets); after that an origin's times are a lookup of its few road legs, microseconds
    where a table costs one Dijkstra per origin. Times are those of `Router.table` (to float32 precision)."""

    def __init__(self, router: Router, targets: Sequence[LatLon]) -> None:
        net = router.network
        self.network = net
        self.snaps = router._snap_many(targets)
        nodes, secs = destination_legs(net, self.snaps)
        self.node_to = np.full((net.n_nodes, len(nodes)), np.inf, dtype=np.float32)
        batch = max(1, search.BATCH_CELLS // (net.n_nodes + 1))
        live = np.nonzero(np.isfinite(secs).any(axis=1))[0]
        for lo in range(0, len(live), batch):
            rows = live[lo:lo + batch]
            self.node_to[:, rows] = search.from_points(net.backward, nodes[rows], secs[rows], None)[:, :net.n_nodes].T
        self._snap_many = router._snap_many

    def __len__(self) -> int:
        return self.node_to.shape[1]

    def times_from(self, origins: Sequence[LatLon], columns: Sequence[int] | None = None) -> np.ndarray:
        """(len(origins), targets) seconds, or only the targets at `columns`."""
        cols = slice(None) if columns is None else np.asarray(columns, dtype=np.int64)
        if len(origins) == 0:
            return np.empty((0, len(self) if columns is None else len(cols)))
        a = self._snap_many(origins)
        nodes, secs = origin_legs(self.network, a)
        out = (self.node_to[nodes][:, :, cols] + secs[:, :, None]).min(axis=1).astype(np.float64)
        snaps = self.snaps if columns is None else self.snaps.take(cols)
        return np.minimum(out, search.same_edge(self.network, a, snaps))


def _end_piece(net: RoadNetwork, s: Snaps, leg: int, origin: bool) -> list[tuple[int, float, float]]:
    """The partial road piece between a snapped point and the node its leg (see snap.py) joins."""
    e, f = int(s.edge[0]), float(s.fraction[0])
    if leg == 1:
        e, f = int(net.edge_twin[e]), 1 - f
    if leg > 1:  # the point is at the node itself
        return []
    return [(e, f, 1.0)] if origin else [(e, 0.0, f)]
