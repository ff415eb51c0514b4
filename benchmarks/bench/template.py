"""The bench database's starting point, made once: migrated, with the bundled map and its fleet imported.

The migration and the map import are most of a bench database's set-up (seconds, where the copy is a fraction of
one). A template database (`<bench database>_template`) holds their result, with a key in its comment: a hash of
what the result comes from (the migrations, the importer's and the service's code, the map, the fleet and service
area files). Each run copies it (`CREATE DATABASE … TEMPLATE`), so every run still starts from a fresh database
with the same rows; a template whose key differs is made again first.
"""

import hashlib
import os
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

import dispatch
import geo
from dispatch.config import BUNDLED_MAP, Settings
from dispatch.setup import MIGRATIONS, import_map, migrate, recreate_database


def _admin_url(settings: Settings) -> str:
    return make_url(settings.libpq_url).set(database="postgres").render_as_string(hide_password=False)


def _files(root: Path) -> list[Path]:
    """Every file under `root`, symlinks not followed (the checkout links the console and its node_modules)."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found.extend(Path(folder) / name for name in sorted(names) if not name.endswith(".pyc"))
    return found


def template_key(settings: Settings) -> str:
    """What the template's rows come from, hashed: a change to any of it makes the template again."""
    digest = hashlib.sha256()
    roots = (Path(dispatch.__file__).parent, Path(geo.__file__).parent, MIGRATIONS)
    named = [(f.relative_to(root.parent), f) for root in roots for f in _files(root)]  # the same in any checkout
    named += [(Path(p.name), p) for p in (BUNDLED_MAP, settings.fleet_file, settings.service_area) if p is not None]
    for name, path in named:
        digest.update(str(name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_of_template(settings: Settings) -> None:
    """Recreates the settings' database as a copy of its template, making the template first when it is missing
    or was made from other code or files. One process at a time per template (an advisory lock)."""
    name = settings.database_name
    template = f"{name[:54]}_template"  # PostgreSQL's names are 63 bytes at most
    key = template_key(settings)
    with psycopg.connect(_admin_url(settings), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (template,))
        try:
            found = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (template,)
            ).fetchone()
            if found is None or found[0] != key:
                made = settings.model_copy(update={"database_url": _renamed(settings, template)})
                recreate_database(made)
                migrate(made)
                import_map(made, BUNDLED_MAP)
                conn.execute(f"COMMENT ON DATABASE \"{template}\" IS '{key}'")
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (template,))


def _renamed(settings: Settings, database: str) -> str:
    return make_url(settings.database_url).set(database=database).render_as_string(hide_password=False)
