"""Coordinates as callers and phones give them: decimal degrees, degrees-minutes(-seconds), with or without
hemisphere letters, comma or space separated."""

import re

# One coordinate: optional hemisphere letter, degrees, optional minutes and seconds, optional letter after.
_PART = re.compile(
    r"""^\s*(?P<h1>[NSEWO])?\s*
        (?P<deg>[-+]?\d{1,3}(?:[.,]\d+)?)\s*(?:°|º|deg|d\b)?\s*
        (?:(?P<min>\d{1,2}(?:[.,]\d+)?)\s*(?:'|′|’|min|m\b)?\s*)?
        (?:(?P<sec>\d{1,2}(?:[.,]\d+)?)\s*(?:"|″|''|”|sec|s\b)?\s*)?
        (?P<h2>[NSEWO])?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_DECIMAL_PAIR = re.compile(r"^\s*([-+]?\d{1,3}[.,]\d+)\s*[,;/\s]\s*([-+]?\d{1,3}[.,]\d+)\s*$")
_LETTER = re.compile(r"[NSEWO]", re.IGNORECASE)


def _num(text: str | None) -> float:
    return float(text.replace(",", ".")) if text else 0.0


def _parse_part(text: str) -> tuple[float, str | None] | None:
    match = _PART.match(text)
    if not match:
        return None
    deg, minutes, seconds = _num(match["deg"]), _num(match["min"]), _num(match["sec"])
    if minutes >= 60 or seconds >= 60 or (match["min"] and "." in match["deg"]):
        return None
    value = abs(deg) + minutes / 60 + seconds / 3600
    hemi = (match["h1"] or match["h2"] or "").upper() or None
    if deg < 0 or hemi in ("S", "W"):
        value = -value
    return value, {"O": "E"}.get(hemi, hemi)


def _split(text: str) -> tuple[str, str] | None:
    text = text.strip()
    decimal = _DECIMAL_PAIR.match(text)
    if decimal:
        return decimal.group(1), decimal.group(2)
    letters = [m.start() for m in _LETTER.finditer(text)]
    if len(letters) == 2:
        if letters[0] == 0:  # prefix style: "N 47° 08.4' E 9° 31.2'"
            return text[: letters[1]].rstrip(" ,;"), text[letters[1] :]
        return text[: letters[0] + 1], text[letters[0] + 1 :].lstrip(" ,;")  # suffix style: "47°08'N 9°31'E"
    for sep in (",", ";", "/"):
        if text.count(sep) == 1:
            a, b = text.split(sep)
            return a, b
    tokens = text.split()
    if len(tokens) in (4, 6) and all(re.match(r"^[-+]?\d", t) for t in tokens):
        half = len(tokens) // 2  # "47 8 28 9 31 16": degrees, minutes, seconds without symbols
        return " ".join(tokens[:half]), " ".join(tokens[half:])
    return None


def parse_coordinates(text: str) -> tuple[float, float, bool] | None:
    """(lat, lon, order_known) or None. order_known is False when no letters said which is which."""
    if not re.search(r"\d", text) or re.search(
        r"[a-zA-Z]{3,}", text.replace("deg", "").replace("min", "").replace("sec", "")
    ):
        return None
    halves = _split(text)
    if not halves:
        return None
    first, second = _parse_part(halves[0]), _parse_part(halves[1])
    if not first or not second:
        return None
    (a, ha), (b, hb) = first, second
    if ha in ("E", "W") or hb in ("N", "S"):
        a, b, ha, hb = b, a, hb, ha
    if not (-90 <= a <= 90 and -180 <= b <= 180):
        return None
    return a, b, bool(ha or hb)
