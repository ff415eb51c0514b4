"""Every way of naming a place that the call-takers need, against the bundled map in the test database.

Truths come from the database (the address points, the street lines, the road graph), not from numbers
written here.
"""

import math

import pytest
import shapely

from geo.geocoder.coords import parse_coordinates


def metres(lat1, lon1, lat2, lon2) -> float:
    dy = (lat2 - lat1) * 110_574
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


def address_point(db, street, number, municipality) -> tuple[float, float]:
    row = db.execute(
        """SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses
                        WHERE street = %s AND housenumber = %s AND municipality = %s""",
        (street, number, municipality),
    ).fetchone()
    assert row, f"{street} {number}, {municipality} is not in the data"
    return row


def street_distance(db, street, municipality, lat, lon) -> float:
    return db.execute(
        """SELECT ST_Distance(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)
                         FROM streets WHERE name = %s AND municipality = %s""",
        (lon, lat, street, municipality),
    ).fetchone()[0]


def assert_at(result, lat, lon, within=50.0):
    assert result.lat is not None, f"{result.q!r}: nothing found"
    d = metres(lat, lon, result.lat, result.lon)
    assert d <= within, f"{result.q!r} → {result.label} is {d:.0f} m off"


@pytest.mark.parametrize(
    "q",
    [
        "Schaanerstrasse 24, Vaduz",
        "24 Schaanerstrasse, Vaduz",
        "24 Schaanerstrasse Vaduz",
        "Schaanerstrasse 24, 9490 Vaduz",
        "SCHAANERSTRASSE 24 VADUZ",
        "schaanerstrasse 24 vaduz",
        "Schaanerstr. 24, Vaduz",
        "Schaanerstr 24 Vaduz",
        "Schaaner Strasse 24, Vaduz",
        "Schaaner Str. 24 Vaduz",
        "Schaanerstraße 24, Vaduz",
    ],
)
def test_exact_and_abbreviated_forms_of_an_address(geocoder, db, q):
    lat, lon = address_point(db, "Schaanerstrasse", "24", "Vaduz")
    result = geocoder.geocode(q)
    assert result.match == "address"
    assert_at(result, lat, lon)
    assert result.confidence >= 0.9


def test_no_municipality_needed_where_the_street_name_is_unique(geocoder, db):
    assert db.execute("SELECT count(*) FROM streets WHERE name = 'Bartlegroschstrasse'").fetchone()[0] == 1
    lat, lon = address_point(db, "Bartlegroschstrasse", "24", "Vaduz")
    for q in ("Bartlegroschstrasse 24", "24 Bartlegroschstr.", "bartlegrosch strasse 24"):
        result = geocoder.geocode(q)
        assert result.match == "address" and result.confidence >= 0.9, q
        assert_at(result, lat, lon)


def test_a_street_name_shared_with_another_municipality_is_not_sure_without_one(geocoder, db):
    shared = {
        r[0]
        for r in db.execute("SELECT municipality FROM streets WHERE name IN ('Schaanerstrasse', 'Schaaner Strasse')")
    }
    assert len(shared) >= 2
    result = geocoder.geocode("Schaanerstrasse 24")
    assert result.confidence < 0.9
    assert len({c.municipality for c in result.candidates}) >= 2


@pytest.mark.parametrize("q", ["Städtle 23, Vaduz", "Stadtle 23 Vaduz", "Staedtle 23, Vaduz"])
def test_accents_dropped_or_transliterated(geocoder, db, q):
    lat, lon = address_point(db, "Städtle", "23", "Vaduz")
    result = geocoder.geocode(q)
    assert result.match == "address"
    assert_at(result, lat, lon)


