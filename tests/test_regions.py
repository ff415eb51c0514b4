"""Any region: the bundled map and the Helsinki extract (a city clipped by a bounding box, its boundaries cut)
import with municipalities, streets, a service area and a geocoder that works, by the same checks; the municipalities
come from complete boundaries, else from `addr:city`, else from place nodes, else the map's extent, whatever the
extract holds; a centre's own service area comes from a GeoJSON file."""

from pathlib import Path

import orjson
import osmium
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from dispatch.cli import app as cli
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.setup import load_map_with_fleet, migrate, recreate_database
from geo.geocoder import Geocoder, build_index
from geo.osm.areas import AreaFileError, read_area_file
from tests.conftest import HELSINKI_MAP

pytestmark = pytest.mark.slow


@pytest.fixture(params=["liechtenstein", "helsinki"])
def region(request, settings, imported_map, helsinki):
    return settings if request.param == "liechtenstein" else helsinki


def _one(url: str, sql: str, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchone()


def test_every_region_has_municipalities_streets_and_a_service_area_holding_its_addresses(region):
    url = region.libpq_url
    municipalities, addresses, unplaced = _one(
        url,
        "SELECT (SELECT count(*) FROM municipalities), count(*), count(*) FILTER (WHERE municipality IS NULL) "
        "FROM addresses",
    )
    assert municipalities >= 1 and addresses > 1000
    assert unplaced <= 0.02 * addresses  # the few across a border keep the name their addr:city gives
    inside = _one(
        url,
        "SELECT count(*) FROM addresses a JOIN service_area s ON ST_Intersects(s.geom, a.location::geometry)",
    )[0]
    assert inside >= 0.95 * addresses
    counts = _one(url, "SELECT counts FROM map_imports ORDER BY id DESC LIMIT 1")[0]
    streets, named_ways = counts["streets"], counts["named_ways"]
    distinct = _one(url, "SELECT count(DISTINCT name) FROM streets")[0]
    assert named_ways > streets >= distinct > 50  # every named way is in one street of its name


def test_helsinki_whose_boundaries_the_extract_cut_is_one_municipality_read_from_its_addresses(helsinki):
    counts = _one(helsinki.libpq_url, "SELECT counts FROM map_imports ORDER BY id DESC LIMIT 1")[0]
    assert counts["boundaries_incomplete"] >= 10
    assert _one(helsinki.libpq_url, "SELECT array_agg(name), bool_and(in_service_area) FROM municipalities") == (
        ["Helsinki"],
        True,
    )
    assert _one(helsinki.libpq_url, "SELECT name FROM service_area")[0] == "Helsinki"


def test_the_geocoder_starts_and_finds_an_address_in_every_region(region):
    url = region.libpq_url
    street, number, municipality, lat, lon = _one(
        url,
        "SELECT street, housenumber, municipality, ST_Y(location::geometry), ST_X(location::geometry) FROM addresses "
        "WHERE street IS NOT NULL AND housenumber ~ '^[0-9]+$' ORDER BY id LIMIT 1 OFFSET 200",
    )
    geocoder = Geocoder(build_index(url))
    found = geocoder.geocode(f"{street} {number}, {municipality}")
    assert found.confidence >= 0.9 and found.in_service_area
    assert abs(found.lat - lat) < 1e-4 and abs(found.lon - lon) < 1e-4


def _rewrite(src: Path, dst: Path, tags) -> Path:
    """A copy of an OSM file with each object's tags passed through `tags(dict) -> dict`."""
    writer = osmium.SimpleWriter(str(dst), overwrite=True)
    try:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj.replace(tags=tags(dict(obj.tags))))
    finally:
        writer.close()
    return dst


@pytest.fixture(scope="module")
def scratch(settings):
    own = settings.model_copy(update={"database_url": settings.database_url + "_region"})
    recreate_database(own)
    migrate(own)
    return own


