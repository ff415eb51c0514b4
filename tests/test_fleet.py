"""The fleet file (docs/fleet.md): `dispatch units import/export`, `load-map --fleet-proposal` and
DISPATCH_FLEET_FILE, on databases of their own made from a template with the Helsinki extract (no fleet), each
test's copy made in a moment."""

import shutil
import tomllib
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from dispatch.cli import app as cli
from dispatch.config import BUNDLED_MAP, get_settings
from dispatch.setup import migrate, recreate_database
from geo.osm.importer import load_map

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"
HELSINKI, HELSINKI_FLEET = DATA / "helsinki.osm.pbf", DATA / "helsinki-fleet.toml"


def _named(settings, database: str):
    url = make_url(settings.database_url).set(database=database).render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": url})


def _admin(settings) -> psycopg.Connection:
    return psycopg.connect(
        make_url(settings.libpq_url).set(database="postgres").render_as_string(hide_password=False), autocommit=True
    )


@pytest.fixture(scope="module")
def template(settings):
    """Helsinki's map and nothing else (geo's import: no units, the extract's one fire station)."""
    own = _named(settings, f"{settings.database_name}_fleet_tpl")
    recreate_database(own)
    migrate(own)
    load_map(HELSINKI, own.libpq_url)
    return own


@pytest.fixture
def helsinki(settings, template, monkeypatch):
    """A fresh copy of the template; the CLI pointed at it."""
    own = _named(settings, f"{settings.database_name}_fleet")
    with _admin(settings) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{own.database_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{own.database_name}" TEMPLATE "{template.database_name}"')
    monkeypatch.setenv("DISPATCH_DATABASE_URL", own.database_url)
    monkeypatch.setenv("DISPATCH_ENV", "test")
    monkeypatch.delenv("DISPATCH_FLEET_FILE", raising=False)
    get_settings.cache_clear()
    yield own
    get_settings.cache_clear()


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def rows(settings, sql: str) -> list[tuple]:
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(sql).fetchall()


def fleet_rows(settings) -> tuple[list[tuple], list[tuple]]:
    return (
        rows(settings, "SELECT name, kind::text, ST_AsText(location), municipality FROM stations ORDER BY id"),
        rows(
            settings, "SELECT call_sign, kind::text, capabilities, home_station_id, status::text FROM units ORDER BY id"
        ),
    )


def test_export_import_export_gives_the_same_file(helsinki, tmp_path):
    first = run("units", "import", str(HELSINKI_FLEET))
    assert first.exit_code == 0, first.output
    assert "stations" in first.output and "created" in first.output
    exported = run("units", "export")
    assert exported.exit_code == 0
    path = tmp_path / "fleet.toml"
    path.write_text(exported.stdout)
    again = run("units", "import", str(path))
    assert again.exit_code == 0, again.output
    fleet = tomllib.loads(HELSINKI_FLEET.read_text())
    for kind in ("stations", "units"):  # nothing created or updated, all unchanged
        assert f"│ {kind:<8} │ 0       │ 0       │ {len(fleet[kind]):<9} │" in again.output
    assert run("units", "export").stdout == exported.stdout
    out = tmp_path / "out.toml"
    assert run("units", "export", str(out)).exit_code == 0
    assert out.read_text() == exported.stdout


def test_the_helsinki_fleet_stands_on_the_extracts_roads(helsinki):
    assert run("units", "import", str(HELSINKI_FLEET)).exit_code == 0
    far = rows(
        helsinki,
        """SELECT s.name FROM stations s WHERE s.osm_ref IS NULL AND NOT EXISTS (
             SELECT 1 FROM road_nodes n WHERE ST_DWithin(n.geom::geography, s.location, 30))""",
    )
    assert far == []
    units = dict(
        (c, (k, caps, s))
        for c, k, caps, s in rows(
            helsinki,
            """SELECT call_sign, u.kind::text, capabilities, s.name
               FROM units u JOIN stations s ON s.id = home_station_id""",
        )
    )
    assert len(units) == 8
    # The file's own kind is kept as one of the system's, with its own capabilities.
    assert units["First Response 1"] == ("engine", ["rescue_light", "first_aid"], "Erottajan paloasema")
    assert units["Medic 1"] == ("ambulance", ["ambulance", "ems_als", "ems_bls"], "Kampin ambulanssiasema")
    # The extract's own fire station is the file's, by name: moved to the road, not doubled.
    assert rows(helsinki, "SELECT count(*), min(osm_ref) FROM stations WHERE name = 'Erottajan paloasema'") == [
        (1, "r167018")
    ]


BASE = '[[stations]]\nname = "Base"\nkind = "fire"\nlon = 24.944581\nlat = 60.16577\n'
UNIT = '[[units]]\ncall_sign = "Engine 9"\nkind = "engine"\nstation = "Base"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace('"fire"', '"firehouse"'), "station 1 \"Base\": unknown kind 'firehouse'"),
        (BASE + UNIT.replace('"engine"', '"boat"'), 'unit "Engine 9": unknown kind "boat"'),
        (BASE + UNIT.replace('"Base"', '"Nowhere"'), 'unit "Engine 9": unknown home station "Nowhere"'),
        (BASE + UNIT + UNIT, 'duplicate call sign "Engine 9"'),
        (BASE + BASE.replace("24.944581", "24.95"), 'duplicate station name "Base" (stations 1, 2)'),
        (BASE.replace("24.944581", '"24.94"'), "station 1 \"Base\": lon is not a number ('24.94')"),
        (BASE.replace("60.16577", "91"), 'station 1 "Base": lat 91 is out of range (-90 to 90)'),
        (BASE.replace("24.944581", "9.52"), 'station 1 "Base": outside the service area (Helsinki)'),
        ("[[stations]\nname = 1", "not TOML"),
        ('[kinds.boat]\ncapabilities = ["water"]\n', 'kind "boat": not a kind of the system'),
        (BASE.replace("lat", "latitude"), 'station 1 "Base": unknown field latitude'),
    ],
)
def test_a_bad_file_exits_2_with_its_place_and_reason_and_writes_nothing(helsinki, tmp_path, text, message):
    before = fleet_rows(helsinki)
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    result = run("units", "import", str(path))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert fleet_rows(helsinki) == before


