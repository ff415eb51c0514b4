"""The service area at import: the complete boundary holding most of the map's addresses, else the union of the
municipalities; a municipality is in it if its point on surface is. The summary of `dispatch load-map` says so."""

import psycopg
import pytest
from typer.testing import CliRunner

from dispatch.cli import app as cli
from dispatch.config import get_settings
from dispatch.setup import imported_sha, load_map_with_fleet, migrate, recreate_database

pytestmark = pytest.mark.slow


def _square(first_node: int, way: int, lon: float, lat: float, size: float = 0.02) -> str:
    corners = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]
    nodes = "".join(
        f'<node id="{first_node + k}" lat="{y:.4f}" lon="{x:.4f}" version="1"/>' for k, (x, y) in enumerate(corners)
    )
    refs = "".join(f'<nd ref="{first_node + k}"/>' for k in (0, 1, 2, 3, 0))
    return f'{nodes}<way id="{way}" version="1">{refs}</way>'


def _boundary(relation: int, way: int, name: str, level: int) -> str:
    return (
        f'<relation id="{relation}" version="1"><member type="way" ref="{way}" role="outer"/>'
        '<tag k="type" v="boundary"/><tag k="boundary" v="administrative"/>'
        f'<tag k="admin_level" v="{level}"/><tag k="name" v="{name}"/></relation>'
    )


def _address(node: int, lon: float, lat: float, number: int) -> str:
    return (
        f'<node id="{node}" lat="{lat:.4f}" lon="{lon:.4f}" version="1"><tag k="addr:street" v="Hauptstrasse"/>'
        f'<tag k="addr:housenumber" v="{number}"/></node>'
    )


def border_map(*, with_country: bool) -> str:
    """Testland (admin_level 2) holds Inner and three of the four addresses; Across lies beyond its border."""
    parts = [
        '<node id="1" lat="47.1350" lon="9.5050" version="1"/><node id="2" lat="47.1360" lon="9.5150" version="1"/>',
        '<way id="100" version="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
        '<tag k="name" v="Hauptstrasse"/></way>',
        _square(10, 110, 9.50, 47.13, 0.04),  # Testland
        _square(20, 120, 9.50, 47.13),  # Inner
        _square(30, 130, 9.56, 47.13),  # Across
        *(_address(40 + k, 9.505 + k * 0.004, 47.137, k + 1) for k in range(3)),
        _address(50, 9.565, 47.137, 9),
        _boundary(200, 120, "Inner", 8),
        _boundary(201, 130, "Across", 8),
    ]
    if with_country:
        parts.append(_boundary(202, 110, "Testland", 2))
    return '<?xml version="1.0" encoding="UTF-8"?><osm version="0.6">' + "".join(parts) + "</osm>"


@pytest.fixture(scope="module")
def scratch(settings):
    own = settings.model_copy(update={"database_url": settings.database_url + "_area"})
    recreate_database(own)
    migrate(own)
    return own


def _municipalities(url: str) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, in_service_area FROM municipalities").fetchall())


def test_a_town_across_the_border_is_outside(scratch, tmp_path):
    path = tmp_path / "border.osm"
    path.write_text(border_map(with_country=True))
    result = load_map_with_fleet(path, scratch.libpq_url)
    assert result.service_area == {
        "name": "Testland",
        "inside": ["Inner"],
        "outside": ["Across"],
        "municipalities_from": "boundaries",
    }
    assert result.counts["municipalities_in_service_area"] == 1
    assert _municipalities(scratch.libpq_url) == {"Inner": True, "Across": False}


def test_without_a_boundary_holding_most_addresses_the_municipalities_are_the_area(scratch, tmp_path):
    path = tmp_path / "no-country.osm"
    path.write_text(border_map(with_country=False))
    result = load_map_with_fleet(path, scratch.libpq_url)
    assert result.service_area == {
        "name": "the municipalities",
        "inside": ["Across", "Inner"],
        "outside": [],
        "municipalities_from": "boundaries",
    }
    with psycopg.connect(scratch.libpq_url) as conn:
        assert conn.execute("SELECT osm_ref, admin_level FROM service_area").fetchall() == [(None, None)]


def test_the_bundled_map_serves_liechtenstein_and_its_eleven_municipalities(settings, imported_map):
    assert imported_map.service_area["name"] == "Liechtenstein"
    assert len(imported_map.service_area["inside"]) == 11 and imported_map.service_area["outside"] == []
    assert "Vaduz" in imported_map.service_area["inside"] and "Feldkirch" not in imported_map.service_area["inside"]
    with psycopg.connect(settings.libpq_url) as conn:
        # Feldkirch's addresses lie beyond the area (the extract holds no complete boundary of it).
        outside = conn.execute("""
            SELECT DISTINCT a.municipality FROM addresses a, service_area s
            WHERE NOT ST_Intersects(s.geom, a.location::geometry) AND a.municipality IS NOT NULL""").fetchall()
    assert ("Feldkirch",) in outside


def test_the_load_map_summary_names_the_area_and_who_is_outside(scratch, tmp_path, monkeypatch):
    path = tmp_path / "border.osm"
    path.write_text(border_map(with_country=True))
    monkeypatch.setenv("DISPATCH_DATABASE_URL", scratch.database_url)
    monkeypatch.setenv("DISPATCH_ENV", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["load-map", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "service area: Testland (1 municipality in it); outside it: Across" in result.output


def test_a_map_imported_before_the_service_area_is_imported_again_by_the_demo(scratch, tmp_path):
    """`dispatch demo` imports the map when its sha256 differs from the last import's, or when that import has no
    service area in its summary (it ran before migration 0014, which could only fall back on the municipalities)."""
    path = tmp_path / "border.osm"
    path.write_text(border_map(with_country=True))
    result = load_map_with_fleet(path, scratch.libpq_url)
    assert imported_sha(scratch) == result.sha256
    with psycopg.connect(scratch.libpq_url) as conn:
        conn.execute(
            """
            INSERT INTO map_imports (source, sha256, duration_s, counts)
            VALUES ('old', %s, 1.0, '{"municipalities": 2}')""",
            (result.sha256,),
        )
    assert imported_sha(scratch) is None


def test_migration_0014_gives_a_map_already_imported_its_municipalities_as_the_area(settings):
    own = settings.model_copy(update={"database_url": settings.database_url + "_area14"})
    recreate_database(own)
    migrate(own, "0013")
    with psycopg.connect(own.libpq_url) as conn:
        conn.execute("""
            INSERT INTO municipalities (name, osm_ref, admin_level, geom)
            VALUES ('Inner', 'r1', 8, 'SRID=4326;MULTIPOLYGON(((9.5 47.1,9.6 47.1,9.6 47.2,9.5 47.1)))')""")
    migrate(own)
    with psycopg.connect(own.libpq_url) as conn:
        area = conn.execute("SELECT name, osm_ref, ST_Area(geom) > 0 FROM service_area").fetchall()
        inside = conn.execute("SELECT in_service_area FROM municipalities").fetchall()
    assert area == [("the municipalities", None, True)] and inside == [(True,)]
