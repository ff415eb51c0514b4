"""What the evaluation's wordings take from the map's country and languages: the country as callers name it, how
they write a corner or an intersection, their keyboard, their accented letters, a locality's preposition and the
words made-up street names are built from. The country is the one most of the map's addresses give (`addr:country`),
named by its admin_level 2 boundary; the languages come from a per-country table (English for one not in it).
The bundled map (Liechtenstein, German) keeps the wordings its cases were first generated with."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.geocode_inputs import PARTS
from tests.geocode_osm import OsmExtras
from tests.geocode_spelling import _ACCENT_WAYS

LANGUAGES = {"LI": ("de",), "DE": ("de",), "AT": ("de",), "CH": ("de",), "FI": ("fi", "sv"), "SE": ("sv",)}

# How a corner is said: "{a}", "{b}" the streets, "{t}" the municipality (only where one is known).
CORNER_WAYS = {
    "de": (
        "{a} Ecke {b}, {t}",
        "Ecke {a} {b} {t}",
        "corner of {a} and {b} {t}",
        "{a} / {b}",
        "{a} und {b}",
        "{a} Ecke {b}",
        "Ecke {a} / {b}, {t}",
    ),
    "fi": ("{a} ja {b} kulma, {t}", "{a} / {b} kulma", "kulma {a} / {b}", "{a} ja {b}", "{a} / {b}, {t}"),
    "sv": ("hörnet av {a} och {b}", "hörnet {a} / {b}, {t}", "{a} och {b}"),
    "en": ("corner of {a} and {b} {t}", "{a} / {b}", "{a} and {b}", "{a} & {b}, {t}"),
}
# The plain intersection form: the wordings any caller uses, and one in the map's first language.
INTERSECTION_WAYS = ("{a} / {b}", "{a} & {b}", "{a} and {b}", "{a} x {b}", "corner of {a} and {b}")
INTERSECTION_OWN = {"de": "Ecke {a} {b}", "fi": "{a} ja {b} kulma", "sv": "hörnet av {a} och {b}"}
LOCALITY_PREFIX = {"de": "Im "}  # "Im Riet"; a Finnish or Swedish place name takes no such word

# The country as callers write it after the address; a country not listed is named by its boundary and its code.
COUNTRY_WAYS = {
    "LI": (", Liechtenstein", ", FL", ", Fürstentum Liechtenstein", " Liechtenstein", ", LI"),
    "FI": (", Suomi", ", Finland", " Finland", ", FI", " Suomi", ", Finnland"),
}
POSTCODE_PREFIX = {"LI": "FL-"}  # else the ISO code: "FI-00100"

KEYBOARDS = {
    "de": ("qwertzuiop", "asdfghjkl", "yxcvbnm"),  # QWERTZ, each row shifted right of the one above
    "fi": ("qwertyuiopå", "asdfghjklöä", "zxcvbnm"),  # the Finnish-Swedish layout
    "sv": ("qwertyuiopå", "asdfghjklöä", "zxcvbnm"),
    "en": ("qwertyuiop", "asdfghjkl", "zxcvbnm"),
}
ACCENTED = {"de": "äöüÄÖÜß", "fi": "äöåÄÖÅ", "sv": "äöåÄÖÅ"}
# Ways to write without the accents: German also writes ae/oe/ue; Finnish and Swedish drop the dots only.
ACCENT_WAYS = {"de": _ACCENT_WAYS, "fi": _ACCENT_WAYS[:1], "sv": _ACCENT_WAYS[:1]}

MADE_UP = {
    "de": PARTS,
    "fi": (
        [
            *("Pilvilinna", "Sateenkaari", "Lohikäärme", "Kristalli", "Taikametsä", "Hopeakuu", "Komeetta"),
            *("Pingviini", "Revontuli", "Mammutti", "Tulivuori", "Saturnus", "Kakadu", "Zeppeliini", "Tulppaani"),
        ],
        ["katu", "tie", "kuja", "polku", "aukio", "ranta", "puistikko", "rinne"],
    ),
    "en": (
        ["Skyscraper", "Rainbow", "Dragon", "Crystal", "Wizard", "Silvermoon", "Comet", "Penguin", "Volcano"],
        [" Street", " Road", " Lane", " Avenue", " Close", " Way"],
    ),
}


@dataclass(frozen=True)
class Region:
    map_path: str
    country: str | None  # ISO code, None when the map's addresses give none
    languages: tuple[str, ...]
    country_ways: tuple[str, ...]
    postcode_prefix: str

    @property
    def lang(self) -> str:
        return self.languages[0]

    @property
    def corners(self) -> tuple[str, ...]:
        ways = [w for lang in (*self.languages, "en") for w in CORNER_WAYS.get(lang, ())]
        return CORNER_WAYS["de"] if self.lang == "de" else tuple(dict.fromkeys(ways))

    @property
    def intersections(self) -> list[str]:
        own = INTERSECTION_OWN.get(self.lang)
        return [*INTERSECTION_WAYS, *([own] if own else [])]

    @property
    def locality_prefix(self) -> str | None:
        return LOCALITY_PREFIX.get(self.lang)

    @property
    def keyboard(self) -> tuple[str, ...]:
        return KEYBOARDS.get(self.lang, KEYBOARDS["en"])

    @property
    def accented(self) -> str:
        return "[" + ACCENTED.get(self.lang, "äöüåéèàÄÖÜÅÉ") + "]"

    @property
    def accent_ways(self) -> tuple:
        return ACCENT_WAYS.get(self.lang, _ACCENT_WAYS[:1])

    @property
    def made_up(self) -> tuple[list[str], list[str]]:
        return MADE_UP.get(self.lang, MADE_UP["en"])

    def abbreviable(self, street: str) -> bool:
        """Only German "-strasse" names are abbreviated (tests/geocode_spelling.py): other languages' street words
        have no table here, and their form is skipped."""
        return self.lang == "de" and re.search(r"(strasse|straße)$", street, re.I) is not None


def region_of(map_path: str, extras: OsmExtras) -> Region:
    code = extras.addr_countries.most_common(1)[0][0] if extras.addr_countries else None
    langs = LANGUAGES.get(code or "", ("en",))
    if code in COUNTRY_WAYS:
        ways = COUNTRY_WAYS[code]
    elif code:
        tags = extras.countries.get(code, {})
        names = [tags.get("name"), *(tags.get(f"name:{lang}") for lang in langs), tags.get("name:en")]
        ways = (*dict.fromkeys(f", {n}" for n in names if n), f", {code}")
    else:
        ways = ()
    return Region(map_path, code, langs, ways, POSTCODE_PREFIX.get(code or "", f"{code}-"))


def why_skipped(form: str, region: Region) -> str:
    """Why the map gave no case of a form (said in the benchmark's report, not counted as a failure)."""
    return {
        "abbreviated": f"no street-word abbreviations for the map's language ({region.lang})",
        "accents": "no street name with an accented letter",
        "addr_place": "no house on a place without a street (addr:place)",
        "country": "no addr:country on the map's addresses",
        "interpolated": "no gap between two numbers of a street",
        "interp_way": "no interpolation way without a street",
        "intersection": "no two named streets meeting at one point",
        "corner": "no two named streets meeting at one point",
        "area": "no named area (locality, landuse, natural feature) of a name of its own",
        "ambiguous": "no street name in two municipalities apart",
        "two_errors": "no address in a municipality with a long enough street name",
    }.get(form, "the map gives no case of it")
