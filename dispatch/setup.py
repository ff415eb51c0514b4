"""Set-up steps the CLI and the demo share: migrate the schema, import the map and the fleet."""

from importlib import resources
from pathlib import Path

import psycopg
import sqlalchemy.exc
from alembic import command
from alembic.config import Config
from geoalchemy2 import alembic_helpers
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy.engine import make_url

from dispatch.config import Settings
from dispatch.units import fleet_db
from dispatch.units.fleet import Fleet, dump
from dispatch.units.fleet import read as read_fleet
from dispatch.units.seed import seed_after_import
from geo.osm.areas import Area, AreaFileError, read_area_file
from geo.osm.importer import ImportResult, Step, latest_import, load_map
from geo.osm.reader import READER_VERSION, MapReadError

# migrations/ ships inside the package as dispatch.migrations (setup.py): found the same way in a checkout and a
# wheel. alembic.ini stays the developers' file for `alembic revision`; the service configures Alembic here.
MIGRATIONS = Path(str(resources.files("dispatch.migrations")))


class SetupError(Exception):
    """A service or file the command needs is not there; the message says what to do."""


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = settings.sync_database_url
    config.attributes["configure_logger"] = False
    return config


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What Alembic compares: our tables, not PostGIS's own (spatial_ref_sys)."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def _unreachable(settings: Settings, exc: Exception) -> SetupError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SetupError(
        f"cannot use PostgreSQL at {settings.database_url.split('@')[-1]}: {reason}. "
        "Run `make demo` (or scripts/bootstrap.sh) to set it up, or set DISPATCH_DATABASE_URL."
    )


def migrate(settings: Settings, revision: str = "head") -> None:
    try:
        command.upgrade(alembic_config(settings), revision)
    except sqlalchemy.exc.OperationalError as exc:
        raise _unreachable(settings, exc.orig or exc) from exc


def ensure_database(settings: Settings) -> None:
    """Creates the settings' database with PostGIS if it is not there (a second map's demo has a database of its
    own, which the set-up did not make)."""
    admin_url = make_url(settings.libpq_url).set(database="postgres").render_as_string(hide_password=False)
    name = settings.database_name
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(settings.libpq_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.OperationalError as exc:
        raise _unreachable(settings, exc) from exc


def recreate_database(settings: Settings) -> None:
    """Drops and creates the settings' database, with PostGIS (not migrated): the test, bench and benchmark
    databases start from nothing each run."""
    admin_url = make_url(settings.libpq_url).set(database="postgres").render_as_string(hide_password=False)
    name = settings.database_name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(settings.libpq_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def progress_bar(console: Console | None = None) -> Progress:
    """Progress on stderr: stdout stays for what a command answers (JSON lines, tables), and is not passed
    through the bar (which would carry it to stderr)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
        console=console or Console(stderr=True),
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _apply(cur: psycopg.Cursor, fleet: Fleet, source: str) -> dict[str, int]:
    """A fleet written in the import's transaction; the import's summary counts the units."""
    fleet_db.apply(cur, fleet, source=source)
    cur.execute("SELECT count(*) FROM units")
    return {"units": fleet_db.scalar(cur)}


def _fleet_step(fleet: Fleet, source: str) -> Step:
    return ("fleet", lambda cur: _apply(cur, fleet, source))


def _area(service_area: Path | None) -> Area | None:
    try:
        return read_area_file(service_area) if service_area else None
    except AreaFileError as exc:  # a bad input file, as a bad map is: exit status 2
        raise MapReadError(f"DISPATCH_SERVICE_AREA: {exc}") from None


def load_map_with_fleet(
    path: Path,
    libpq_url: str,
    progress: Progress | None = None,
    *,
    fleet: Path | None = None,
    service_area: Path | None = None,
) -> ImportResult:
    """The service's map import: geo's import of the map, then, in the same transaction, the fleet: the centre's
    fleet file if one is given (DISPATCH_FLEET_FILE), else the demo fleet seeded at the map's stations (a failure in
    either leaves the database as it was). The fleet file is read and checked before the map. `service_area`: the
    centre's own area's GeoJSON file (DISPATCH_SERVICE_AREA), in place of the one the import proposes."""
    area = _area(service_area)
    if fleet is None:
        return load_map(path, libpq_url, progress, then=[("fleet", _centres_or_demo)], service_area=area)
    return load_map(path, libpq_url, progress, then=[_fleet_step(read_fleet(fleet), str(fleet))], service_area=area)


def _centres_or_demo(cur: psycopg.Cursor) -> dict[str, int]:
    """Without a fleet file given: the centre's fleet if it ever imported one (the latest, applied again, so that
    what the map import changed of its stations is set back), else the demo fleet at the map's stations."""
    found = fleet_db.latest(cur)
    if found is None:
        return seed_after_import(cur)
    source, fleet = found
    return _apply(cur, fleet, source)


