"""The classes of query on which a geocoder is most easily wrong and sure of it, each as a mechanism over many
cases drawn from the bundled map (truths from the database), and the reader's sources of an address's street.
"""

import random
import textwrap

import pytest
import shapely

from geo.geocoder.index import StreetEntity
from geo.geocoder.numbers import locate_number, street_confidence
from geo.osm.reader import read_map
from tests.test_geocoder import metres

FAIRLY_SURE = 0.5
NEAR_M = 60.0


def addresses(db, n: int, seed: int, where: str = "TRUE") -> list[tuple[str, str, str, float, float]]:
    rows = db.execute(
        f"""SELECT street, housenumber, municipality, ST_Y(location::geometry), ST_X(location::geometry)
            FROM addresses WHERE street IS NOT NULL AND housenumber ~ '^[0-9]+$' AND source <> 'interpolation'
            AND {where} AND (street, housenumber, municipality) IN (  -- a number mapped twice has no one point
                SELECT street, housenumber, municipality FROM addresses GROUP BY 1, 2, 3 HAVING count(*) = 1)
            ORDER BY id"""
    ).fetchall()
    # One address per street and municipality: several numbers on one street would test one name many times.
    one = list({(r[0], r[2]): r for r in rows}.values())
    return random.Random(seed).sample(one, min(n, len(one)))


def is_at(result, lat, lon) -> bool:
    return result.lat is not None and metres(result.lat, result.lon, lat, lon) <= NEAR_M


def swap_two_letters(name: str, rnd: random.Random) -> str:
    spots = [
        i for i in range(1, len(name) - 1) if name[i].isalpha() and name[i + 1].isalpha() and name[i] != name[i + 1]
    ]
    i = rnd.choice(spots)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def test_a_street_answer_is_only_as_sure_as_the_street_is_short(geocoder):
    long_streets = [s for s in geocoder.ix.streets if s.line is not None and s.length_m > 2500]
    short_streets = [s for s in geocoder.ix.streets if s.line is not None and s.length_m < 150 and len(s.numbers) < 2]
    assert long_streets and short_streets
    assert all(street_confidence(s) < FAIRLY_SURE for s in long_streets)
    assert all(street_confidence(s) > 0.9 for s in short_streets)
    for street in long_streets:
        result = geocoder.geocode(f"{street.name}, {street.municipality}", limit=10)
        assert result.match != "street" or result.confidence < FAIRLY_SURE, result.label


def test_a_number_far_beyond_the_street_gives_the_street_below_fairly_sure(geocoder, db):
    for street, _, municipality, _, _ in addresses(db, 40, seed=3):
        result = geocoder.geocode(f"{street} 987, {municipality}")
        assert result.confidence < FAIRLY_SURE, (street, result.label, result.confidence)


def test_a_number_just_past_the_last_mapped_one_is_beside_it(geocoder, db):
    rows = db.execute(
        """SELECT street, municipality, max(housenumber::int) FROM addresses
           WHERE street IS NOT NULL AND housenumber ~ '^[0-9]+$' GROUP BY 1, 2 HAVING count(*) >= 4"""
    ).fetchall()
    checked = 0
    for street, municipality, top in random.Random(5).sample(rows, 40):
        lat, lon = db.execute(
            """SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM addresses
               WHERE street = %s AND municipality = %s AND housenumber = %s""",
            (street, municipality, str(top)),
        ).fetchone()
        result = geocoder.geocode(f"{street} {top + 2}, {municipality}")
        if result.match == "interpolated":
            checked += 1
            assert metres(result.lat, result.lon, lat, lon) < 250 and result.confidence < 0.7
    assert checked >= 30


@pytest.mark.parametrize(
    "suffix", [", Liechtenstein", " FL", ", Fürstentum Liechtenstein", ", Principality of Liechtenstein"]
)
def test_the_country_named_narrows_nothing(geocoder, db, suffix):
    for street, number, municipality, lat, lon in addresses(db, 30, seed=7):
        plain = geocoder.geocode(f"{street} {number} {municipality}")  # not its label: no pick
        result = geocoder.geocode(f"{street} {number} {municipality}{suffix}")
        assert result.match == "address" and is_at(result, lat, lon), (street, number, result.label)
        assert (result.label, result.confidence) == (plain.label, plain.confidence)


