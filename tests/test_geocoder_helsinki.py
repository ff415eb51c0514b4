"""The classes the independent evaluation (benchmarks/geocode_eval.py --map tests/data/helsinki.osm.pbf) found on
a map the geocoder was not tuned on, each as a mechanism over the cases the Helsinki extract gives: a query on a
street carrying an address with an unreadable number, the country named after the address, corners in Finnish and
Swedish, and a place named in full beside a namesake that lacks its last word."""

import pytest

from geo.geocoder import Geocoder, build_index
from tests.geocode_cases import _Map, corner_pairs
from tests.test_geocoder import metres

NEAR_M = 50.0


@pytest.fixture(scope="module")
def hel(helsinki):
    return Geocoder(build_index(helsinki.libpq_url))


@pytest.fixture(scope="module")
def hmap(helsinki):
    return _Map(helsinki.libpq_url)


def _at(result, lat: float, lon: float) -> bool:
    return result.lat is not None and metres(result.lat, result.lon, lat, lon) <= NEAR_M


def test_no_street_query_raises_whatever_the_addresses_numbers(hel, hmap):
    # "Pohjoisesplanadi 33" / "Keskuskatu 5": an addr:street with a number in it and a number that is a street
    names = sorted({s[0] for s in hmap.streets})
    for name in names:
        for q in (name, f"{name} 25", f"{name} 25, Helsinki"):
            hel.geocode(q, limit=10)
    result = hel.geocode("Pohjoisesplanadi 25", limit=10)
    truth = next(a for a in hmap.addresses if a[:2] == ("Pohjoisesplanadi", "25"))
    assert _at(result, *truth[4:]) and result.confidence >= 0.9


@pytest.mark.parametrize(
    "way", [", Finland", ", Suomi", " Finland", " Suomi", ", Finnland", ", FI", ", Republic of Finland"]
)
def test_the_country_after_the_address_narrows_nothing(hel, hmap, way):
    addresses = hmap.addresses[::40]
    wrong = []
    for street, number, muni, _, lat, lon in addresses:
        result = hel.geocode(f"{street} {number}, {muni}{way}", limit=10)
        if not (_at(result, lat, lon) and result.confidence >= 0.9):
            wrong.append((street, number, result.match, result.confidence))
    assert wrong == [], f"{len(wrong)}/{len(addresses)}"


def test_the_postcode_with_the_country_code(hel, hmap):
    addresses = [a for a in hmap.addresses if a[3]][::40]
    for street, number, muni, pc, lat, lon in addresses:
        for q in (f"{street} {number}, FI-{pc} {muni}", f"{street} {number}, {pc} {muni}, Suomi"):
            result = hel.geocode(q, limit=10)
            assert _at(result, lat, lon) and result.confidence >= 0.9, q


CORNERS = (
    "{a} ja {b} kulma",
    "{a} ja {b} kulma, Helsinki",
    "kulma {a} / {b}",
    "{a} / {b} kulma",
    "{a} ja {b}",
    "hörnet av {a} och {b}",
    "hörnet {a} / {b}, Helsinki",
    "{a} och {b}",
)


@pytest.mark.parametrize("way", CORNERS)
def test_corners_said_in_finnish_and_swedish(hel, hmap, way):
    pairs = corner_pairs(hmap)[::4]
    wrong = []
    for a, b, (lat, lon) in pairs:
        result = hel.geocode(way.format(a=a, b=b), limit=10)
        if not (result.match == "intersection" and _at(result, lat, lon)):
            wrong.append((a, b, result.match, result.label))
    assert len(wrong) <= len(pairs) // 20, wrong[:5]


def test_a_place_named_in_full_is_not_its_namesake_in_the_settlement(hel):
    # "Nordea Pankki Hakaniemi" (a bank) and "Nordea Pankki" (an office, 63 m off): Hakaniemi is a settlement,
    # but the whole query is the bank's name.
    result = hel.geocode("Nordea Pankki Hakaniemi", limit=10)
    assert result.label.startswith("Nordea Pankki Hakaniemi") and _at(result, 60.1787159, 24.949623)


def test_every_place_named_in_full_is_found_or_not_claimed(hel, hmap):
    # A chain's shops ("Lindex", "lindex") are several places of one name: any of them is fair.
    by_name: dict[str, list] = {}
    for name, _, _, lat, lon in hmap.places:
        by_name.setdefault(name.lower(), []).append((lat, lon))
    wrong = []
    for name, points in sorted(by_name.items()):
        if len(name) < 4 or name in hmap.lower_names:
            continue
        result = hel.geocode(name, limit=10)
        if result.confidence >= 0.5 and not any(_at(result, *p) for p in points):
            wrong.append((name, result.label, result.confidence))
    assert wrong == []