def test_a_missing_file_exits_2(helsinki, tmp_path):
    result = run("units", "import", str(tmp_path / "nowhere.toml"))
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_a_station_outside_the_service_area_is_refused(settings, imported_map, monkeypatch, tmp_path):
    """On the bundled map the service area is Liechtenstein: a station in Helsinki is outside it (checked only:
    the shared database is not written)."""
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    path = tmp_path / "fleet.toml"
    path.write_text(BASE)
    try:
        result = run("units", "import", "--check", str(path))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert 'station 1 "Base": outside the service area (Liechtenstein)' in " ".join(result.output.split())


def _on_incident(settings, call_sign: str) -> int:
    with psycopg.connect(settings.libpq_url) as conn:
        incident = conn.execute(
            """INSERT INTO incidents (type_code, priority, status, geocode_match, geocode_confidence, received_at,
                                      location)
               VALUES ('FIRE-BLDG', 1, 'dispatched', 'coordinates', 1, now(), 'SRID=4326;POINT(24.944 60.168)')
               RETURNING id"""
        ).fetchone()[0]
        conn.execute(
            """INSERT INTO assignments (incident_id, unit_id, slot, status)
               SELECT %s, id, 'engine', 'assigned' FROM units WHERE call_sign = %s""",
            (incident, call_sign),
        )
        conn.execute("UPDATE units SET status = 'dispatched' WHERE call_sign = %s", (call_sign,))
    return incident


def test_a_unit_on_an_incident_is_never_changed_nor_retired(helsinki, tmp_path):
    assert run("units", "import", str(HELSINKI_FLEET)).exit_code == 0
    incident = _on_incident(helsinki, "Engine 1")
    before = fleet_rows(helsinki)
    moved = tmp_path / "moved.toml"
    moved.write_text(
        HELSINKI_FLEET.read_text().replace(
            'call_sign = "Engine 1"\nkind = "engine"\nstation = "Erottajan paloasema"',
            'call_sign = "Engine 1"\nkind = "engine"\nstation = "Kampin ambulanssiasema"',
        )
    )
    result = run("units", "import", str(moved))
    assert result.exit_code == 2
    assert f'unit "Engine 1" is on incident {incident}: it is not changed' in " ".join(result.output.split())
    assert fleet_rows(helsinki) == before

    left_out = tmp_path / "left_out.toml"
    left_out.write_text(HELSINKI_FLEET.read_text().split("[[units]]")[0])  # the stations alone
    result = run("units", "import", "--retire", str(left_out))
    assert result.exit_code == 2
    assert f'unit "Engine 1" is on incident {incident}: it is not retired' in " ".join(result.output.split())
    assert fleet_rows(helsinki) == before

    # Without --retire the units the file leaves out are kept, and said so; the unchanged one on the incident too.
    result = run("units", "import", str(left_out))
    assert result.exit_code == 0, result.output
    assert "8 unit(s) not in the file, kept as they are" in " ".join(result.output.split())
    assert fleet_rows(helsinki) == before


def test_retire_sets_the_units_left_out_out_of_service(helsinki, tmp_path):
    assert run("units", "import", str(HELSINKI_FLEET)).exit_code == 0
    fewer = tmp_path / "fewer.toml"
    fewer.write_text(HELSINKI_FLEET.read_text().rsplit("[[units]]", 2)[0])  # without Patrol 1 and Patrol 2
    result = run("units", "import", "--retire", str(fewer))
    assert result.exit_code == 0, result.output
    assert "2 unit(s) were set out of service: Patrol 1, Patrol 2" in " ".join(result.output.split())
    statuses = dict(rows(helsinki, "SELECT call_sign, status::text FROM units"))
    assert statuses["Patrol 1"] == statuses["Patrol 2"] == "out_of_service"
    assert statuses["Engine 1"] == "available"


