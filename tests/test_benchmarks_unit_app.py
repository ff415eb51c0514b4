"""`python -m benchmarks.unit_app` refuses bad arguments with exit code 2 and a message, before it starts anything."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--runs", "0"], "bounded runs only"),
        (["--throttled-runs", "21"], "bounded runs only"),
        (["--port", "5"], "--port"),
        (["--runs", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(args, said):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.unit_app", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