def _municipalities(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT name, osm_ref FROM municipalities ORDER BY name").fetchall()


def test_without_addr_city_the_municipality_comes_from_the_place_nodes(scratch, tmp_path):
    path = _rewrite(
        HELSINKI_MAP, tmp_path / "nocity.osm.pbf", lambda t: {k: v for k, v in t.items() if k != "addr:city"}
    )
    result = load_map_with_fleet(path, scratch.libpq_url)
    assert result.service_area["municipalities_from"] == "place nodes"
    assert [name for name, _ in _municipalities(scratch.libpq_url)] == ["Helsinki"]


def test_with_nothing_naming_a_municipality_the_map_is_one_named_after_its_file(scratch, tmp_path):
    def strip(t):
        return {k: v for k, v in t.items() if k != "addr:city" and not (k == "place" and v == "city")}

    result = load_map_with_fleet(_rewrite(HELSINKI_MAP, tmp_path / "old-town.osm.pbf", strip), scratch.libpq_url)
    assert result.service_area["municipalities_from"] == "the map's extent"
    assert _municipalities(scratch.libpq_url) == [("Old town", "map:Old town")]
    # The geocoder works on it all the same.
    assert Geocoder(build_index(scratch.libpq_url)).geocode("Mannerheimintie 5").confidence >= 0.9


def test_two_cities_named_by_their_addresses_each_own_the_ground_nearest_its_addresses(scratch, tmp_path):
    """East and West by the addresses' addr:city (split at a longitude); a misspelling used by a handful is no
    municipality; every address lies in the municipality its addr:city names."""
    split = 24.945

    writer_path = tmp_path / "two.osm.pbf"
    writer = osmium.SimpleWriter(str(writer_path), overwrite=True)
    slips, named = 0, {}
    try:
        for obj in osmium.FileProcessor(str(HELSINKI_MAP)).with_locations():
            tags = dict(obj.tags)
            if "addr:city" in tags and obj.is_node():
                tags["addr:city"] = "East" if obj.location.lon > split else "West"
                if slips < 2 and tags["addr:city"] == "East":
                    tags["addr:city"], slips = "Eastt", slips + 1
                named[f"n{obj.id}"] = "East" if obj.location.lon > split else "West"
            elif "addr:city" in tags:
                tags.pop("addr:city")
            writer.add(obj.replace(tags=tags))
    finally:
        writer.close()
    result = load_map_with_fleet(writer_path, scratch.libpq_url)
    assert result.service_area["municipalities_from"] == "addr:city"
    assert [name for name, _ in _municipalities(scratch.libpq_url)] == ["East", "West"]
    with psycopg.connect(scratch.libpq_url) as conn:
        placed = conn.execute(
            "SELECT a.osm_ref, m.name FROM addresses a "
            "JOIN municipalities m ON ST_Intersects(m.geom, a.location::geometry) WHERE a.source = 'node'"
        ).fetchall()
        overlap = conn.execute(
            "SELECT ST_Area(ST_Intersection(a.geom, b.geom)::geography) FROM municipalities a, municipalities b "
            "WHERE a.name = 'East' AND b.name = 'West'"
        ).fetchone()[0]
    assert overlap < 1.0
    mine = {ref: name for ref, name in placed if ref in named}
    assert len(mine) > 1000 and mine == {ref: named[ref] for ref in mine}


def _square_feature(name: str, west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_a_centres_own_service_area_from_a_geojson_file(scratch, tmp_path):
    area = tmp_path / "area.geojson"
    area.write_bytes(orjson.dumps(_square_feature("Kluuvi only", 24.940, 60.166, 24.950, 60.172)))
    load_map_with_fleet(HELSINKI_MAP, scratch.libpq_url, service_area=area)
    assert _one(scratch.libpq_url, "SELECT name FROM service_area")[0] == "Kluuvi only"
    geocoder = Geocoder(build_index(scratch.libpq_url))
    assert geocoder.in_service_area(60.169, 24.945)
    assert not geocoder.in_service_area(60.160, 24.930)  # in the map, outside the centre's area: said as outside


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{", "not JSON"),
        (b"[]", "not a GeoJSON object"),
        (b'{"type": "Point", "coordinates": [24.9, 60.1]}', "not a Polygon or MultiPolygon"),
        (b'{"type": "FeatureCollection", "features": []}', "without features"),
        (
            b'{"type": "Polygon", "coordinates": [[[2500000, 6700000], [2500100, 6700000], [2500100, 6700100], '
            b"[2500000, 6700000]]]}",
            "not in longitude/latitude",
        ),
        (b'{"type": "Polygon", "coordinates": "x"}', "not a valid polygon"),
    ],
)
def test_a_bad_service_area_file_is_refused_with_the_reason(tmp_path, content, says):
    path = tmp_path / "area.geojson"
    path.write_bytes(content)
    with pytest.raises(AreaFileError, match=says):
        read_area_file(path)


def test_load_map_writes_the_proposed_area_and_refuses_a_bad_one_with_exit_2(scratch, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", scratch.database_url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "proposal.geojson"
        ran = CliRunner().invoke(cli, ["load-map", str(HELSINKI_MAP), "--write-service-area", str(out)])
        assert ran.exit_code == 0, ran.output
        assert "municipalities: from addr:city" in ran.output and "cut by the extract's edge" in ran.output
        feature = orjson.loads(out.read_bytes())
        assert feature["properties"]["name"] == "Helsinki"
        assert shapely.geometry.shape(feature["geometry"]).contains(shapely.Point(24.945, 60.169))
        (tmp_path / "bad.geojson").write_text("{}")
        monkeypatch.setenv("DISPATCH_SERVICE_AREA", str(tmp_path / "bad.geojson"))
        get_settings.cache_clear()
        ran = CliRunner().invoke(cli, ["load-map", str(HELSINKI_MAP)])
        assert ran.exit_code == 2 and "DISPATCH_SERVICE_AREA" in ran.output and "Traceback" not in ran.output
        # Longitude and latitude swapped: a polygon in the sea, holding none of the map's addresses.
        swapped = tmp_path / "swapped.geojson"
        swapped.write_bytes(orjson.dumps(_square_feature("Swapped", 60.16, 24.93, 60.18, 24.96)))
        monkeypatch.setenv("DISPATCH_SERVICE_AREA", str(swapped))
        get_settings.cache_clear()
        ran = CliRunner().invoke(cli, ["load-map", str(HELSINKI_MAP)])
        assert ran.exit_code == 2 and "holds none of the map's" in " ".join(ran.output.split()), ran.output
    finally:
        get_settings.cache_clear()


def test_the_bundled_map_is_as_it_was(settings, imported_map):
    """Liechtenstein's eleven municipalities come from its complete boundaries, as before."""
    assert imported_map.service_area["municipalities_from"] == "boundaries"
    assert len(_municipalities(settings.libpq_url)) == 11
    assert BUNDLED_MAP.exists()


@pytest.mark.parametrize("option", ["--write-service-area", "--fleet-proposal"])
def test_an_output_file_that_cannot_be_written_is_refused_before_the_import(scratch, monkeypatch, option):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", scratch.database_url)
    get_settings.cache_clear()
    try:
        before = _one(scratch.libpq_url, "SELECT count(*) FROM map_imports")[0]
        ran = CliRunner().invoke(cli, ["load-map", str(HELSINKI_MAP), option, "/nonexistent-dir/out"])
        assert ran.exit_code == 2 and "no such directory" in ran.output and "Traceback" not in ran.output
        assert _one(scratch.libpq_url, "SELECT count(*) FROM map_imports")[0] == before  # nothing imported
    finally:
        get_settings.cache_clear()