def test_the_country_alone_is_no_place(geocoder):
    for q in ("Liechtenstein", "Fürstentum Liechtenstein", "FL"):
        assert geocoder.geocode(q).confidence < FAIRLY_SURE


def test_a_number_on_a_place_without_a_street(geocoder, db):
    rows = db.execute(
        """SELECT place, housenumber, municipality, ST_Y(location::geometry), ST_X(location::geometry)
           FROM addresses WHERE street IS NULL AND place IS NOT NULL"""
    ).fetchall()
    assert rows
    for place, number, municipality, lat, lon in rows:
        result = geocoder.geocode(f"{place} {number}, {municipality}")
        assert result.match == "address" and is_at(result, lat, lon), (place, number, result.label)


def test_two_letters_swapped_keep_the_house_number(geocoder, db):
    rnd = random.Random(11)
    rows = addresses(db, 60, seed=11, where="length(street) >= 8")
    right = 0
    for street, number, municipality, lat, lon in rows:
        result = geocoder.geocode(f"{swap_two_letters(street, rnd)} {number}, {municipality}")
        right += result.match in ("address", "interpolated") and is_at(result, lat, lon)
        assert is_at(result, lat, lon) or result.confidence < FAIRLY_SURE
    assert right >= 0.95 * len(rows)


def test_umlaut_dropped_and_municipality_misspelt_at_once(geocoder, db):
    rows = addresses(db, 40, seed=13, where="street ~ '[äöüÄÖÜ]'")
    typo = {"Vaduz": "Vadus", "Schaan": "Schan", "Triesen": "Trisen", "Balzers": "Balzer", "Eschen": "Eschn"}
    plain = str.maketrans("äöüÄÖÜ", "aouAOU")
    tried = 0
    for street, number, municipality, lat, lon in rows:
        if municipality not in typo:
            continue
        tried += 1
        result = geocoder.geocode(f"{street.translate(plain)} {number} {typo[municipality]}")
        assert is_at(result, lat, lon), (street, number, result.label)
    assert tried >= 10


def test_a_municipality_named_that_does_not_hold_the_street_keeps_the_answer_below_fairly_sure(geocoder, db):
    rows = db.execute(
        """SELECT street, min(housenumber), array_agg(DISTINCT municipality) FROM addresses
           WHERE street IS NOT NULL AND housenumber ~ '^[0-9]+$' GROUP BY street
           HAVING count(DISTINCT municipality) BETWEEN 2 AND 4"""
    ).fetchall()
    assert rows
    for street, number, municipalities in rows[:25]:
        elsewhere = next(m for m in sorted(geocoder.ix.municipality_names) if m not in municipalities)
        if any(s.municipality == elsewhere for s in geocoder.ix.streets if s.name == street):
            continue
        result = geocoder.geocode(f"{street} {number}, {elsewhere}")
        assert result.municipality == elsewhere or result.confidence < FAIRLY_SURE, (street, elsewhere, result)


@pytest.mark.parametrize(
    "form",
    [
        "{a} Ecke {b}, {m}",
        "Ecke {a} {b} {m}",
        "corner of {a} and {b} {m}",
        "{b} / {a}, {m}, Liechtenstein",
    ],
)
def test_corners_in_every_word_order(geocoder, form):
    result = geocoder.geocode(form.format(a="Bahnhofstrasse", b="Landstrasse", m="Schaan"))
    reference = geocoder.geocode("Bahnhofstrasse / Landstrasse, Schaan")
    assert reference.match == "intersection" and reference.confidence >= 0.9
    assert result.match == "intersection" and result.confidence >= 0.9
    assert metres(result.lat, result.lon, reference.lat, reference.lon) < 5


@pytest.mark.parametrize("q", ["church Triesen", "Landstrasse", "Kirchstrasse 3", "Schule Vaduz", "Post"])
def test_candidates_are_listed_from_the_surest_down(geocoder, q):
    confidences = [c.confidence for c in geocoder.geocode(q, limit=10).candidates]
    assert len(confidences) >= 2 and confidences == sorted(confidences, reverse=True)


