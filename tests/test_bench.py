"""`dispatch bench`: its arguments, its figures, and a tiny real run (Locust against the service)."""

import json

import pytest
from typer.testing import CliRunner

from benchmarks.bench.run import BenchArgs, BenchError, end_to_end, pct, spread
from dispatch.cli import app


def test_percentiles_are_nearest_rank_observed_values():
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 50) == 50 and pct(values, 90) == 90 and pct(values, 99) == 99 and pct(values, 100) == 100
    assert pct([7.0], 50) == 7.0 and pct([], 50) is None
    assert spread([3.0, 1.0, 2.0]) == {"p50": 2.0, "p90": 3.0, "p99": 3.0, "max": 3.0}


def test_an_assignment_that_never_reached_a_device_is_counted_and_late():
    """Four calls assigned, one never delivered: it is said (assigned 4, delivered 3, undelivered 1) and counts in
    the percentiles as arriving at the run's end, so the slowest figure is that, not the slowest delivery."""
    sent = {1: 100.0, 2: 101.0, 3: 102.0, 4: 103.0, 5: 104.0}
    device = {1: 100.1, 2: 101.2, 3: 102.3}
    reached = end_to_end(sent, device, assigned={1, 2, 3, 4}, ended=130.0)  # call 5 waits in the queue
    assert (reached["assigned"], reached["delivered"], reached["undelivered"]) == (4, 3, 1)
    assert reached["e2e_ms"]["max"] == 27_000.0  # call 4: sent at 103, not there at 130
    assert reached["e2e_ms"]["p50"] == pytest.approx(200.0)
    everything = end_to_end(sent, device, assigned={1, 2, 3}, ended=130.0)
    assert everything["undelivered"] == 0 and everything["e2e_ms"]["max"] == pytest.approx(300.0)
    assert end_to_end({}, {}, set(), 0.0) == {"assigned": 0, "delivered": 0, "undelivered": 0, "e2e_ms": spread([])}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": 0}, "--rate"),
        ({"rate": 5000}, "--rate"),
        ({"duration": 0}, "--duration"),
        ({"duration": 10_000}, "--duration"),
        ({"units": 0}, "--units"),
        ({"trackers": -1}, "--trackers"),
        ({"workers": 0}, "--workers"),
        ({"matchers": 9}, "--matchers"),
        ({"tail_s": 0}, "--tail"),
        ({"tail_s": 500}, "--tail"),
        ({"quiet_s": 0.5}, "--quiet"),
        ({"quiet_s": 61}, "--quiet"),
    ],
)
def test_runs_are_bounded(tmp_path, changes, message):
    args = {
        "rate": 10,
        "duration": 5,
        "units": 10,
        "consoles": 1,
        "trackers": 0,
        "workers": 1,
        "matchers": 0,
        "port": 8041,
        "seed": 1,
        "out_dir": tmp_path,
    } | changes
    with pytest.raises(BenchError, match=message) as caught:
        BenchArgs(**args).check()
    assert caught.value.code == 2


def test_bad_arguments_exit_2_with_a_message():
    result = CliRunner().invoke(app, ["bench", "--rate", "-3"])
    assert result.exit_code == 2 and "--rate" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_a_small_run_measures_every_call_end_to_end(settings, tmp_path, monkeypatch):
    """Twenty units, two calls a second for four seconds: every accepted call is assigned and reaches its
    unit's device; nothing is lost or delivered twice; Locust writes its report."""
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISPATCH_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("DISPATCH_ROUTE_CACHE_DIR", str(settings.route_cache_dir))
    from dispatch.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [
                "bench",
                "--rate",
                "2",
                "--duration",
                "4",
                "--units",
                "20",
                "--consoles",
                "1",
                "--trackers",
                "5",
                "--port",
                "8047",
                "--tail",
                "20",  # at most: the suite's other workers keep the machine busy, the last calls may take seconds
                "--quiet",
                "1",  # the CPU table's background: one second of devices alone is enough to have a figure
                "--out",
                str(tmp_path),
                "--json",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["accepted"] >= 4 and figures["statuses"] == {"201": figures["accepted"]}
    assert figures["lost"] == 0 and figures["duplicates_delivered"] == 0
    assert figures["assigned"] + figures["still_queued"] == figures["accepted"]
    assert figures["delivered"] == figures["assigned"] and figures["undelivered"] == 0  # each reached its device
    assert figures["e2e_ms"]["p50"] > 0 and figures["e2e_ms"]["max"] >= figures["e2e_ms"]["p50"]
    assert figures["intake_ms"]["p50"] > 0 and figures["console_ms"]["p50"] > 0
    assert (tmp_path / "report.html").stat().st_size > 10_000
    fleet = figures["tracker_fleet"]  # the position-only vehicles, from their own process
    assert fleet["connected"] == fleet["trackers"] == 5 and fleet["failed"] == fleet["dropped"] == 0
    assert fleet["fixes_sent"] >= 5 and fleet["fixes_per_s"] > 0
    # The calls started once every device and console was connected; the CPU table covers each process.
    assert figures["sockets_connected"] == 21
    cpu = figures["cpu"]
    assert set(cpu["ms_per_call"]) == {"service", "matcher", "postgres", "redis", "locust", "trackers"}
    assert cpu["calls"] == figures["accepted"] and cpu["window_s"] >= 4
    assert cpu["ms_per_call"]["service"] > 0 and cpu["ms_per_call"]["postgres"] > 0 and cpu["ms_per_call"]["locust"] > 0
    assert cpu["total_ms_per_call"] >= max(cpu["ms_per_call"].values())
