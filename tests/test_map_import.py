"""The bundled map imports completely, re-imports to the same state, and a bad file changes nothing."""

import shutil

import numpy as np
import psycopg
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from typer.testing import CliRunner

from dispatch.cli import app as cli
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.setup import load_map_with_fleet
from geo.osm.importer import load_map
from geo.osm.reader import MapReadError

pytestmark = pytest.mark.slow
TABLES = (
    "municipalities",
    "addresses",
    "streets",
    "places",
    "road_nodes",
    "road_edges",
    "stations",
    "units",
    "map_imports",
)


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_bundled_map_is_complete(settings, imported_map):
    counts = table_counts(settings.libpq_url)
    assert counts["addresses"] >= 3500
    assert counts["streets"] >= 800
    assert counts["municipalities"] == 11
    assert imported_map.counts["stations_fire"] >= 7
    assert imported_map.counts["stations_hospital"] >= 1
    assert 25 <= counts["units"] <= 40
    with psycopg.connect(settings.libpq_url) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM municipalities")}
        unplaced = conn.execute("SELECT count(*) FROM addresses WHERE municipality IS NULL").fetchone()[0]
        stations = conn.execute("SELECT count(*) FROM stations WHERE name = ''").fetchone()[0]
    assert {
        "Vaduz",
        "Schaan",
        "Triesen",
        "Balzers",
        "Eschen",
        "Mauren",
        "Triesenberg",
        "Ruggell",
        "Gamprin",
        "Schellenberg",
        "Planken",
    } == names
    assert unplaced == 0
    assert stations == 0


def test_largest_strongly_connected_component_holds_95_percent(settings, imported_map):
    with psycopg.connect(settings.libpq_url) as conn:
        n = conn.execute("SELECT count(*) FROM road_nodes").fetchone()[0]
        edges = np.array(conn.execute("SELECT source, target FROM road_edges").fetchall())
    graph = csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=True, connection="strong")
    largest = np.bincount(labels).max()
    assert largest / n >= 0.95
    assert largest == imported_map.counts["largest_component_nodes"]


def test_road_edges_have_lengths_speeds_and_times(settings, imported_map):
    with psycopg.connect(settings.libpq_url) as conn:
        bad = conn.execute("""SELECT count(*) FROM road_edges
                              WHERE length_m <= 0 OR speed_kph <= 0
                                 OR abs(travel_s - length_m / (speed_kph / 3.6)) > 0.01
                              """).fetchone()[0]
        drift = conn.execute(
            "SELECT max(abs(length_m - ST_Length(geom::geography)) / ST_Length(geom::geography)) FROM road_edges"
        ).fetchone()[0]
        oneway = conn.execute("""SELECT count(*) FROM road_edges e WHERE NOT EXISTS
                                 (SELECT 1 FROM road_edges r WHERE r.source = e.target AND r.target = e.source)
                              """).fetchone()[0]
    assert bad == 0
    assert drift < 0.005  # spherical haversine is within 0.5 % of PostGIS's ellipsoidal lengths
    assert oneway > 0  # one-way streets and roundabouts exist and have no reverse edge


def test_every_unit_has_a_home_station_and_a_unique_call_sign(settings, imported_map):
    with psycopg.connect(settings.libpq_url) as conn:
        rows = conn.execute("SELECT call_sign, home_station_id, kind::text, position IS NOT NULL FROM units").fetchall()
    assert len({r[0] for r in rows}) == len(rows)
    assert all(r[1] is not None and r[3] for r in rows)
    kinds = {r[2] for r in rows}
    assert {"engine", "ladder", "ambulance", "patrol"} <= kinds


def test_reimport_gives_the_same_counts(settings, imported_map):
    before = table_counts(settings.libpq_url)
    load_map_with_fleet(BUNDLED_MAP, settings.libpq_url)
    after = table_counts(settings.libpq_url)
    assert after.pop("map_imports") == before.pop("map_imports") + 1
    assert after == before


@pytest.mark.parametrize("content", [b"", b"this is not a map", "truncated"])
def test_a_bad_file_changes_nothing(settings, imported_map, tmp_path, content):
    path = tmp_path / "bad.osm.pbf"
    if content == "truncated":  # the first half of a real file: valid header, broken blocks
        data = BUNDLED_MAP.read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    before = table_counts(settings.libpq_url)
    with pytest.raises(MapReadError):
        load_map(path, settings.libpq_url)
    assert table_counts(settings.libpq_url) == before


def test_a_failure_while_writing_rolls_everything_back(settings, imported_map):
    before = table_counts(settings.libpq_url)

    def broken(cur):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):  # the last step, after the map tables were replaced
        load_map(BUNDLED_MAP, settings.libpq_url, then=[("units", broken)])
    assert table_counts(settings.libpq_url) == before


def test_the_map_alone_seeds_no_units_and_the_service_import_counts_them(settings, imported_map):
    """geo imports the map only; the fleet is the service's step after it (dispatch.setup.load_map_with_fleet)."""
    assert "units" not in load_map(BUNDLED_MAP, settings.libpq_url).counts
    assert imported_map.counts["units"] == table_counts(settings.libpq_url)["units"]


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISPATCH_ENV", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_load_map_missing_file_exits_2_without_traceback(cli_env, tmp_path):
    result = cli_env.invoke(cli, ["load-map", str(tmp_path / "missing.osm.pbf")])
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert "Traceback" not in result.output


def test_cli_load_map_wrong_format_exits_2(cli_env, tmp_path):
    path = tmp_path / "map.txt"
    path.write_text("hello")
    result = cli_env.invoke(cli, ["load-map", str(path)])
    assert result.exit_code == 2
    assert "unknown map format" in result.output


def test_cli_load_map_imports_a_copy(cli_env, settings, imported_map, tmp_path):
    copy = tmp_path / "copy.osm.pbf"
    shutil.copy(BUNDLED_MAP, copy)
    result = cli_env.invoke(cli, ["load-map", str(copy)])
    assert result.exit_code == 0, result.output
    assert "addresses" in result.output


def test_cli_without_a_database_says_what_to_do(monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "cannot use PostgreSQL" in result.output
    assert "Traceback" not in result.output
