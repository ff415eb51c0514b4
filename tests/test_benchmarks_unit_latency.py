"""`python -m benchmarks.unit_latency`: its figures on made-up moments, its arguments, and a tiny real run (two
devices in Chromium against a service of its own) that prints every percentile with a number."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.unit_latency.__main__ import app
from benchmarks.unit_latency.figures import HEADLINE, figures
from benchmarks.unit_latency.probe import Shown

ROOT = Path(__file__).resolve().parent.parent
PERCENTILES = re.compile(r"p50 (\d+\.\d) ms · p90 (\d+\.\d) ms · p99 (\d+\.\d) ms · max (\d+\.\d) ms")


def shown(i: int, *, sent: float, event: float, handled: float, changed: float, painted: float) -> Shown:
    record = {
        "assignment_id": i,
        "sent_at": sent,
        "event": event,
        "handled": handled,
        "changed": changed,
        "painted": painted,
        "visible": "visible",
    }
    return Shown.of(record, requested=sent - 20, answered=sent + 5)


def test_each_measure_is_the_difference_of_its_two_moments():
    rows = {
        r["label"].strip(): r
        for r in figures(
            [
                shown(1, sent=1000, event=1004, handled=1006, changed=1016, painted=1030),
                shown(2, sent=2000, event=2002, handled=2003, changed=2013, painted=2020),
            ]
        )
    }
    assert (rows[HEADLINE]["p50"], rows[HEADLINE]["max"], rows[HEADLINE]["n"]) == (20.0, 30.0, 2)
    assert rows["sent → message event"]["max"] == 4.0
    assert rows["message event → painted"]["p50"] == 18.0 and rows["message event → painted"]["max"] == 26.0
    assert rows["of it: event → main thread"]["max"] == 2.0
    assert rows["of it: the app's handler"]["p50"] == 10.0
    assert rows["server: assign request → sent_at"]["p99"] == 20.0
    assert rows["server: assign request → answer"]["max"] == 25.0
    assert rows["assign request → shown"]["max"] == 50.0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--assignments", "0"], "--assignments"),
        (["--assignments", "-5"], "--assignments"),
        (["--assignments", "many"], "--assignments"),
        (["--devices", "0"], "--devices"),
        (["--plot", "out.svg"], "--plot"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, said):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert said in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_a_tiny_run_prints_the_percentiles_with_numbers(tmp_path):
    """Four assignments over two devices, through the command as an engineer runs it."""
    png = tmp_path / "latency.png"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.unit_latency",
            "--assignments",
            "4",
            "--devices",
            "2",
            "--plot",
            str(png),
            "--log",
            str(tmp_path / "service.log"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(4 assignments, 2 device(s))" in done.stdout
    for label in ("sent → shown", "server: assign request → sent_at"):
        line = next(line for line in done.stdout.splitlines() if line.startswith(f"{label}:"))
        p50, p90, p99, most = (float(v) for v in PERCENTILES.search(line).groups())
        assert 0 <= p50 <= p90 <= p99 <= most, line
    assert "one clock" in done.stdout and re.search(r"Pages visible when painted: \d of 4\.", done.stdout)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
