"""The pure parts of the EIDO exchange: PIDF-LO written and read, the APCO common incident types of types.toml,
and the EIDO schema's bounds; no services."""

import json
from pathlib import Path

import pytest

from dispatch.eido import pidf
from dispatch.eido.validate import InvalidEido, parse
from dispatch.incidents.types import IncidentTypes, incident_types

DATA = Path(__file__).parent / "data"
# Types with no APCO common incident type that means the same (types.toml says so).
NO_COMMON_TYPE = {"FLOOD", "STORM", "OIL-SPILL", "TRANSFER"}


def test_a_written_location_reads_back():
    text = pidf.write(
        entity="urn:x", lat=47.1399905, lon=9.5228593, label="Städtle 23 & Co, Vaduz", municipality="Vaduz",
        confidence=0.97, method="address",
    )  # fmt: skip
    place = pidf.read(text)
    assert (place.lat, place.lon) == (47.1399905, 9.5228593)
    assert (
        place.civic == {"A3": "Vaduz", "LOC": "Städtle 23 & Co, Vaduz"} and place.address() == "Städtle 23 & Co, Vaduz"
    )
    assert place.confidence == 0.97 and place.method == "address"
    nowhere = pidf.read(
        pidf.write(entity="u", lat=None, lon=None, label=None, municipality=None, confidence=0, method="none")
    )
    assert (nowhere.lat, nowhere.civic, nowhere.address()) == (None, {}, None)


def test_a_civic_address_reads_as_an_address_and_entities_are_never_expanded():
    civic = '<civicAddress xmlns="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"><A3>Schaan</A3>'
    place = pidf.read(civic + "<RD>Landstrasse</RD><HNO>10</HNO><HNS>a</HNS></civicAddress>")
    assert place.address() == "Landstrasse 10a, Schaan" and place.lat is None
    bomb = (
        '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        + civic
        + "<RD>&b;</RD></civicAddress>"
    )
    assert pidf.read(bomb).civic["RD"] == "&b;"  # named in the text, never expanded
    with pytest.raises(pidf.InvalidPosition, match=r"latitude 123\.0 is not within"):
        pidf.read("<gml:pos>123.0 9.5</gml:pos>")  # a sender's error, not a place to do without


def test_every_mapped_type_has_an_apco_common_type_and_the_most_urgent_is_found_back():
    types = incident_types()
    assert {t.code for t in types if t.apco is None} == NO_COMMON_TYPE
    for t in types:
        if t.apco:
            back = types.by_apco(t.apco)
            assert back is not None and back.priority <= t.priority
    assert types.by_apco("BURGLARY").code == "BURGLARY-NOW"  # two types share it: the more urgent
    assert types.by_apco("mvainjy").code == "RTC-INJ"
    assert types.by_apco("NONEMERG") is None


def test_a_bad_apco_code_is_refused_on_load(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text(
        '[[type]]\ncode = "UNKNOWN"\nname = "Unknown"\npriority = 2\ngroup = "service"\nplan = {}\nkeywords = []\n'
        'public = false\non_scene_min = 10\ntransport = false\nshare = 0\napco = "not a code"\n'
    )
    with pytest.raises(ValueError, match="apco 'not a code'"):
        IncidentTypes.load(path)


def test_the_samples_are_eidos_and_bounds_name_their_field():
    for name in ("eido-handover.json", "eido-call-transfer.json"):
        assert parse((DATA / name).read_bytes()).eidoVersion == "1.0"
    doc = json.loads((DATA / "eido-handover.json").read_text())
    doc["callComponent"] = [doc["callComponent"][0]] * 201
    with pytest.raises(InvalidEido) as refused:
        parse(json.dumps(doc).encode())
    assert refused.value.field == "callComponent"
    with pytest.raises(InvalidEido, match="an EIDO is a JSON object"):
        parse(b"[]")


@pytest.mark.parametrize(
    "pos, point",
    [
        ("47.1399905 9.5228593", (47.1399905, 9.5228593)),
        ("  47.14\n9.52  ", (47.14, 9.52)),
        ("-33.9 +151.2 58.5", (-33.9, 151.2)),  # EPSG:4979, with an altitude
        ("90 -180", (90.0, -180.0)),
    ],
)
def test_a_position_is_a_latitude_and_a_longitude(pos, point):
    assert pidf.position(f'<gml:Point srsName="x"><gml:pos srsDimension="2">{pos}</gml:pos></gml:Point>') == point
    assert pidf.position("<gml:posList>1 2 3 4</gml:posList>") is None  # (a polygon's: no point of its own)


@pytest.mark.parametrize("pos", ["abc", "47.14", "", "95 9.52", "47.14 181", "nan 9.5", "inf 1", "1e3 9", "1 2 3 4"])
def test_a_position_that_is_no_point_is_refused(pos):
    with pytest.raises(pidf.InvalidPosition, match="gml:pos"):
        pidf.read(f"<presence><gml:pos>{pos}</gml:pos><civicAddress><A3>Vaduz</A3></civicAddress></presence>")