def test_check_says_what_would_change_and_writes_nothing(helsinki):
    before = fleet_rows(helsinki)
    result = run("units", "import", "--check", str(HELSINKI_FLEET))
    assert result.exit_code == 0, result.output
    assert "nothing written" in " ".join(result.output.split())
    assert fleet_rows(helsinki) == before


def test_the_fleet_file_setting_makes_the_map_import_write_the_centres_fleet(helsinki, monkeypatch):
    monkeypatch.setenv("DISPATCH_FLEET_FILE", str(HELSINKI_FLEET))
    get_settings.cache_clear()
    result = run("load-map", str(HELSINKI))
    assert result.exit_code == 0, result.output
    call_signs = {r[0] for r in rows(helsinki, "SELECT call_sign FROM units")}
    assert call_signs == {
        "Engine 1",
        "Ladder 1",
        "Rescue 1",
        "First Response 1",
        "Medic 1",
        "Medic 2",
        "Patrol 1",
        "Patrol 2",
    }


def test_a_bad_fleet_file_setting_stops_the_map_import(helsinki, monkeypatch, tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(BASE + UNIT.replace('"engine"', '"boat"'))
    monkeypatch.setenv("DISPATCH_FLEET_FILE", str(path))
    get_settings.cache_clear()
    result = run("load-map", str(HELSINKI))
    assert result.exit_code == 2
    assert 'unit "Engine 9": unknown kind "boat"' in " ".join(result.output.split())


def test_the_proposal_is_the_osm_fleet_and_changes_no_unit(settings, monkeypatch, tmp_path):
    """On the bundled map: the proposal holds the 31 units the import seeds, and importing it changes nothing."""
    own = _named(settings, f"{settings.database_name}_fleet_li")
    recreate_database(own)
    migrate(own)
    monkeypatch.setenv("DISPATCH_DATABASE_URL", own.database_url)
    monkeypatch.delenv("DISPATCH_FLEET_FILE", raising=False)
    get_settings.cache_clear()
    try:
        copy = tmp_path / "li.osm.pbf"
        shutil.copy(BUNDLED_MAP, copy)
        assert run("load-map", str(copy)).exit_code == 0
        before = fleet_rows(own)
        proposal = tmp_path / "proposal.toml"
        result = run("load-map", "--fleet-proposal", str(proposal), str(copy))
        assert result.exit_code == 0, result.output
        assert fleet_rows(own) == before
        text = proposal.read_text()
        assert text.count("[[units]]") == 31
        assert run("units", "import", str(proposal)).exit_code == 0
        assert fleet_rows(own) == before
    finally:
        get_settings.cache_clear()


def test_the_demo_applies_the_fleet_file_on_a_map_already_imported(helsinki, tmp_path, monkeypatch):
    from dispatch import demo

    monkeypatch.chdir(tmp_path)  # the demo writes var/demo-tokens.json here
    own = helsinki.model_copy(update={"fleet_file": HELSINKI_FLEET})
    tokens = demo.prepare(own, base_url="http://127.0.0.1:8000", map_path=HELSINKI)
    assert len(tokens["units"]) == 8
    assert "First Response 1" in tokens["units"]


def test_once_the_centre_imported_its_fleet_a_map_import_keeps_it_and_seeds_no_demo_units(helsinki):
    """A map imported again without DISPATCH_FLEET_FILE (to change the service area, say) applies the centre's
    fleet file again: no demo unit, no demo standby post, the stations where the file puts them."""
    assert run("units", "import", str(HELSINKI_FLEET)).exit_code == 0
    before = fleet_rows(helsinki)
    again = run("load-map", str(HELSINKI))
    assert again.exit_code == 0, again.output
    assert fleet_rows(helsinki) == before
    assert not rows(helsinki, "SELECT name FROM stations WHERE osm_ref LIKE 'standby:%'")
    assert run("units", "export").exit_code == 0


def test_on_another_map_the_special_units_are_at_the_main_fire_station_of_its_busiest_municipality(helsinki, tmp_path):
    """seed.toml names Vaduz for the ladder, the rescue and the tanker: on Helsinki's map (no Vaduz) the proposal
    puts them at the fire station of the municipality with the most addresses, the extract's own."""
    proposal = tmp_path / "proposal.toml"
    assert run("load-map", "--fleet-proposal", str(proposal), str(HELSINKI)).exit_code == 0
    fleet = tomllib.loads(proposal.read_text())
    [fire] = [s["name"] for s in fleet["stations"] if s["kind"] == "fire"]
    at_fire = {u["kind"] for u in fleet["units"] if u.get("station") == fire}
    assert at_fire == {"engine", "ladder", "rescue", "tanker"}
