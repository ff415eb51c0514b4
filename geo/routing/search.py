"""Dijkstra from snapped points: each point becomes a virtual node appended to the graph for one query.

A point on a road is not a node; it joins the graph through a few legs (see snap.py) of different lengths.
Appending one virtual row per point, whose entries are those legs, lets scipy's Dijkstra start from the point
itself, offsets and all, in one run, and lets many points share one call. The appended copy is made per query
(an O(edges) concatenation, tens of microseconds), so the shared graph is never mutated and a Router can be
used from several threads.
"""

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.routing.graph import RoadNetwork
from geo.routing.snap import Snaps

# Bound on the float64 cells of one batch of Dijkstra rows plus gathered legs (~64 MB).
BATCH_CELLS = 8_000_000


def with_virtual_sources(base: csr_matrix, nodes: np.ndarray, secs: np.ndarray) -> csr_matrix:
    """`base` (n x n) plus k rows n..n+k-1, row i with an entry to nodes[i, c] weighing secs[i, c] (finite
    ones; the cheapest of duplicates)."""
    n, k = base.shape[0], len(nodes)
    row = np.repeat(np.arange(k), nodes.shape[1])
    col, w = nodes.ravel(), secs.ravel()
    keep = np.isfinite(w)
    row, col, w = row[keep], col[keep], w[keep]
    order = np.lexsort((w, col, row))
    row, col, w = row[order], col[order], w[order]
    first = np.concatenate([[True], (row[1:] != row[:-1]) | (col[1:] != col[:-1])])
    row, col, w = row[first], col[first], w[first]
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(np.bincount(row, minlength=k))])
    return csr_matrix(
        (np.concatenate([base.data, w]), np.concatenate([base.indices, col.astype(base.indices.dtype)]), indptr),
        shape=(n + k, n + k),
    )


def from_points(
    base: csr_matrix, nodes: np.ndarray, secs: np.ndarray, cutoff_s: float | None, predecessors: bool = False
):
    """Dijkstra from k virtual points at once: a (k, n + k) array of seconds (and predecessors if asked)."""
    n = base.shape[0]
    graph = with_virtual_sources(base, nodes, secs)
    limit = np.inf if cutoff_s is None else float(cutoff_s)
    return dijkstra(
        graph, directed=True, indices=np.arange(n, n + len(nodes)), limit=limit, return_predecessors=predecessors
    )


def matrix(
    net: RoadNetwork,
    start: tuple[np.ndarray, np.ndarray],
    end: tuple[np.ndarray, np.ndarray],
    reverse: bool,
    cutoff_s: float | None,
) -> np.ndarray:
    """Seconds from each start point to each end point (start and end as legs: nodes, secs).

    Forward: one Dijkstra per start point, gathering the end legs. Reverse: one per end point on the
    transposed graph, gathering the start legs. Batched so the distance rows stay within BATCH_CELLS.
    """
    (s_nodes, s_secs), (e_nodes, e_secs) = start, end
    src_nodes, src_secs, dst_nodes, dst_secs = (e_nodes, e_secs, s_nodes, s_secs) if reverse else start + end
    base = net.backward if reverse else net.forward
    out = np.full((len(src_nodes), len(dst_nodes)), np.inf)
    live = np.nonzero(np.isfinite(src_secs).any(axis=1))[0]
    batch = max(1, BATCH_CELLS // (net.n_nodes + dst_nodes.size + 1))
    for lo in range(0, len(live), batch):
        rows = live[lo : lo + batch]
        dist = from_points(base, src_nodes[rows], src_secs[rows], cutoff_s)
        out[rows] = (dist[:, dst_nodes] + dst_secs).min(axis=2)
    return out.T if reverse else out


def same_edge(net: RoadNetwork, a: Snaps, b: Snaps) -> np.ndarray:
    """(len(a), len(b)) seconds driving straight along a shared road piece from a to b, inf elsewhere: the
    graph alone would send such a pair round the block when both lie between the same two nodes."""
    out = np.full((len(a.ok), len(b.ok)), np.inf)
    i, j = np.nonzero((a.edge[:, None] == b.edge[None, :]) & a.ok[:, None] & b.ok[None, :])
    if len(i):
        e, fa, fb = a.edge[i], a.fraction[i], b.fraction[j]
        twin = net.edge_twin[e]
        along = np.where(fa <= fb, (fb - fa) * net.edge_travel_s[e], np.inf)
        back = np.where((twin >= 0) & (fa >= fb), (fa - fb) * net.edge_travel_s[np.maximum(twin, 0)], np.inf)
        out[i, j] = np.minimum(along, back) + a.offroad_s[i] + b.offroad_s[j]
    return out
