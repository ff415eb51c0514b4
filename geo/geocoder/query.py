"""Reading a query: which words name the street or place, which the number, the postcode, the municipality.

A query is read in every plausible way (with and without a trailing or leading municipality), and the
search keeps the reading whose best candidate is strongest. No reading is preferred by position alone:
"Vaduzer Strasse" must stay a street even though "Vaduzer" looks like "Vaduz".
"""

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from geo.geocoder.normalize import fold, number_key, words

STOP_WORDS = {"in", "im", "bei", "near", "at", "nr", "no", "nummer", "number", "hausnummer", "the"}
KEEP_IN_NAME = {"im", "in"}  # "Im Bretscha" is a street name: keep these inside a name, drop them at its edges
MUNICIPALITY_MIN_SCORE = 88
# The country or region a caller adds ("…, Liechtenstein", "FL-9490", "Fürstentum"): the whole service area, so
# it narrows nothing; taken off the ends of a query before anything is matched, never a name of its own.
REGION_WORDS = {"liechtenstein", "furstentum", "fl", "li", "principality", "of", "schweiz", "switzerland", "ch"}
# Other countries a map may lie in, in their own languages, English and German, with their codes ("FI-00100").
REGION_WORDS |= {"suomi", "suomen", "tasavalta", "finland", "finnland", "fi", "republic", "sverige", "sweden"}
REGION_WORDS |= {"schweden", "se", "osterreich", "austria", "deutschland", "germany", "norge", "norway", "danmark"}
REGION_WORDS |= {"denmark", "eesti", "estonia"}
# Words before a flat, stair or floor number after the house number: Finnish, Swedish, German, English.
UNIT_WORDS = {"as", "asunto", "krs", "kerros", "rappu", "porras", "lgh", "lagenhet", "tr", "trappa", "vaning"}
UNIT_WORDS |= {"stiege", "top", "wohnung", "whg", "stock", "og", "flat", "apt", "apartment", "floor", "stair", "unit"}
_DUTCH_POSTCODE = re.compile(r"[1-9]\d{3} [a-z]{2}")
_BRITISH_POSTCODE = re.compile(r"[a-z]{1,2}\d[a-z\d]? \d[a-z]{2}")
# How a corner is said before the names: English, German, Finnish ("kulma A / B"), Swedish ("hörnet av A och B").
_INTERSECTION_PREFIX = re.compile(
    r"^\s*(corner\s+of|intersection\s+of|junction\s+of|ecke|kreuzung|einmündung|einmuendung|kulma|risteys"
    r"|h[öo]rnet\s+av|h[öo]rnet|korsningen\s+av|korsningen)\s+(.*)$",
    re.IGNORECASE,
)
# ... and after them: "A ja B kulma", "A / B kulmassa", "A och B hörnet".
_INTERSECTION_SUFFIX = re.compile(
    r"^(.*\S)\s+(kulma|kulmassa|kulmaus|risteys|h[öo]rnet|corner|ecke)\s*$", re.IGNORECASE
)
_INTERSECTION_SEPARATORS = (
    re.compile(r"\s*/\s*"),
    re.compile(r"\s*&\s*"),
    re.compile(r"\s+(?:and|und|an der|x|ecke|corner|kreuzung|ja|och)\s+", re.IGNORECASE),
)


@dataclass(frozen=True)
class Reading:
    name_words: tuple[str, ...]
    number: str | None
    postcode: str | None
    municipality: str | None  # a municipality name, from a municipality or settlement word or the postcode
    raw_words: tuple[str, ...] = field(default=(), compare=False)  # name_words as typed, not transliterated
    unit: str | None = None  # what follows the house number: stair, flat, floor ("12 B 3": "3"), for the crew


def _numbers(tokens: list[str], postcodes: set[str]) -> tuple[list[str], str | None, str | None, str | None]:
    """Takes the house number, what follows it (stair, flat: "12 B 3"), and the postcode out of the folded tokens."""
    rest: list[str] = []
    number = postcode = unit = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        taken = _postcode(tokens, i, postcodes) if postcode is None else 0
        if taken:
            postcode = " ".join(tokens[i : i + taken])
            i += taken
            continue
        if token.isdigit() and number is None and len(token) <= 4:
            # "12 a": a single letter right after a number belongs to it
            if i + 1 < len(tokens) and len(tokens[i + 1]) == 1 and tokens[i + 1].isalpha():
                token += tokens[i + 1]
                i += 1
            number = number_key(token)
            i, unit = _unit(tokens, i + 1)
            continue
        if number is None and number_key(token) and any(ch.isdigit() for ch in token):
            number = number_key(token)
            i, unit = _unit(tokens, i + 1)
            continue
        rest.append(token)
        i += 1
    return rest, number, postcode, unit


def _postcode(tokens: list[str], i: int, postcodes: set[str]) -> int:
    """How many tokens from i make a postcode: one the map uses, five or six digits ("00100"), a Dutch "1012 AB"
    or a British "SW1A 1AA" (never a house number); 0 if none."""
    token = tokens[i]
    if token in postcodes or (token.isdigit() and len(token) in (5, 6)):
        return 1
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if after in STOP_WORDS | REGION_WORDS:  # "9490 FL" is a number and the country
        return 0
    if _DUTCH_POSTCODE.fullmatch(f"{token} {after}") or _BRITISH_POSTCODE.fullmatch(f"{token} {after}"):
        return 2
    return 0


