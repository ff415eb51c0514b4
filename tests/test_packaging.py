"""A wheel carries what the service reads at run time, and an installed copy finds it through the package: the
console (its files and the front-end packages it serves), the migrations, the incident types, report targets
and fleet, the server-side functions' SQL, the bundled map. Built offline from a copy of the checkout (the
build writes build/ and *.egg-info beside its sources), then unpacked and imported from a directory of its own
with the checkout out of sys.path."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md")
FOLDERS = ("dispatch", "geo", "simulator", "benchmarks", "loadtests", "migrations", "console")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        shutil.copy(ROOT / name, src / name)
    for name in FOLDERS:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, src],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (found,) = out.glob("dispatch-*.whl")
    return found


def test_the_wheel_holds_the_data_the_service_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "dispatch/console/static/index.html",
        "dispatch/console/static/app.js",
        "dispatch/console/node_modules/leaflet/dist/leaflet.js",
        "dispatch/console/node_modules/leaflet/dist/leaflet.css",
        "dispatch/console/node_modules/swagger-ui-dist/swagger-ui-bundle.js",
        "dispatch/migrations/env.py",
        "dispatch/migrations/script.py.mako",
        "dispatch/incidents/types.toml",
        "dispatch/reports/targets.toml",
        "dispatch/units/seed.toml",
        "dispatch/edge/assets/docs.js",
        "geo/data/liechtenstein.osm.pbf",
        "benchmarks/bench/cli.py",
        "loadtests/locustfile.py",
    }
    assert expected - names == set()
    checkout = {"dispatch/migrations/versions/" + p.name for p in (ROOT / "migrations" / "versions").glob("*.py")} | {
        str(p.relative_to(ROOT)) for p in (ROOT / "dispatch").rglob("*.sql")
    }
    assert checkout - names == set()  # every migration and every SQL file, whoever adds one
    assert not any(n.startswith(("tests/", "console/", "migrations/")) or "/node_modules/@" in n for n in names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[dispatch.commands]" in text and "bench = benchmarks.bench.cli:bench" in text


def test_an_installed_copy_finds_the_console_and_the_migrations_in_itself(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = """
import sys
from pathlib import Path
from dispatch.app import CONSOLE
from dispatch.config import BUNDLED_MAP
from dispatch.edge.docs import SWAGGER_UI
from dispatch.incidents.types import TYPES_FILE
from dispatch.setup import MIGRATIONS
from dispatch.sqlfunctions import functions
site = Path(sys.argv[1]).resolve()
for path in (CONSOLE / "static" / "index.html", SWAGGER_UI / "swagger-ui.css", MIGRATIONS / "env.py", TYPES_FILE,
             BUNDLED_MAP):
    assert path.resolve().is_relative_to(site) and path.is_file(), path
assert len(functions()) == len(list(site.glob("dispatch/*/sql/*.sql"))) > 0
print("ok")
"""
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1", "DISPATCH_ENV": "test"}
    # -P, PYTHONSAFEPATH: the working directory is not on sys.path; the editable install's finder only answers for
    # names the unpacked wheel does not hold (PYTHONPATH comes first).
    done = subprocess.run(
        [sys.executable, "-P", "-c", probe, str(site)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
