"""Text normalisation shared by the index and the queries, so both sides fold the same way.

German street names reach a call-taker in many spellings: "Bündaweg", "Bundaweg", "Buendaweg",
"Landstrasse", "Landstraße", "Landstr.", "Land Strasse". Folding maps all of them onto one key.
"""

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
# Transliterations of umlauts, applied after accents are stripped so "ü" and "ue" meet as "u".
_TRANSLIT = (("ae", "a"), ("oe", "o"), ("ue", "u"))
_ABBREVIATIONS = {"str": "strasse", "strase": "strasse", "st": "sankt", "hl": "heilig", "pl": "platz"}
# At the end of a name (last, or before the number), English abbreviations of the kind of street: "Main St" is
# Main Street where "St. Florinsgasse" is Sankt Florinsgasse. Finnish and Swedish kinds are written out in the
# map and glued to the name ("Mannerheimintie", "Alexandersgatan") and are left as they are.
_LAST_ABBREVIATIONS = {"st": "street", "dr": "drive", "ave": "avenue", "rd": "road", "blvd": "boulevard"}
_ABBREVIATIONS |= {"ave": "avenue", "rd": "road", "blvd": "boulevard"}
_GLUE_SUFFIXES = ("strasse", "gasse", "weg", "platz")
# The widest range of house numbers ("14-20") whose numbers inside are taken as that building's.
MAX_RANGE = 20
HOUSE_NUMBER = re.compile(r"^(\d{1,4})\s*([a-z])?$")


def clean(text: str) -> str:
    """Drops control characters and surplus white space; keeps everything else as typed."""
    return " ".join(_CONTROL.sub(" ", text).split())


def fold(text: str, transliterate: bool = True) -> str:
    """Lower case, no accents, ß → ss, umlauts and their transliterations alike, words split on punctuation.

    Without transliteration, "ue" stays "ue": two letters swapped in "Äulestrasse" ("Äluestrasse") must not be
    read as an umlaut and lose a letter."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _NON_WORD.sub(" ", text)
    for a, b in _TRANSLIT if transliterate else ():
        text = text.replace(a, b)
    return text.strip()


def words(text: str, transliterate: bool = True) -> list[str]:
    """Folded words with abbreviations expanded ("Landstr." → "landstrasse", "St." → "sankt")."""
    out: list[str] = []
    folded = fold(text, transliterate).split()
    for i, word in enumerate(folded):
        last = i + 1 == len(folded) or folded[i + 1][0].isdigit()
        if last and out and word in _LAST_ABBREVIATIONS:  # "Main St 5", "Ocean Dr": the kind of street
            out.append(_LAST_ABBREVIATIONS[word])
        elif word in _ABBREVIATIONS:
            out.append(_ABBREVIATIONS[word])
        elif word.endswith("str") and len(word) > 4:
            out.append(word[:-3] + "strasse")
        else:
            out.append(word)
    return out


def name_key(text: str | list[str]) -> str:
    """The comparison key of a name: its folded words glued, so "Land Strasse" meets "Landstrasse"."""
    ws = words(text) if isinstance(text, str) else text
    return "".join(ws)


def number_key(text: str) -> str | None:
    """ "12", "12a", "12 A" → "12", "12a"; anything else → None."""
    match = HOUSE_NUMBER.match(fold(text).replace(" ", "") if text else "")
    if not match:
        return None
    return (match.group(1).lstrip("0") or "0") + (match.group(2) or "")


def expand_numbers(raw: str) -> list[str]:
    """Numbers an address carries: "36;38" → both; "2-4" → 2 and 4 (the ends of a range); "12a" → "12a"."""
    keys = []
    for part in re.split(r"[;,]", raw):
        ends = part.split("-")
        letters = re.fullmatch(r"\s*(\d{1,4})\s*([a-zA-Z])\s*/\s*([a-zA-Z])\s*", part)
        if len(ends) == 2 and ends[0].strip().isdigit() and ends[1].strip().isdigit():
            keys += [ends[0].strip().lstrip("0"), ends[1].strip().lstrip("0")]
        elif letters:  # "39A/B": both entrances of the building
            keys += [k for k in (number_key(letters[1] + letters[2]), number_key(letters[1] + letters[3])) if k]
        else:
            key = number_key(part)
            if key:
                keys.append(key)
    return keys


def range_interior(raw: str) -> list[str]:
    """The numbers inside a range ("14-20" → 16, 18: a range on one side of the street skips the other side's;
    "3-6" → 4, 5), for ranges of a building or a block (at most MAX_RANGE numbers)."""
    out: list[str] = []
    for part in re.split(r"[;,]", raw):
        ends = re.fullmatch(r"\s*(\d{1,4})\s*-\s*(\d{1,4})\s*", part)
        if not ends:
            continue
        low, high = int(ends[1]), int(ends[2])
        step = 2 if low % 2 == high % 2 else 1
        if low < high and high - low <= MAX_RANGE:
            out += [str(n) for n in range(low + step, high, step)]
    return out


def is_glue_suffix(word: str) -> bool:
    return word in _GLUE_SUFFIXES
