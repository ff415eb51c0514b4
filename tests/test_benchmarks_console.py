"""The console's benchmarks, run tiny against the real service and Chromium: each prints its figures (a table and
one JSON line of numbers); each refuses bad arguments with exit code 2 and a message, before it starts anything."""

import importlib
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import _test_settings


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The benchmark on this worker's own databases (`<test db>_bench`, its Redis db): never the bench database
    a `dispatch bench` or another checkout's suite may be using at the same moment."""
    test = _test_settings()
    env = {**os.environ, "DISPATCH_DATABASE_URL": test.database_url, "DISPATCH_REDIS_URL": test.redis_url}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, env=env)


def figures(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_console_call_counts_the_keys_and_times_the_call():
    done = run("benchmarks.console_call", "--runs", "2")
    out = figures(done)
    assert out["runs"] == 2 and out["keystrokes"] == 5  # N, Enter ×3 through the fields, Ctrl+Enter to take it
    assert 0 < out["created_s_median"] <= out["shown_s_median"] < 30
    assert "keystrokes besides the words typed" in done.stdout


@pytest.mark.slow
def test_console_render_times_cold_loads():
    done = run("benchmarks.console_render", "--runs", "2", "--incidents", "3")
    out = figures(done)
    assert out["runs"] == 2 and out["incidents"] == 3
    assert 0 < out["first contentful paint ms median"] <= out["both ms median"] < 60_000
    assert out["both ms median"] >= out["roads drawn ms median"] > 0
    assert "roads drawn" in done.stdout


@pytest.mark.slow
def test_console_frames_records_frames_while_units_move():
    done = run("benchmarks.console_frames", "--units", "30", "--incidents", "4", "--seconds", "2", "--warm-up", "1")
    out = figures(done)
    assert out["units"] == 30 and out["incidents"] == 4 and out["frames"] > 10
    assert 0 < out["frame_ms"]["p50"] <= out["frame_ms"]["p95"] <= out["frame_ms"]["max"]
    assert out["positions_messages"] >= 1 and out["units_per_message"] == 30
    assert "frame time" in done.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["benchmarks.console_call", "--runs", "0"], "--runs must be 1..100"),
        (["benchmarks.console_call", "--port", "80"], "--port"),
        (["benchmarks.console_render", "--incidents", "0"], "--incidents must be 1..200"),
        (["benchmarks.console_render", "--runs", "lots"], "invalid int value"),
        (["benchmarks.console_frames", "--units", "5001"], "--units must be 1..5000"),
        (["benchmarks.console_frames", "--seconds", "0"], "--seconds must be 1..600"),
        (["benchmarks.console_frames", "--warm-up", "0"], "--warm-up must be 1..60"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(args, said, monkeypatch, capsys):
    """The command's own main() with these arguments, in this process (a new interpreter per case took seconds of
    imports): it exits 2 with the message, before it starts anything."""
    module, *argv = args
    monkeypatch.setattr(sys, "argv", [module, *argv])
    with pytest.raises(SystemExit) as exited:
        importlib.import_module(module).main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err, err
    assert "Traceback" not in err
