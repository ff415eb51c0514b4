"""Drive times and routes on the imported road graph: the dispatch hot path is `times_to` (one incident
against every unit), which is one Dijkstra from the incident on the reversed graph.

Points are snapped to roads (snap.py). Single points that a query is about (the incident of `times_to`, the
origin of `times_from`, both ends of `route`) raise RoutingError when they are not coordinates, lie outside
the map area or more than MAX_SNAP_M from a road. In the lists (units, demand points) a malformed coordinate
raises too, but a point off the map or far from any road gets `inf`: one unit reporting from across the border
must not stop the others from being ranked.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geo.routing import search
from geo.routing.geometry import RoutingError, cut, straight_line_m
from geo.routing.graph import RoadNetwork
from geo.routing.snap import (
    MAX_SNAP_M,
    OFFROAD_KPH,
    Snap,
    Snapper,
    Snaps,
    check_latlon,
    destination_legs,
    origin_legs,
)
from geo.routing.steps import Piece, Step, route_steps
from geo.routing.store import load_network

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Route:
    seconds: float  # including the off-road legs at both ends
    meters: float  # on roads, from snapped point to snapped point
    coords: list[LatLon]  # road geometry from snapped_from to snapped_to
    snapped_from: Snap
    snapped_to: Snap
    # What the steps are made of: the road pieces driven, on the graph they index (compare=False: a route is
    # its times and line, not the object it was computed on).
    pieces: tuple[Piece, ...] = field(default=(), repr=False)
    network: RoadNetwork | None = field(default=None, repr=False, compare=False)

    def steps(self) -> list[Step]:
        """Turn-by-turn steps (see steps.py): computed on demand, a route's times need none of it."""
        if self.network is None:
            return []
        offroad_s = self.snapped_from.distance_m / (OFFROAD_KPH / 3.6)
        return route_steps(self.network, self.pieces, self.coords, self.seconds, offroad_s)


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

    def times_to(
        self,
        lat: float,
        lon: float,
        sources: Sequence[LatLon],
        cutoff_s: float | None = None,
        reach_m: float = MAX_SNAP_M,
    ) -> np.ndarray:
        """Seconds from each source to (lat, lon): one Dijkstra from the target on the reversed graph. A target
        further than MAX_SNAP_M from the roads is reached by the nearest road within `reach_m`."""
        target, many = self.snapper.snap_one(lat, lon, sources, reach_m=reach_m)
        return self._times(many, target, reverse=True, cutoff_s=cutoff_s)[:, 0]

    def times_from(
        self, lat: float, lon: float, targets: Sequence[LatLon], cutoff_s: float | None = None
    ) -> np.ndarray:
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
            return self._assemble(a, b, None, direct)
        nodes = [int(b_nodes[0, last])]
        while pred[0, nodes[-1]] != net.n_nodes:  # back to the virtual origin row
            nodes.append(int(pred[0, nodes[-1]]))
        nodes.reverse()
        first = int(np.argmin(np.where(a_nodes[0] == nodes[0], a_secs[0], np.inf)))
        return self._assemble(a, b, (first, nodes, last), float(via[last]))

    def tree_to(
        self,
        lat: float,
        lon: float,
        sources: Sequence[LatLon],
        cutoff_s: float | None = None,
        reach_m: float = MAX_SNAP_M,
    ) -> "Tree":
        """`times_to` that keeps its search tree: the route from any of the sources is then a walk up the
        tree, not a second Dijkstra (the matcher sends each unit it assigns its route)."""
        if cutoff_s is not None and not cutoff_s >= 0:
            raise RoutingError(f"cutoff_s must be a number of seconds >= 0, got {cutoff_s}")
        return Tree(self, *self.snapper.snap_one(lat, lon, sources, reach_m=reach_m), cutoff_s)

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
        out = np.minimum(
            search.matrix(net, origin_legs(net, a), destination_legs(net, b), reverse, cutoff_s),
            search.same_edge(net, a, b),
        )
        if cutoff_s is not None:
            out[out > cutoff_s] = np.inf
        return out

    def _assemble(self, a: Snaps, b: Snaps, path: tuple[int, list[int], int] | None, seconds: float) -> Route:
        """The Route from a to b (one point each): along one road piece when `path` is None, else by the path
        (a's leg, the nodes in order, b's leg)."""
        net = self.network
        if path is None:
            e, fa, fb = int(a.edge[0]), float(a.fraction[0]), float(b.fraction[0])
            if fa > fb:  # backwards along the piece: on its twin, whose fractions run the other way
                e, fa, fb = int(net.edge_twin[e]), 1 - fa, 1 - fb
            pieces = [(e, fa, fb)]
        else:
            first, nodes, last = path
            pieces = _end_piece(net, a, first, origin=True)
            pieces += [(net.edge_between(u, v), 0.0, 1.0) for u, v in zip(nodes, nodes[1:], strict=False)]
            pieces += _end_piece(net, b, last, origin=False)
        coords = self._geometry(pieces, a, b)
        meters = sum((f1 - f0) * float(net.edge_length_m[e]) for e, f0, f1 in pieces)
        return Route(seconds, meters, coords, self.snapper.describe(a), self.snapper.describe(b), tuple(pieces), net)

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
            rows = live[lo : lo + batch]
            self.node_to[:, rows] = search.from_points(net.backward, nodes[rows], secs[rows], None)[:, : net.n_nodes].T
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


class Tree:
    """Drive times from many sources to one target and the search tree behind them: one Dijkstra from the
    target on the reversed graph, with predecessors. `seconds` equals `Router.times_to`'s; `route(i)` equals
    `Router.route(sources[i], target)`'s drive time, by walking the tree towards the target."""

    def __init__(self, router: Router, target: Snaps, sources: Snaps, cutoff_s: float | None) -> None:
        net = router.network
        self._router, self._target, self._sources = router, target, sources
        self._s_nodes, s_secs = origin_legs(net, sources)
        self._t_nodes, self._t_secs = destination_legs(net, target)
        dist, self._pred = search.from_points(net.backward, self._t_nodes, self._t_secs, cutoff_s, predecessors=True)
        via = dist[0, self._s_nodes] + s_secs  # (sources, legs)
        self._leg = via.argmin(axis=1)
        self._graph = via[np.arange(len(via)), self._leg]
        self._direct = search.same_edge(net, sources, target)[:, 0]
        self.seconds = np.minimum(self._graph, self._direct)
        if cutoff_s is not None:
            self.seconds[self.seconds > cutoff_s] = np.inf

    def route(self, i: int) -> Route:
        """The fastest route from source i to the target, with its road geometry."""
        if not np.isfinite(self.seconds[i]):
            raise RoutingError(f"no route from source {i} within the search")
        net, a, b = self._router.network, self._sources.take([i]), self._target
        if self._direct[i] <= self._graph[i]:
            return self._router._assemble(a, b, None, float(self._direct[i]))
        nodes = [int(self._s_nodes[i, self._leg[i]])]
        while self._pred[0, nodes[-1]] != net.n_nodes:  # on the reversed graph the predecessor is the next node
            nodes.append(int(self._pred[0, nodes[-1]]))
        last = int(np.argmin(np.where(self._t_nodes[0] == nodes[-1], self._t_secs[0], np.inf)))
        return self._router._assemble(a, b, (int(self._leg[i]), nodes, last), float(self._graph[i]))
