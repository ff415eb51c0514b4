"""`benchmarks.regions` run tiny on the Helsinki extract prints its figures, and refuses bad arguments with exit 2."""

import json
import subprocess
import sys

import pytest

from tests.conftest import HELSINKI_MAP

pytestmark = pytest.mark.slow


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.regions", *args], capture_output=True, text=True, timeout=300
    )


def test_it_measures_import_and_eta_time_on_a_map():
    ran = run("--map", str(HELSINKI_MAP), "--runs", "1", "--incidents", "5", "--json")
    assert ran.returncode == 0, ran.stderr
    [line] = [json.loads(x) for x in ran.stdout.splitlines() if x.startswith("{")]
    assert line["map"] == "helsinki.osm.pbf" and line["municipalities_from"] == "addr:city"
    assert line["import_s"]["median"] > 0 and line["units"] >= 8 and line["addresses"] > 1000
    assert line["eta"]["incidents"] == 5 and line["eta"]["p50_ms"] > 0 and line["eta"]["units_reached"] == 1.0


@pytest.mark.parametrize("args", [["--runs", "0"], ["--incidents", "x"], ["--map", "/nonexistent.osm.pbf"]])
def test_bad_arguments_exit_2(args, capsys):
    """The command's main() in this process (a new interpreter per case took seconds of imports)."""
    from benchmarks.regions import main

    with pytest.raises(SystemExit) as exited:
        main(args)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "Traceback" not in err and "error" in err