def load_map_with_proposal(
    path: Path, libpq_url: str, progress: Progress | None = None, *, service_area: Path | None = None
) -> tuple[ImportResult, str]:
    """The map import with no change to the units, and the fleet OpenStreetMap proposes (its stations, the standby
    posts and the units seed.toml gives them) as the text of a fleet file."""
    found: list[str] = []

    def step(cur: psycopg.Cursor) -> dict[str, int]:
        fleet = fleet_db.proposal(cur)
        found.append(dump(fleet, PROPOSAL_HEADER.format(map=path.name)))
        return {"proposed_stations": len(fleet.stations), "proposed_units": len(fleet.units)}

    result = load_map(path, libpq_url, progress, then=[("fleet proposal", step)], service_area=_area(service_area))
    return result, found[0]


PROPOSAL_HEADER = """# The fleet OpenStreetMap proposes for {map}: its stations, a standby post in every municipality
# without a police station, and the units dispatch/units/seed.toml gives them. Edit it into the centre's own
# fleet, then `dispatch units import FILE` (docs/fleet.md).
"""


def _database(settings: Settings, work):
    try:
        return work()
    except psycopg.OperationalError as exc:
        raise _unreachable(settings, exc) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise SetupError("the schema is missing: run `dispatch migrate` first") from exc


def import_map(settings: Settings, path: Path) -> ImportResult:
    def work() -> ImportResult:
        with progress_bar() as progress:
            return load_map_with_fleet(
                path, settings.libpq_url, progress, fleet=settings.fleet_file, service_area=settings.service_area
            )

    return _database(settings, work)


def import_map_proposing(settings: Settings, path: Path) -> tuple[ImportResult, str]:
    def work() -> tuple[ImportResult, str]:
        with progress_bar() as progress:
            return load_map_with_proposal(path, settings.libpq_url, progress, service_area=settings.service_area)

    return _database(settings, work)


def import_fleet(settings: Settings, path: Path, *, retire: bool = False, check: bool = False) -> fleet_db.Changes:
    """`dispatch units import`: the file read and checked, then written in one transaction (rolled back with
    `check`, which only says what would change)."""
    fleet = read_fleet(path)

    def work() -> fleet_db.Changes:
        with psycopg.connect(settings.libpq_url, connect_timeout=5) as conn:
            with conn.transaction() as tx, conn.cursor() as cur:
                changes = fleet_db.apply(cur, fleet, retire=retire, source=str(path))
                if check:
                    raise psycopg.Rollback(tx)
            return changes

    return _database(settings, work)


def export_fleet(settings: Settings) -> str:
    def work() -> str:
        with psycopg.connect(settings.libpq_url, connect_timeout=5) as conn, conn.cursor() as cur:
            return dump(fleet_db.export(cur))

    return _database(settings, work)


def imported_sha(settings: Settings) -> str | None:
    """The sha256 of the map last imported; None if none was, or if it was imported before the import recorded the
    service area (migration 0014) or by an older reader (what it reads from the map changed): such a map is imported
    again, once."""
    try:
        latest = latest_import(settings.libpq_url)
    except psycopg.OperationalError as exc:
        raise _unreachable(settings, exc) from exc
    if latest is None or latest["counts"].get("reader_version") != READER_VERSION:
        return None
    return latest["sha256"]
