"""Set-up steps the CLI and the demo share: migrate the schema, import the map."""

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
from dispatch.units.seed import seed_after_import
from geo.osm.areas import AreaFileError, read_area_file
from geo.osm.importer import ImportResult, latest_import, load_map
from geo.osm.reader import READER_VERSION

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


def load_map_with_fleet(
    path: Path, libpq_url: str, progress: Progress | None = None, service_area: Path | None = None
) -> ImportResult:
    """The service's map import: geo's import of the map, then, in the same transaction, the demo fleet seeded at
    its stations (a failure in either leaves the database as it was). `service_area`: the centre's own area's
    GeoJSON file (DISPATCH_SERVICE_AREA), in place of the one the import proposes."""
    try:
        given = read_area_file(service_area) if service_area else None
    except AreaFileError as exc:
        raise SetupError(f"DISPATCH_SERVICE_AREA: {exc}") from None
    return load_map(path, libpq_url, progress, then=[("units", seed_after_import)], service_area=given)


def import_map(settings: Settings, path: Path) -> ImportResult:
    try:
        with progress_bar() as progress:
            return load_map_with_fleet(path, settings.libpq_url, progress, settings.service_area)
    except psycopg.OperationalError as exc:
        raise _unreachable(settings, exc) from exc
    except psycopg.errors.UndefinedTable as exc:
        raise SetupError("the schema is missing: run `dispatch migrate` first") from exc


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
