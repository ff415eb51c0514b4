"""Exact nearest point on a set of polylines, for many query points at once, with numpy and a KD-tree.

shapely's STRtree.query_nearest costs ~12 us per point on the bundled map (GEOS walks the tree point by point),
which made snapping 1,000 units ten times dearer than the Dijkstra it feeds. Here the polylines are cut into
sub-segments of at most `step` metres and a KD-tree holds their midpoints. If the nearest midpoint is d0 away,
the nearest segment is at most d0 away, so its midpoint is within d0 + step/2: every segment whose midpoint lies
in that ball is a candidate, and the exact point-to-segment distance picks the winner among them.
"""

import numpy as np
from scipy.spatial import cKDTree

SUBSEGMENT_M = 25.0
CANDIDATES = 16  # KD-tree neighbours looked at per point; points needing more are redone with a ball query


class SegmentIndex:
    def __init__(self, xy: np.ndarray, line_of_vertex: np.ndarray) -> None:
        """xy (k, 2) planar vertices of all lines, line_of_vertex (k,) their line, lines contiguous."""
        same = line_of_vertex[1:] == line_of_vertex[:-1]
        a, b, line = xy[:-1][same], xy[1:][same], line_of_vertex[:-1][same]
        seg_len = np.hypot(*(b - a).T)
        start = np.cumsum(seg_len) - seg_len  # along all lines; made per line below
        n_lines = int(line_of_vertex.max()) + 1
        line_len = np.bincount(line, weights=seg_len, minlength=n_lines)
        start -= np.concatenate([[0.0], np.cumsum(line_len)])[line]
        # Long segments (a straight road between two far bends) are cut so that the midpoint bound stays tight.
        self.step = max(SUBSEGMENT_M, float(np.median(seg_len)) if len(seg_len) else SUBSEGMENT_M)
        parts = np.maximum(1, np.ceil(seg_len / self.step)).astype(np.int64)
        seg = np.repeat(np.arange(len(a)), parts)
        k = np.arange(len(seg)) - np.repeat(np.cumsum(parts) - parts, parts)
        t0, t1 = k / parts[seg], (k + 1) / parts[seg]
        d = b[seg] - a[seg]
        self.a, self.b = a[seg] + t0[:, None] * d, a[seg] + t1[:, None] * d
        self.line = line[seg]
        self.start = start[seg] + t0 * seg_len[seg]
        self.line_len = np.maximum(line_len, 1e-9)
        self.ax, self.ay = self.a.T.copy()
        self.dx, self.dy = (self.b - self.a).T.copy()
        self.seg_len = np.hypot(self.dx, self.dy)
        self.inv_len2 = 1.0 / np.maximum(self.seg_len**2, 1e-18)
        self.half = float(self.seg_len.max()) / 2 if len(seg) else 0.0
        self.tree = cKDTree((self.a + self.b) / 2)

    def nearest(self, p: np.ndarray, max_m: float):
        """For points p (k, 2): (found, line, fraction along it, nearest point (k, 2), distance)."""
        k = len(p)
        line, frac, q, dist = np.zeros(k, np.int64), np.zeros(k), np.full((k, 2), np.nan), np.full(k, np.inf)
        rows = np.arange(k)
        for kk in (CANDIDATES, 8 * CANDIDATES, len(self.a)):  # widen only for the few points that need it
            kk = min(kk, len(self.a))
            cd, cand = self.tree.query(p[rows], k=kk)
            cd, cand = cd.reshape(len(rows), kk), cand.reshape(len(rows), kk)
            radius = cd[:, 0] + self.half + 1e-6  # nearest midpoint distance + half a segment: see above
            near = cd[:, 0] - self.half <= max_m
            cand = np.where(cd <= radius[:, None], cand, len(self.a))  # outside the ball: not a candidate
            full = (cd[:, -1] <= radius) & (kk < len(self.a))  # every slot in the ball: there may be more
            done = near & ~full
            self._pick(p, rows[done], cand[done], line, frac, q, dist)
            rows = rows[near & full]
            if not len(rows):
                break
        return dist <= max_m, line, frac, q, dist

    def _pick(self, p, rows, cand, line, frac, q, dist) -> None:
        """Exact distances to the candidate segments (x and y apart: numpy is slow on a last axis of 2)."""
        if not len(rows):
            return
        valid = cand < len(self.a)
        c = np.where(valid, cand, 0)
        ax, ay, dx, dy = self.ax[c], self.ay[c], self.dx[c], self.dy[c]
        rx, ry = p[rows, 0, None] - ax, p[rows, 1, None] - ay
        t = np.clip((rx * dx + ry * dy) * self.inv_len2[c], 0.0, 1.0)
        ex, ey = rx - t * dx, ry - t * dy
        d2 = np.where(valid, ex * ex + ey * ey, np.inf)
        j = np.argmin(d2, axis=1)
        r = np.arange(len(rows))
        best, tb = c[r, j], t[r, j]
        line[rows] = self.line[best]
        frac[rows] = np.clip((self.start[best] + tb * self.seg_len[best]) / self.line_len[self.line[best]], 0.0, 1.0)
        q[rows, 0], q[rows, 1] = ax[r, j] + tb * dx[r, j], ay[r, j] + tb * dy[r, j]
        dist[rows] = np.sqrt(d2[r, j])