def test_addresses_without_a_street_are_given_their_nearest_road_forward_and_reverse(geocoder, db):
    rows = db.execute(
        """SELECT housenumber, municipality, ST_Y(location::geometry), ST_X(location::geometry)
           FROM addresses WHERE street IS NULL AND place IS NULL ORDER BY id"""
    ).fetchall()
    named = 0
    for number, _, lat, lon in rows:
        found = geocoder.reverse(lat, lon)
        if found.match == "address" and found.distance_m == 0 and " near " in found.label:
            named += 1  # no road within 40 m, or its nearest has this number elsewhere: named as near that road
        elif found.match == "address" and found.distance_m == 0 and not found.label[0].isdigit():
            named += 1
            street = found.label.split(f" {number}")[0]
            forward = geocoder.geocode(f"{street} {number}, {found.municipality}")
            assert is_at(forward, lat, lon), (found.label, forward.label)
    assert named >= 0.95 * len(rows)  # every one names a road, its own or the one it is near


def test_reverse_names_the_municipality_whose_boundary_holds_the_point(geocoder, db):
    rnd = random.Random(17)
    rows = addresses(db, 150, seed=17)
    for _, _, _, lat, lon in rows:
        lat, lon = lat + rnd.uniform(-4e-4, 4e-4), lon + rnd.uniform(-6e-4, 6e-4)
        holder = db.execute(
            "SELECT name FROM municipalities WHERE ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (lon, lat),
        ).fetchone()
        if holder:
            assert geocoder.reverse(lat, lon).municipality == holder[0]


def test_the_reader_gives_streetless_addresses_the_street_of_their_relation_or_interpolation(tmp_path):
    osm = tmp_path / "streets.osm"
    osm.write_text(
        textwrap.dedent("""\
        <?xml version="1.0" encoding="UTF-8"?>
        <osm version="0.6">
          <node id="1" lat="47.1" lon="9.5" version="1"><tag k="addr:housenumber" v="2"/></node>
          <node id="2" lat="47.1" lon="9.501" version="1">
            <tag k="addr:housenumber" v="10"/><tag k="addr:street" v="Feldweg"/></node>
          <node id="3" lat="47.2" lon="9.5" version="1"><tag k="addr:housenumber" v="5"/></node>
          <node id="4" lat="47.2" lon="9.6" version="1"><tag k="addr:place" v="Silum"/>
            <tag k="addr:housenumber" v="7"/></node>
          <way id="10" version="1"><nd ref="1"/><nd ref="2"/><tag k="addr:interpolation" v="even"/></way>
          <relation id="20" version="1">
            <member type="node" ref="3" role="house"/>
            <tag k="type" v="associatedStreet"/><tag k="name" v="Kirchgasse"/></relation>
        </osm>
        """)
    )
    data = read_map(str(osm))
    streets = {(a.housenumber, a.source): (a.street, a.place) for a in data.addresses}
    assert streets[("2", "node")] == ("Feldweg", None)  # the end of an interpolation way tagged at its other end
    assert {streets[(str(n), "interpolation")] for n in (4, 6, 8)} == {("Feldweg", None)}
    assert streets[("5", "node")] == ("Kirchgasse", None)  # its associatedStreet relation
    assert streets[("7", "node")] == (None, "Silum")  # addr:place kept as the place, not made a street


def test_a_named_area_is_answered_with_or_without_its_preposition(geocoder, db):
    rows = db.execute(
        """SELECT name, municipality, ST_Y(location::geometry), ST_X(location::geometry) FROM places
           WHERE ((category = 'place' AND kind = 'locality') OR category IN ('landuse', 'natural'))
             AND municipality IS NOT NULL"""
    ).fetchall()
    unique = [r for r in rows if sum(1 for o in rows if o[0] == r[0]) == 1]
    assert len(unique) >= 20
    for name, municipality, lat, lon in unique:
        for q in (f"{name}, {municipality}", f"im {name} {municipality}", f"auf {name}, {municipality}"):
            result = geocoder.geocode(q)
            if not is_at(result, lat, lon):  # a street or a building of that name is as good an answer
                assert result.label and name.casefold() in result.label.casefold(), (q, result.label)


def test_two_streets_whose_names_fold_alike_keep_their_own_numbers(geocoder, db):
    rows = db.execute(
        """SELECT a.street, a.housenumber, a.municipality, ST_Y(a.location::geometry), ST_X(a.location::geometry)
           FROM addresses a JOIN addresses b ON a.municipality = b.municipality AND a.housenumber = b.housenumber
             AND a.street <> b.street
             AND lower(translate(a.street, 'äöü', 'aou')) = lower(translate(b.street, 'äöü', 'aou'))"""
    ).fetchall()
    assert rows  # Bodastrasse and Bödastrasse in Triesenberg
    for street, number, municipality, lat, lon in rows:
        result = geocoder.geocode(f"{street} {number} {municipality}", limit=10)
        assert result.label.startswith(f"{street} {number}") and is_at(result, lat, lon)
        assert result.confidence < 0.9  # the other spelling is a name a caller could mean as well