@pytest.mark.parametrize(
    "q",
    [
        "Schanerstrasse 24, Vaduz",
        "Schaanerstrase 24 Vaduz",  # one error
        "Schanerstrase 24, Vaduz",
        "Shcaanerstrasse 24 Vaduz",  # two errors
        "Bartlegroshstrasse 5, Vaduz",
    ],
)
def test_typing_errors(geocoder, db, q):
    street = "Bartlegroschstrasse" if q.startswith("Bart") else "Schaanerstrasse"
    number = "5" if q.startswith("Bart") else "24"
    if (
        street == "Bartlegroschstrasse"
        and not db.execute("SELECT 1 FROM addresses WHERE street = %s AND housenumber = '5'", (street,)).fetchone()
    ):
        number = db.execute("SELECT min(housenumber) FROM addresses WHERE street = %s", (street,)).fetchone()[0]
        q = f"Bartlegroshstrasse {number}, Vaduz"
    lat, lon = address_point(db, street, number, "Vaduz")
    result = geocoder.geocode(q)
    assert_at(result, lat, lon)
    assert result.confidence < 0.9  # a misspelt name is never certain


def test_a_missing_number_is_interpolated_between_its_neighbours(geocoder, db):
    numbers = sorted(
        int(r[0])
        for r in db.execute(
            "SELECT housenumber FROM addresses WHERE street = 'Schaanerstrasse' AND municipality = 'Vaduz' "
            "AND housenumber ~ '^[0-9]+$'"
        )
    )
    gap = next((a, b) for a, b in zip(numbers, numbers[1:], strict=False) if b - a >= 4 and a % 2 == b % 2)
    missing = gap[0] + 2
    assert missing not in numbers
    (lat0, lon0), (lat1, lon1) = (address_point(db, "Schaanerstrasse", str(n), "Vaduz") for n in gap)
    t = (missing - gap[0]) / (gap[1] - gap[0])
    result = geocoder.geocode(f"Schaanerstrasse {missing}, Vaduz")
    assert result.match == "interpolated"
    assert_at(result, lat0 + t * (lat1 - lat0), lon0 + t * (lon1 - lon0), within=25)
    assert result.confidence < 0.9


def test_a_number_beyond_the_street_gives_the_street(geocoder, db):
    result = geocoder.geocode("Schaanerstrasse 9999, Vaduz")
    assert result.match == "street"
    assert street_distance(db, "Schaanerstrasse", "Vaduz", result.lat, result.lon) <= 50
    assert result.confidence < 0.9


def test_a_street_without_number_is_a_point_on_it_in_the_right_municipality(geocoder, db):
    result = geocoder.geocode("Landstrasse, Triesen")
    assert result.match == "street" and result.municipality == "Triesen"
    assert street_distance(db, "Landstrasse", "Triesen", result.lat, result.lon) <= 1


def test_a_street_in_several_municipalities_is_ambiguous(geocoder, db):
    municipalities = {r[0] for r in db.execute("SELECT municipality FROM streets WHERE name = 'Landstrasse'")}
    assert len(municipalities) >= 2
    result = geocoder.geocode("Landstrasse", limit=10)
    assert result.confidence < 0.9
    assert {c.municipality for c in result.candidates} >= municipalities


def meeting_point(db, a, b) -> tuple[float, float]:
    """Where two named streets share a node of the road graph."""
    row = db.execute(
        """SELECT ST_Y(n.geom), ST_X(n.geom) FROM road_edges e JOIN road_edges f ON f.source = e.target
                        JOIN road_nodes n ON n.id = e.target WHERE e.name = %s AND f.name = %s LIMIT 1""",
        (a, b),
    ).fetchone()
    assert row, f"{a} and {b} do not meet"
    return row


@pytest.mark.parametrize(
    "q",
    [
        "Landstrasse / Sankt Markusgasse",
        "Landstrasse & Sankt Markusgasse",
        "Landstrasse and Sankt Markusgasse",
        "Landstrasse x St. Markusgasse",
        "corner of Landstrasse and Sankt Markusgasse",
        "Ecke Landstrasse Sankt Markusgasse",
        "Landstrasse und Sankt Markusgasse, Vaduz",
    ],
)
def test_intersections(geocoder, db, q):
    lat, lon = meeting_point(db, "Landstrasse", "Sankt Markusgasse")
    result = geocoder.geocode(q)
    assert result.match == "intersection"
    assert_at(result, lat, lon)


