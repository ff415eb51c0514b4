"""Small geometry helpers of the router: straight-line distance and cutting a polyline at a fraction."""

import numpy as np

from geo.osm.roads import haversine_m


class RoutingError(ValueError):
    """A point the router cannot route: not a coordinate, outside the map, or too far from any road."""


def straight_line_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points: the baseline that ignores roads."""
    return float(haversine_m(a[1], a[0], b[1], b[0]))


def polyline_m(latlon) -> float:
    """Length in metres of a (lat, lon) polyline."""
    arr = np.asarray(latlon, dtype=float).reshape(-1, 2)
    if len(arr) < 2:
        return 0.0
    return float(haversine_m(arr[:-1, 1], arr[:-1, 0], arr[1:, 1], arr[1:, 0]).sum())


def cut(xy: np.ndarray, f0: float, f1: float) -> np.ndarray:
    """The part of a polyline between fractions f0 <= f1 of its length, endpoints interpolated.

    Works on any planar coordinates; the router passes metres of its local projection so that fractions
    agree with the ones the snapping measured.
    """
    seg = np.hypot(*np.diff(xy, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0.0:
        return xy[[0, -1]]
    d0, d1 = np.clip([f0 * total, f1 * total], 0.0, total)
    inner = np.nonzero((cum > d0) & (cum < d1))[0]
    return np.vstack([_at(xy, cum, d0), xy[inner], _at(xy, cum, d1)])


def _at(xy: np.ndarray, cum: np.ndarray, d: float) -> np.ndarray:
    i = int(np.clip(np.searchsorted(cum, d, side="right") - 1, 0, len(xy) - 2))
    span = cum[i + 1] - cum[i]
    t = 0.0 if span <= 0 else (d - cum[i]) / span
    return xy[i] + t * (xy[i + 1] - xy[i])