def test_two_letters_swapped_into_an_umlaut_spelling_keep_the_street(geocoder, db):
    rows = addresses(db, 20, seed=19, where="street ~* '^(äu|äl|ül|öl)'")
    for street, number, municipality, lat, lon in rows:
        typed = street[1] + street[0] + street[2:]  # "Äulestrasse" → "uÄlestrasse"-like slips, and the reverse
        if street.startswith("Äu"):
            typed = "Älu" + street[3:] if street[2] == "l" else typed
        result = geocoder.geocode(f"{typed} {number}, {municipality}")
        assert is_at(result, lat, lon) or result.confidence < FAIRLY_SURE, (typed, result.label)


def test_a_municipality_one_slip_off_picks_the_street_of_that_municipality(geocoder, db):
    # Streets whose name is in several municipalities: only the municipality read tells them apart.
    rows = addresses(
        db,
        60,
        seed=17,
        where="""street IN (SELECT name FROM streets GROUP BY name HAVING count(*) > 1)
                 AND municipality IN (SELECT name FROM municipalities)""",
    )
    rnd = random.Random(17)
    tried = 0
    for street, number, municipality, lat, lon in rows:
        i = rnd.randrange(1, len(municipality) - 1)
        for slip in (municipality[:i] + municipality[i + 1 :], swap_two_letters(municipality, rnd)):
            tried += 1
            result = geocoder.geocode(f"{street} {number} {slip}", limit=10)
            assert is_at(result, lat, lon), (street, number, slip, result.label)
    assert tried >= 40


def test_a_name_two_slips_off_is_offered_below_fairly_sure_when_the_number_is_in_the_municipality(geocoder, db):
    rnd = random.Random(23)
    rows = addresses(db, 60, seed=23, where="length(street) BETWEEN 7 AND 12 AND street !~ '[ .-]'")
    right = 0
    for street, number, municipality, lat, lon in rows:
        i, j = sorted(rnd.sample(range(1, len(street)), 2))
        typed = street[:i] + "x" + street[i + 1 : j] + "q" + street[j + 1 :]
        result = geocoder.geocode(f"{typed} {number}, {municipality}", limit=10)
        right += is_at(result, lat, lon)
        assert is_at(result, lat, lon) or result.confidence < FAIRLY_SURE, (typed, result.label)
        assert result.confidence < 0.9
    assert right >= 0.8 * len(rows)


def test_of_two_streets_whose_names_fold_alike_the_spelling_typed_decides(geocoder, db):
    rows = db.execute(
        """SELECT DISTINCT a.street, a.housenumber, a.municipality FROM addresses a JOIN addresses b
             ON a.municipality = b.municipality AND a.housenumber = b.housenumber AND a.street <> b.street
             AND lower(translate(a.street, 'äöü', 'aou')) = lower(translate(b.street, 'äöü', 'aou'))"""
    ).fetchall()
    assert rows
    written_out = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
    for street, number, municipality in rows:
        slip = street[:-3] + street[-2:]  # one letter dropped near the end: "Bödastrase"
        for typed in (street.translate(written_out), slip):
            result = geocoder.geocode(f"{typed} {number} {municipality}", limit=10)
            assert result.label.startswith(f"{street} {number}"), (typed, result.label)
            assert result.confidence < 0.9


def test_a_number_is_not_interpolated_towards_a_stray_number_of_another_numbering():
    line = shapely.LineString([(0, 0), (0, 300)])
    numbers = {"4": (10.0, 20.0), "6": (10.0, 40.0), "373": (10.0, 110.0)}
    street = StreetEntity(0, "Weg", "weg", "Triesen", line, numbers)
    assert locate_number(street, "16") is None  # 373 is no neighbour of 16 seventy metres on
    kind, x, y, conf = locate_number(street, "8")  # just past 6: beside it, on the street
    assert kind == "interpolated" and (x, y) == (0.0, 40.0) and conf < 0.7