def _unit(tokens: list[str], i: int) -> tuple[int, str | None]:
    """The stair, flat or floor after a house number ("12 B 3": 3; "5 as 12", "8 floor 2"), up to three tokens,
    and the index after them; None if nothing follows the number."""
    taken: list[str] = []
    while i < len(tokens) and len(taken) < 3:
        token = tokens[i]
        short = (token.isdigit() and len(token) <= 3) or (len(token) == 1 and token.isalpha())
        if not (short or (token in UNIT_WORDS and i + 1 < len(tokens) and tokens[i + 1][:1].isdigit())):
            break
        taken.append(token.upper() if len(token) == 1 else token)
        i += 1
    return i, " ".join(taken) or None


def _trim(name: list[str]) -> tuple[str, ...]:
    while name and name[0] in STOP_WORDS - KEEP_IN_NAME:
        name = name[1:]
    while name and name[-1] in STOP_WORDS:
        name = name[:-1]
    return tuple(name)


def drop_region(tokens: list[str]) -> list[str]:
    """The tokens without region words at either end (none left when the query names only the region)."""
    start, end = 0, len(tokens)
    while start < end and tokens[start] in REGION_WORDS:
        start += 1
    while end > start and tokens[end - 1] in REGION_WORDS:
        end -= 1
    return tokens[start:end]


def _municipality(span: list[str], municipalities: dict[str, str]) -> str | None:
    key = "".join(span)
    if key in municipalities:
        return municipalities[key]
    if len(key) < 4:
        return None
    best, score = None, 0.0
    for candidate, name in municipalities.items():
        s = fuzz.ratio(key, candidate)
        if s > score:
            best, score = name, s
    if score >= MUNICIPALITY_MIN_SCORE and len(key) >= 5:
        return best
    # One slip in a municipality's short name ("Vadus", "Vauz", two letters swapped: "Vadzu"), two in a long
    # one: a slip, not another place. Not for settlements: their names are as often near a street's ("Grosssteg").
    edits = 1 if len(key) < 9 else 2
    near = [
        name
        for candidate, name in municipalities.items()
        if candidate == _own_key(name) and OSA.distance(key, candidate, score_cutoff=edits) <= edits
    ]
    return near[0] if len(set(near)) == 1 else None


@lru_cache(maxsize=256)
def _own_key(name: str) -> str:
    """A municipality's key as its own name folds (a settlement's key is another name's)."""
    return "".join(words(name))


def readings(text: str, municipalities: dict[str, str], postcodes: dict[str, set[str]]) -> list[Reading]:
    tokens = drop_region(words(text))
    raw = words(text, transliterate=False)  # word for word the same split: transliteration stays inside words
    as_typed = dict(zip(words(text), raw, strict=False))
    rest, number, postcode, unit = _numbers(tokens, set(postcodes))
    towns = postcodes.get(postcode or "", set())
    by_postcode = next(iter(towns)) if len(towns) == 1 else None
    out = [Reading(_trim(rest), number, postcode, by_postcode, unit=unit)]
    if len(_trim(rest)) < len(rest) and rest[0] in STOP_WORDS:  # "No Pizza" is a restaurant's name, not "number"
        out.append(Reading(tuple(rest), number, postcode, by_postcode, unit=unit))
    for size in (1, 2):
        if len(rest) <= size:
            continue
        for span, remainder in ((rest[-size:], rest[:-size]), (rest[:size], rest[size:])):
            if span[0] in STOP_WORDS or span[-1] in STOP_WORDS:  # "im Schaanwald" is a place in, not a municipality
                continue
            # As typed too: transliteration eats a letter of "Mauen" (a slip of "Mauren") and leaves "maun"
            municipality = _municipality(span, municipalities) or _municipality(
                [as_typed.get(w, w) for w in span], municipalities
            )
            if municipality:
                out.append(Reading(_trim(remainder), number, postcode, municipality, unit=unit))
    seen, unique = set(), []
    for r in out:
        if r.name_words and r not in seen:
            seen.add(r)
            unique.append(replace(r, raw_words=tuple(as_typed.get(w, w) for w in r.name_words)))
    return unique


def intersection_parts(text: str) -> list[tuple[str, str, str | None]]:
    """Possible (street A, street B, trailing place) splits of an intersection query; [] if it is not one."""
    tail = None
    parts = text.split(",")
    while len(parts) > 1 and not drop_region(words(parts[-1])):  # "…, Schaan, Liechtenstein"
        parts.pop()
    text = ",".join(parts)
    body = text
    if "," in text:
        body, tail = text.rsplit(",", 1)
        tail = tail.strip() or None
    prefixed = _INTERSECTION_PREFIX.match(body) or _INTERSECTION_SUFFIX.match(body)
    if prefixed:
        body = prefixed.group(2) if prefixed.re is _INTERSECTION_PREFIX else prefixed.group(1)
    splits = [
        (body[: m.start()], body[m.end() :], tail)  # every separator, since names hold "und" too
        for separator in _INTERSECTION_SEPARATORS
        for m in separator.finditer(body)
    ]
    splits = [(a, b, t) for a, b, t in splits if a.strip() and b.strip()]
    if splits:
        return splits
    if prefixed:  # "Ecke Landstrasse Zollstrasse": try every split of the words
        ws = body.split()
        return [(" ".join(ws[:i]), " ".join(ws[i:]), tail) for i in range(1, len(ws))]
    return []


def has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in fold(text))