@pytest.mark.parametrize(
    "q,kind",
    [
        ("Liechtensteinisches Landesspital", "hospital"),
        ("Landesspital", "hospital"),
        ("Feuerwehr Vaduz", "fire_station"),
        ("Landespolizei", "police"),
        ("Kathedrale St. Florin", "place_of_worship"),
        ("Rathaus Vaduz", "townhall"),
        ("Schulzentrum Mühleholz", "school"),
        ("Restaurant Torkel", "restaurant"),
        ("Gasthof Adler, Triesen", "restaurant"),
    ],
)
def test_named_places(geocoder, db, q, kind):
    result = geocoder.geocode(q)
    assert result.match == "poi"
    rows = db.execute(
        "SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM places WHERE kind = %s", (kind,)
    ).fetchall()
    assert min(metres(lat, lon, result.lat, result.lon) for lat, lon in rows) <= 50, result.label


def test_places_named_by_their_kind(geocoder):
    hospital = geocoder.geocode("hospital")
    assert hospital.match == "poi" and "spital" in hospital.label.lower()
    assert geocoder.geocode("fire station Balzers").label.startswith("Feuerwehr Balzers")


@pytest.mark.parametrize(
    "q",
    [
        "47.14123, 9.52123",
        "47.14123 9.52123",
        "N 47.14123 E 9.52123",
        "47°08'28.4\"N 9°31'16.4\"E",
        "47° 8' 28.4\" N, 9° 31' 16.4\" E",
        "N 47° 08.474' E 009° 31.274'",
        "47,14123 9,52123",
    ],
)
def test_coordinates(geocoder, q):
    result = geocoder.geocode(q)
    assert result.match == "coordinates" and result.in_service_area is True
    assert_at(result, 47.14123, 9.52123, within=10)


def test_coordinates_outside_the_service_area_are_said_to_be_outside(geocoder):
    result = geocoder.geocode("47.3769, 8.5417")
    assert result.match == "coordinates" and result.in_service_area is False
    assert "outside" in result.label


def test_coordinate_parser_refuses_what_is_not_a_coordinate():
    for text in ("Landstrasse 12", "12 5", "", "9490", "asdf"):
        assert parse_coordinates(text) is None


@pytest.mark.parametrize(
    "q",
    [
        "asdf qwer",
        "xyzzy 42",
        "Wolkenkratzerallee 5, Vaduz",
        "Zzyzx Boulevard 12",
        "'; DROP TABLE addresses; --",
        "<script>alert(1)</script>",
        ";;;,,,///",
        "\x00\x01\x02",
        "a" * 10_000,
        "   ",
    ],
)
def test_nonsense_and_bad_input_give_none_or_low_confidence(geocoder, q):
    result = geocoder.geocode(q)
    assert result.match == "none" or result.confidence < 0.5


def test_reverse(geocoder, db):
    lat, lon = address_point(db, "Schaanerstrasse", "24", "Vaduz")
    found = geocoder.reverse(lat, lon)
    assert found.match == "address" and found.label.startswith("Schaanerstrasse 24")
    assert found.municipality == "Vaduz" and found.in_service_area
    outside = geocoder.reverse(47.3769, 8.5417)
    assert outside.match == "none" and not outside.in_service_area


def test_index_builds_from_the_database(geocoder, imported_map):
    assert geocoder.ix.map_id is not None
    assert len(geocoder.ix.streets) >= imported_map.counts["streets"]
    assert shapely.area(geocoder.ix.service_area) > 100e6  # the 11 municipalities cover about 160 km²


@pytest.mark.slow
def test_evaluation_set_has_no_confident_wrong_answers(geocoder, settings):
    """A slice of the generated evaluation set (benchmarks/geocode_eval.py runs all of it and prints figures)."""
    from tests.geocode_cases import EXACT_FORMS, generate_cases, is_confident_wrong, is_right

    cases = generate_cases(settings.libpq_url, seed=7, per_form=15)

    def answer(case):
        return geocoder.reverse(case.lat, case.lon) if case.expect == "reverse" else geocoder.geocode(case.q, limit=10)

    results = [(case, answer(case)) for case in cases]
    assert not [case.q for case, result in results if is_confident_wrong(case, result)]
    exact = [is_right(case, result) for case, result in results if case.form in EXACT_FORMS]
    assert sum(exact) / len(exact) >= 0.97
