"""Address conventions of another country, on central Helsinki (tests/data/helsinki.osm.pbf): the number after
or before the street, letters and stairs ("20 B 14"), ranges ("14-20"), Swedish names (Mannerheimvägen for
Mannerheimintie), five-digit postcodes, and Finnish compounds (-katu, -tie) that no German rule may bend.

The truths come from the imported map (its addresses table), not from the geocoder."""

import math

import psycopg
import pytest

from geo.geocoder import Geocoder, build_index
from geo.geocoder.normalize import words

NEAR_M = 30.0


@pytest.fixture(scope="module")
def hel(helsinki) -> Geocoder:
    return Geocoder(build_index(helsinki.libpq_url))


@pytest.fixture(scope="module")
def hel_db(helsinki):
    with psycopg.connect(helsinki.libpq_url) as conn:
        yield conn


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 110_574.0
    dx = (lon2 - lon1) * 111_320.0 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def _mapped(db, street: str, housenumber: str) -> list[tuple[float, float]]:
    rows = db.execute(
        "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses "
        "WHERE street = %s AND housenumber = %s",
        (street, housenumber),
    ).fetchall()
    assert rows, f"the map has no {street} {housenumber}: the test's truth is gone"
    return rows


def _at(result, db, street: str, housenumber: str) -> bool:
    return any(_metres(result.lat, result.lon, lat, lon) <= NEAR_M for lat, lon in _mapped(db, street, housenumber))


def test_the_index_starts_on_a_map_without_municipality_boundaries(hel):
    assert "Helsinki" in hel.ix.municipalities.values()
    assert any(s.name == "Mannerheimintie" and s.municipality == "Helsinki" for s in hel.ix.streets)


@pytest.mark.parametrize(
    "q", ["Mannerheimintie 20", "20 Mannerheimintie", "Mannerheimintie 20, Helsinki", "20 Mannerheimintie Helsinki"]
)
def test_the_number_after_or_before_the_street(hel, hel_db, q):
    r = hel.geocode(q)
    assert r.match == "address" and r.confidence >= 0.9, r.to_dict()
    assert _at(r, hel_db, "Mannerheimintie", "20")


@pytest.mark.parametrize("q", ["Mannerheimintie 20 B", "Mannerheimintie 20b", "Mannerheimintie 20 b, Helsinki"])
def test_a_letter_finds_that_entrance(hel, hel_db, q):
    r = hel.geocode(q)
    assert r.match == "address" and r.confidence >= 0.9, r.to_dict()
    assert _at(r, hel_db, "Mannerheimintie", "20 B")
    assert r.label.startswith("Mannerheimintie 20b")


def test_the_stair_and_flat_are_kept_in_the_answer(hel, hel_db):
    r = hel.geocode("Mannerheimintie 20 B 14")
    assert r.match == "address" and _at(r, hel_db, "Mannerheimintie", "20 B")
    assert r.label == "Mannerheimintie 20b 14, Helsinki"
    flat = hel.geocode("Mannerheimintie 12 B 3, 00100 Helsinki")
    assert flat.label.startswith("Mannerheimintie 12b 3") and _at(flat, hel_db, "Mannerheimintie", "12 B")


def test_an_unmapped_letter_falls_back_to_the_building_and_keeps_letter_and_flat(hel, hel_db):
    r = hel.geocode("Mannerheimintie 20 C 5")
    assert r.match == "interpolated" and 0.5 <= r.confidence < 0.9, r.to_dict()
    assert _at(r, hel_db, "Mannerheimintie", "20")
    assert r.label.startswith("Mannerheimintie 20c 5")


@pytest.mark.parametrize(
    ("q", "street", "mapped"),
    [("Uudenmaankatu 3", "Uudenmaankatu", "1-5"), ("Aleksanterinkatu 32", "Aleksanterinkatu", "30-34")],
)
def test_a_number_inside_a_mapped_range_is_that_building(hel, hel_db, q, street, mapped):
    number = q.split()[-1]
    assert not hel_db.execute(
        "SELECT 1 FROM addresses WHERE street = %s AND housenumber = %s", (street, number)
    ).fetchone()
    r = hel.geocode(q)
    assert r.match == "address" and r.confidence >= 0.9, r.to_dict()
    assert _at(r, hel_db, street, mapped)


@pytest.mark.parametrize(
    ("q", "street", "number"),
    [
        ("Mannerheimvägen 20", "Mannerheimintie", "20"),
        ("Alexandersgatan 15 B", "Aleksanterinkatu", "15 B"),
        ("Unionsgatan 45 H, Helsingfors", "Unioninkatu", "45 H"),
    ],
)
def test_a_street_is_found_by_its_swedish_name_and_answered_by_its_own(hel, hel_db, q, street, number):
    r = hel.geocode(q)
    assert r.match == "address" and r.confidence >= 0.9, r.to_dict()
    assert r.label.startswith(street) and r.municipality == "Helsinki"
    assert _at(r, hel_db, street, number)


@pytest.mark.parametrize("q", ["Mannerheimintie 5, 00100 Helsinki", "00100 Helsinki Mannerheimintie 5"])
def test_a_five_digit_postcode_is_not_a_house_number(hel, hel_db, q):
    r = hel.geocode(q)
    assert r.match == "address" and r.label.startswith("Mannerheimintie 5,"), r.to_dict()
    assert _at(r, hel_db, "Mannerheimintie", "5")


def test_a_postcode_the_map_does_not_use_is_not_a_house_number_either(hel, hel_db):
    for q in ("Mannerheimintie 5 99999", "Mannerheimintie 5, 1012 AB", "Mannerheimintie 5, SW1A 1AA"):
        r = hel.geocode(q)
        assert r.label and r.label.startswith("Mannerheimintie 5"), (q, r.to_dict())


@pytest.mark.parametrize("name", ["Mannerheimintie", "Aleksanterinkatu", "Unioninkatu", "Bulevardi"])
def test_finnish_names_are_left_whole(hel, name):
    assert words(name) == [name.casefold()]
    r = hel.geocode(name)
    assert r.match == "street" and r.label == f"{name}, Helsinki", r.to_dict()


def test_english_abbreviations_of_the_kind_of_street_at_the_end_of_a_name():
    assert words("Main St 5") == ["main", "street", "5"]
    assert words("5 Ocean Dr") == ["5", "ocean", "drive"]
    assert words("Fifth Ave") == ["fifth", "avenue"]
    assert words("St. Florinsgasse 5") == ["sankt", "florinsgasse", "5"]  # at the start: Sankt, as before
    assert words("Dr. Josef Hoop-Strasse") == ["dr", "josef", "hoop", "strasse"]
