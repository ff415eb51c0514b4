"""Turn-by-turn steps of a route: its road pieces grouped by street, a manoeuvre where the street changes.

A step is what a crew does at one point (depart, turn, arrive) and the stretch driven after it up to the next
manoeuvre. Consecutive pieces of the same named street are one step, whatever their geometry: a driver follows
a street by its name. Pieces without a name are one step while the road runs on within SLIGHT_DEG; a bend
beyond that at a junction is a manoeuvre of its own, since there is no name to follow. Coming back along the
twin of the piece just driven is always a U-turn.

The turn at a junction is the change of bearing from the way in to the way out, each measured over the
BEARING_M of road nearest the junction (OSM draws junctions with short kinks that a single segment would
take for the road's direction). Positive is clockwise, i.e. to the right:

    |change| <= 20°  straight     20° < |change| <= 45°  slight_left / slight_right
    45° < |change| <= 135°  left / right     135° < |change| <= 170°  sharp_left / sharp_right
    |change| > 170°  uturn

Cheap by construction (it runs for every assignment): bearings are computed only where a step may begin,
on a few points of two edges, in plain floats.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from geo.routing.graph import RoadNetwork

STRAIGHT_DEG = 20.0
SLIGHT_DEG = 45.0
TURN_DEG = 135.0
SHARP_DEG = 170.0
BEARING_M = 15.0
_M_PER_DEG = 111_195.0  # metres per degree of latitude (mean Earth radius), enough for a bearing

Piece = tuple[int, float, float]  # edge index, from fraction, to fraction along its direction of travel
LatLon = tuple[float, float]

_VERB = {
    "straight": "Continue",
    "slight_left": "Bear left",
    "slight_right": "Bear right",
    "left": "Turn left",
    "right": "Turn right",
    "sharp_left": "Turn sharp left",
    "sharp_right": "Turn sharp right",
    "uturn": "Make a U-turn",
}
_COMPASS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")


@dataclass(frozen=True)
class Step:
    instruction: str  # plain words: "Turn left onto Landstrasse"
    street: str | None  # the street driven after the manoeuvre, None where the road has no name
    turn: str  # depart, straight, slight_left/right, left/right, sharp_left/right, uturn, arrive
    meters: float  # driven from this manoeuvre to the next
    seconds: float
    at: LatLon  # (lat, lon) of the manoeuvre

    def as_dict(self) -> dict:
        return {
            "instruction": self.instruction,
            "street": self.street,
            "turn": self.turn,
            "meters": round(self.meters, 1),
            "seconds": round(self.seconds, 1),
            "at": [round(self.at[0], 6), round(self.at[1], 6)],
        }


def turn_of(change_deg: float) -> str:
    """The turn for a change of bearing in degrees (positive clockwise), thresholds as documented above."""
    d = (change_deg + 180.0) % 360.0 - 180.0
    size = abs(d)
    if size <= STRAIGHT_DEG:
        return "straight"
    side = "right" if d > 0 else "left"
    if size <= SLIGHT_DEG:
        return f"slight_{side}"
    if size <= TURN_DEG:
        return side
    if size <= SHARP_DEG:
        return f"sharp_{side}"
    return "uturn"


def route_steps(
    net: RoadNetwork, pieces: Sequence[Piece], coords: Sequence[LatLon], seconds: float, offroad_from_s: float
) -> list[Step]:
    """The steps of a route given as road pieces in order, its (lat, lon) line and its total seconds.

    Step seconds are their pieces' drive times with the junction delay of each node entered; the off-road leg
    to the road counts in the first step and whatever remains of `seconds` (the leg off the road at the end,
    and the delays the end legs account for) in the last driving step, so the steps sum to the route.
    """
    pieces = [p for p in pieces if p[2] > p[1]]
    start, end = coords[0], coords[-1]
    names, src = net.edge_name, net.edge_source
    groups: list[list] = []  # [turn, edge index of the first piece, meters, seconds]
    for i, (e, f0, f1) in enumerate(pieces):
        meters = (f1 - f0) * float(net.edge_length_m[e])
        secs = (f1 - f0) * float(net.edge_travel_s[e])
        if f1 >= 1.0 and i < len(pieces) - 1:
            secs += float(net.node_delay_s[net.edge_target[e]])
        turn = None if i == 0 else _turn_between(net, pieces[i - 1][0], e)
        new_step = turn is None or turn == "uturn" or names[e] != names[groups[-1][1]]
        if new_step or (turn != "straight" and not names[e]):
            groups.append([turn or "depart", e, meters, secs])
        else:
            groups[-1][2] += meters
            groups[-1][3] += secs
    if not groups:  # both ends on the same point of the road
        groups.append(["depart", -1, 0.0, 0.0])
    groups[0][3] += offroad_from_s
    groups[-1][3] += max(0.0, seconds - sum(g[3] for g in groups))
    steps = []
    for k, (turn, e, meters, secs) in enumerate(groups):
        street = (str(names[e]) or None) if e >= 0 else None
        if k == 0:
            at = start
            words = f"Head {_compass(coords)}" + (f" on {street}" if street else "")
        else:
            lon, lat = net.node_lonlat[src[e]]
            at = (float(lat), float(lon))
            words = _VERB[turn] + (f" onto {street}" if street else "")
        steps.append(Step(words, street, "depart" if k == 0 else turn, meters, secs, at))
    steps.append(Step("Arrive at the destination", steps[-1].street, "arrive", 0.0, 0.0, end))
    return steps


def _turn_between(net: RoadNetwork, e_in: int, e_out: int) -> str | None:
    """The turn from edge e_in onto e_out at the node joining them; None is never returned for a junction
    (the Optional only lets the caller mark the first piece)."""
    if net.edge_twin[e_in] == e_out:
        return "uturn"
    names = net.edge_name
    if names[e_in] and names[e_in] == names[e_out]:
        return "straight"  # same street: merged whatever the bend, no bearings needed
    way_in = _heading(net.edge_lonlat(e_in).tolist(), at_end=True)
    way_out = _heading(net.edge_lonlat(e_out).tolist(), at_end=False)
    return turn_of(way_out - way_in)


def _heading(lonlat: list[list[float]], at_end: bool) -> float:
    """Bearing (degrees clockwise from north) of the direction of travel over the BEARING_M nearest the
    junction: at the end of an edge driven into it, at the start of an edge driven out of it."""
    pts = lonlat[::-1] if at_end else lonlat
    lon0, lat0 = pts[0]
    scale = math.cos(math.radians(lat0))
    far = pts[-1]
    for lon, lat in pts[1:]:
        if math.hypot((lon - lon0) * scale, lat - lat0) * _M_PER_DEG >= BEARING_M:
            far = [lon, lat]
            break
    bearing = _bearing(lon0, lat0, far[0], far[1], scale)
    return (bearing + 180.0) % 360.0 if at_end else bearing


def _bearing(lon0: float, lat0: float, lon1: float, lat1: float, scale: float) -> float:
    return math.degrees(math.atan2((lon1 - lon0) * scale, lat1 - lat0)) % 360.0


def _compass(coords: Sequence[LatLon]) -> str:
    """The direction a crew heads off in, over the first BEARING_M of the route."""
    heading = _heading([[lon, lat] for lat, lon in coords[:64]], at_end=False)
    return _COMPASS[int((heading + 22.5) // 45.0) % 8]
