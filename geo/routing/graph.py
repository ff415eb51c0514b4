"""The drivable road graph as arrays: the largest strongly connected component of the imported map.

Nodes are junctions and dead ends, renumbered 0..n-1 inside the component; edges are directions of travel
(a two-way road is two edges, each the other's `twin`). Only the largest strongly connected component is
kept so that every node reaches every other one: a unit placed on a fragment cut off by a one-way
mapping error would otherwise never be reachable and silently drop out of dispatch.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

# Seconds lost entering a junction (three or more roads meet): the imported graph knows no traffic lights,
# give-way rules or turn angles, so pure length/speed would be optimistic on routes through many junctions
# and would prefer zigzags through residential grids over the through road an ambulance driver takes.
JUNCTION_DELAY_S = 2.0
JUNCTION_DEGREE = 3


@dataclass(eq=False)
class RoadNetwork:
    sha256: str  # of the map file this graph came from: the cache key
    node_lonlat: np.ndarray  # (n, 2)
    edge_source: np.ndarray  # (m,) int32, node index
    edge_target: np.ndarray
    edge_id: np.ndarray  # (m,) int64, road_edges.id in the database
    edge_travel_s: np.ndarray  # (m,) float64, length / speed as imported
    edge_length_m: np.ndarray
    edge_name: np.ndarray  # (m,) unicode, "" where the road has no name
    edge_twin: np.ndarray  # (m,) int32, the opposite direction of the same road piece, -1 on a one-way
    coord_ptr: np.ndarray  # (m + 1,) int64: edge e's geometry is coords[coord_ptr[e]:coord_ptr[e + 1]]
    coords: np.ndarray  # (k, 2) lon, lat in the direction of travel
    from_cache: bool = False
    load_s: float = 0.0
    node_delay_s: np.ndarray = field(init=False)
    edge_cost_s: np.ndarray = field(init=False)
    forward: csr_matrix = field(init=False)  # n x n, the cheapest edge per node pair, no loops
    backward: csr_matrix = field(init=False)  # its transpose: Dijkstra on it gives times *to* a node
    forward_edge: np.ndarray = field(init=False)  # parallel to forward.indices: which edge that entry is

    def __post_init__(self) -> None:
        n = self.n_nodes
        src, dst = self.edge_source.astype(np.int64), self.edge_target.astype(np.int64)
        # Degree counts distinct neighbours, whatever the direction: a two-way road through a node adds 2, not
        # its 4 directed edges, so a node where a road merely changes name stays free and only junctions pay.
        pairs = np.unique(np.minimum(src, dst) * n + np.maximum(src, dst))
        pairs = pairs[pairs // n != pairs % n]
        degree = np.bincount(np.concatenate([pairs // n, pairs % n]), minlength=n)
        self.node_delay_s = np.where(degree >= JUNCTION_DEGREE, JUNCTION_DELAY_S, 0.0)
        self.edge_cost_s = self.edge_travel_s + self.node_delay_s[dst]
        # One CSR entry per node pair, the cheapest of parallel edges: scipy would otherwise sum duplicates.
        edges = np.nonzero(src != dst)[0]
        edges = edges[np.lexsort((self.edge_cost_s[edges], dst[edges], src[edges]))]
        key = src[edges] * n + dst[edges]
        edges = edges[np.concatenate([[True], key[1:] != key[:-1]])]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(src[edges], minlength=n))])
        self.forward = csr_matrix((self.edge_cost_s[edges], dst[edges].astype(np.int32), indptr), shape=(n, n))
        self.forward_edge = edges.astype(np.int32)
        self.backward = self.forward.T.tocsr()

    @property
    def n_nodes(self) -> int:
        return len(self.node_lonlat)

    @property
    def n_edges(self) -> int:
        return len(self.edge_source)

    def edge_lonlat(self, e: int) -> np.ndarray:
        return self.coords[self.coord_ptr[e] : self.coord_ptr[e + 1]]

    def edge_between(self, a: int, b: int) -> int:
        """The edge the graph uses from node a to node b (the cheapest if several)."""
        lo, hi = self.forward.indptr[a], self.forward.indptr[a + 1]
        k = lo + int(np.searchsorted(self.forward.indices[lo:hi], b))
        if k >= hi or self.forward.indices[k] != b:
            raise KeyError(f"no edge from node {a} to node {b}")
        return int(self.forward_edge[k])

    def snap_lines(self) -> np.ndarray:
        """One edge per road piece (the twin with the lower index), for the snapping index."""
        e = np.arange(self.n_edges)
        return e[(self.edge_twin < 0) | (e < self.edge_twin)]


def find_twins(source: np.ndarray, target: np.ndarray, way: np.ndarray) -> np.ndarray:
    """For each edge the edge of the same way in the opposite direction between the same nodes, else -1."""
    m = len(source)
    keys = np.vstack([np.column_stack([source, target, way]), np.column_stack([target, source, way])])
    _, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    owner = np.full(group.max() + 1, -1, dtype=np.int64)
    owner[group[:m]] = np.arange(m)
    twin = owner[group[m:]]
    ok = (twin >= 0) & (source != target)
    ok[ok] &= twin[twin[ok]] == np.nonzero(ok)[0]  # only pairs that agree both ways
    return np.where(ok, twin, -1).astype(np.int32)


def largest_component(
    *, sha256: str, node_lonlat, source, target, way, edge_id, travel_s, length_m, name, coord_ptr, coords
) -> RoadNetwork:
    """Keep the largest strongly connected component, renumbered, with the geometry of its edges."""
    n = len(node_lonlat)
    source, target = np.asarray(source, dtype=np.int64), np.asarray(target, dtype=np.int64)
    links = csr_matrix((np.ones(len(source)), (source, target)), shape=(n, n))
    _, labels = connected_components(links, directed=True, connection="strong")
    keep_node = labels == np.bincount(labels).argmax()
    renumber = np.cumsum(keep_node) - 1
    kept = np.nonzero(keep_node[source] & keep_node[target])[0]
    lengths = np.diff(coord_ptr)[kept]
    take = (
        np.repeat(coord_ptr[kept], lengths)
        + np.arange(lengths.sum())
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    src, dst = renumber[source[kept]].astype(np.int32), renumber[target[kept]].astype(np.int32)
    return RoadNetwork(
        sha256=sha256,
        node_lonlat=np.asarray(node_lonlat, dtype=float)[keep_node],
        edge_source=src,
        edge_target=dst,
        edge_id=np.asarray(edge_id, dtype=np.int64)[kept],
        edge_travel_s=np.asarray(travel_s, dtype=float)[kept],
        edge_length_m=np.asarray(length_m, dtype=float)[kept],
        edge_name=np.asarray(name, dtype=str)[kept],
        edge_twin=find_twins(src, dst, np.asarray(way)[kept]),
        coord_ptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        coords=np.asarray(coords, dtype=float)[take],
    )
