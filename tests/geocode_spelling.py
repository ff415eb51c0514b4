"""How people write what they say: abbreviated and transliterated names, neighbouring keys for typos, and
coordinates in the forms callers read them out. Used by tests/geocode_cases.py."""

import re
import unicodedata


def _abbreviations(name: str) -> list[str | None]:
    stem, sep, _ = re.fullmatch(r"(.*?)([ -]?)(strasse|straße)", name, re.I).groups()
    if not stem:
        return [None]
    if sep == "":  # glued: Landstrasse
        return [f"{stem}str.", f"{stem}str", f"{stem} strasse", f"{stem} Str."]
    if sep == " ":  # split: Feldkircher Strasse
        return [f"{stem}strasse", f"{stem} Str.", f"{stem}str."]
    return [f"{stem}-Str.", f"{stem} Str."]  # hyphenated: Fürst-Franz-Josef-Strasse


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_ACCENT_WAYS = (
    lambda s: "".join(
        c
        for c in unicodedata.normalize("NFKD", s.replace("ß", "ss"))  # Bündaweg
        if not unicodedata.combining(c)
    ),  # -> Bundaweg
    lambda s: s.translate(_UMLAUTS),
)  # -> Buendaweg


_ROWS = ("qwertzuiop", "asdfghjkl", "yxcvbnm")  # Swiss/German QWERTZ, each row shifted right of the one above


def _neighbours(c: str, rows: tuple[str, ...] = _ROWS) -> str:
    for r, row in enumerate(rows):
        if (i := row.find(c.lower())) >= 0:
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            near += [rows[r - 1][j] for j in (i, i + 1) if r > 0 and j < len(rows[r - 1])]
            near += [rows[r + 1][j] for j in (i - 1, i) if r < 2 and 0 <= j < len(rows[r + 1])]
            return "".join(near)
    return ""


def _dms(v: float, pos: str, neg: str, tenths: bool) -> str:
    scale = 10 if tenths else 1  # rounded once in whole units, so 59.96" carries into the minute, never "60"
    d, rest = divmod(round(abs(v) * 3600 * scale), 3600 * scale)
    mi, s = divmod(rest, 60 * scale)
    hemi = pos if v >= 0 else neg
    return f"{d}°{mi:02d}'{s / 10:04.1f}\"{hemi}" if tenths else f"{d}° {mi}' {s}\" {hemi}"


def format_coordinates(lat: float, lon: float, style: int) -> str:
    (dla, mla), (dlo, mlo) = (divmod(round(abs(v) * 60000), 60000) for v in (lat, lon))  # thousandths of a minute
    return [
        f"{lat:.5f}, {lon:.5f}",
        f"{lat:.5f} {lon:.5f}",
        f"N {lat:.5f} E {lon:.5f}",
        f"{_dms(lat, 'N', 'S', True)} {_dms(lon, 'E', 'W', True)}",
        f"{_dms(lat, 'N', 'S', False)}, {_dms(lon, 'E', 'W', False)}",
        f"N {dla}° {mla / 1000:06.3f}' E {dlo:03d}° {mlo / 1000:06.3f}'",
    ][style % 6]  # the N/E forms: north-east
