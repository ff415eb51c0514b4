"""Locations by value in an EIDO: PIDF-LO (RFC 4119, RFC 5491 shapes, RFC 5139 civic addresses, RFC 7459
confidence), written for an export and read from an import.

Read with a few bounded regular expressions, never an XML parser: the text comes from outside (at most 16 kB,
dispatch.eido.schema), and what is wanted of it is a point, a civic address and a confidence. Entities and
DTDs are never expanded, so no entity bomb nor external entity can do anything.
"""

import html
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

# A point's (or a circle's, an ellipse's…) centre: `gml:pos`, whatever its attributes; not `gml:posList`.
_POS = re.compile(r"<(?:[\w.-]+:)?pos(?:\s[^>]{0,200})?>([^<]*)<")
_NUMBER = re.compile(r"[-+]?(?:\d{1,9}(?:\.\d{0,20})?|\.\d{1,20})")
_CIVIC = re.compile(
    r"<(?:[\w.-]+:)?(country|A[1-6]|PRD|POD|STS|RD|HNO|HNS|LMK|LOC|NAM|PC|PCN|FLR|ROOM|BLD|UNIT)>([^<]{0,200})<"
)
_CONFIDENCE = re.compile(r"<(?:[\w.-]+:)?confidence\b[^>]{0,100}>\s*(\d{1,3}(?:\.\d{1,6})?)\s*<")
_METHOD = re.compile(r"<(?:[\w.-]+:)?method>([^<]{1,64})<")


class InvalidPosition(ValueError):
    """A `gml:pos` that is no point on the earth: a sender's error, not a location to do without."""


@dataclass(frozen=True)
class Place:
    lat: float | None
    lon: float | None
    civic: dict[str, str]
    confidence: float | None  # 0..1
    method: str | None

    def address(self) -> str | None:
        """Words for the geocoder: the location's own line (LOC, as this service writes it) or the civic address
        as a European address is written ("Städtle 32, Vaduz")."""
        civic = self.civic
        if civic.get("LOC"):
            return civic["LOC"]
        street = " ".join(civic[k] for k in ("PRD", "RD", "STS", "POD") if civic.get(k))
        number = civic.get("HNO", "") + civic.get("HNS", "")
        line = " ".join(p for p in (street, number) if p)
        town = civic.get("A3") or civic.get("PCN") or civic.get("A2")
        words = ", ".join(p for p in (line or civic.get("NAM") or civic.get("LMK"), town) if p)
        return words[:300] or None


def position(text: str) -> tuple[float, float] | None:
    """The first `gml:pos` as (latitude, longitude), None if there is none; InvalidPosition if it is not two
    numbers (three with an altitude, EPSG:4979) with a latitude within ±90 and a longitude within ±180."""
    found = _POS.search(text)
    if found is None:
        return None
    words = found.group(1).split()
    shown = " ".join(words)[:40] or "nothing"
    if len(words) not in (2, 3) or not all(_NUMBER.fullmatch(w) for w in words):
        raise InvalidPosition(f"gml:pos '{shown}' is not a latitude and a longitude in degrees")
    lat, lon = float(words[0]), float(words[1])  # EPSG:4326 gives latitude first
    if not -90 <= lat <= 90:
        raise InvalidPosition(f"gml:pos '{shown}': latitude {words[0]} is not within -90..90")
    if not -180 <= lon <= 180:
        raise InvalidPosition(f"gml:pos '{shown}': longitude {words[1]} is not within -180..180")
    return lat, lon


def read(text: str) -> Place:
    """The place a PIDF-LO gives (InvalidPosition if its `gml:pos` is no point)."""
    point = position(text)
    lat, lon = point if point else (None, None)
    civic: dict[str, str] = {}
    for key, value in _CIVIC.findall(text):
        if value.strip():
            civic.setdefault(key, html.unescape(value).strip())
    confidence = _CONFIDENCE.search(text)
    method = _METHOD.search(text)
    return Place(
        lat,
        lon,
        civic,
        min(float(confidence.group(1)), 100.0) / 100 if confidence else None,
        html.unescape(method.group(1)).strip() if method else None,
    )


def write(
    *,
    entity: str,
    lat: float | None,
    lon: float | None,
    label: str | None,
    municipality: str | None,
    confidence: float,
    method: str,
) -> str:
    """A PIDF-LO with the point (if any), the civic address as far as it is known and the geocoder's confidence."""
    shape = (
        f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat:.7f} {lon:.7f}</gml:pos></gml:Point>'
        if lat is not None and lon is not None
        else ""
    )
    civic = "".join(
        f"<ca:{key}>{escape(value)}</ca:{key}>" for key, value in (("A3", municipality), ("LOC", label)) if value
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:gml="http://www.opengis.net/gml" '
        'xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" '
        'xmlns:con="urn:ietf:params:xml:ns:geopriv:conf" '
        f'entity="{escape(entity, {chr(34): "&quot;"})}">'
        '<dm:device id="incident"><gp:geopriv><gp:location-info>'
        f"{shape}{f'<ca:civicAddress>{civic}</ca:civicAddress>' if civic else ''}"
        f'<con:confidence pdf="unknown">{round(confidence * 100)}</con:confidence>'
        f"</gp:location-info><gp:method>{escape(method)}</gp:method></gp:geopriv></dm:device></presence>"
    )
