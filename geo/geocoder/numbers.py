"""Where a house number lies on a street, and how sure a point on a street can be.

A street-level answer is a point somewhere on the street: on a 3 km road it may be 1.5 km from the caller,
so its confidence falls with the street's length. A number the map does not hold is looked for before the
answer falls back to the street: between its neighbours on the same side, then between any neighbours, then
beside the nearest number on the same side when that one is close in the numbering.
"""

import math
import re

import shapely

from geo.geocoder.index import StreetEntity

# A point on a street this long or shorter is within a few houses of any address on it.
SHORT_STREET_M = 200.0
# At this length a point on the street is as likely far from the caller as near.
HALF_SURE_STREET_M = 1500.0
# How far in the numbering the nearest known number may be to stand for a missing one.
NEAREST_NUMBER_SPAN = 6
# Two neighbours closer than this per number between them are not one numbering to interpolate along.
MIN_M_PER_NUMBER = 1.5


def street_confidence(street: StreetEntity) -> float:
    """The most a street-level answer on this street can claim: 0.95 on a short street, 0.5 at 1.5 km, 0.3 below."""
    length = max(street.length_m, _number_spread(street))
    if length <= SHORT_STREET_M:
        return 0.95
    fall = math.log(length / SHORT_STREET_M) / math.log(HALF_SURE_STREET_M / SHORT_STREET_M)
    return max(0.3, 0.95 - 0.45 * fall)


def _number_spread(street: StreetEntity) -> float:
    """The extent of a street's addresses (for an addr:place or a street with no mapped way)."""
    if len(street.numbers) < 2:
        return 0.0
    xs, ys = zip(*street.numbers.values(), strict=True)
    return math.hypot(max(xs) - min(xs), max(ys) - min(ys))


def locate_number(street: StreetEntity, number: str) -> tuple[str, float, float, float] | None:
    """The point of a house number: exact, else interpolated between neighbours (same side first), else
    beside the nearest number on the same side a few numbers away; None if the street holds nothing near."""
    if number in street.numbers:
        x, y = street.numbers[number]
        return "address", x, y, 0.97
    digits = _leading_digits(number)
    if str(digits) in street.numbers:  # "12b" where only "12" is mapped: the same building group
        x, y = street.numbers[str(digits)]
        return "interpolated", x, y, 0.85
    known = sorted((_leading_digits(k), xy) for k, xy in street.numbers.items())
    for same_side, ceiling in ((True, 0.8), (False, 0.6)):
        side = [(n, xy) for n, xy in known if not same_side or n % 2 == digits % 2]
        lower = [(n, xy) for n, xy in side if n < digits]
        upper = [(n, xy) for n, xy in side if n > digits]
        if lower and upper:
            (n0, (x0, y0)), (n1, (x1, y1)) = lower[-1], upper[0]
            t = (digits - n0) / (n1 - n0)
            gap = math.hypot(x1 - x0, y1 - y0)
            if n1 - n0 > 10 and gap < MIN_M_PER_NUMBER * (n1 - n0):
                continue  # hundreds of numbers within a few metres: one of them is not this street's numbering
            conf = ceiling if gap <= 120 else ceiling - 0.15 if gap <= 300 else ceiling - 0.3
            return "interpolated", x0 + t * (x1 - x0), y0 + t * (y1 - y0), conf
    offsets = [(abs(n - digits), xy) for n, xy in known if n % 2 == digits % 2]
    if offsets:
        off, (x, y) = min(offsets, key=lambda item: item[0])
        if off <= NEAREST_NUMBER_SPAN:  # past the last mapped number: the houses continue from it, along the
            # street, on either side of it: the street's point beside that house, not the house itself
            if street.line is not None:
                on = street.line.interpolate(street.line.project(shapely.Point(x, y)))
                x, y = on.x, on.y
            return "interpolated", x, y, 0.65 - 0.03 * off
    return None


def _leading_digits(number: str) -> int:
    match = re.match(r"\d+", number)
    return int(match.group()) if match else 0
