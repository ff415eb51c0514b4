"""benchmarks/sweep.py: which rates hold, and its picture (from runs' figures; the runs themselves are
dispatch bench's, tested in test_bench.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("sweep", ROOT / "benchmarks" / "sweep.py")
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


def run(rate: float, p99: float, **changes) -> dict:
    cpu = {"ms_per_call": {"service": 20.0, "matcher": 10.0, "postgres": 8.0, "redis": 3.0, "locust": 5.0}}
    return {
        "rate": rate,
        "achieved_rate": rate,
        "units": 1000,
        "e2e_ms": {"p50": p99 / 4, "p90": p99 / 2, "p99": p99},
        "lost": 0,
        "undelivered": 0,
        "duplicates_delivered": 0,
        "cpu": cpu,
        **changes,
    }


def test_a_rate_holds_only_within_the_bound_with_nothing_lost_undelivered_or_twice_and_the_rate_achieved():
    assert sweep.holds(run(20, 90), 100)
    assert not sweep.holds(run(20, 110), 100)
    assert not sweep.holds(run(20, 90, lost=1), 100)
    assert not sweep.holds(run(20, 90, undelivered=2), 100)
    assert not sweep.holds(run(20, 90, duplicates_delivered=1), 100)
    assert not sweep.holds(run(20, 90, achieved_rate=18.9), 100)


def test_the_picture_has_latency_and_cpu_per_call(tmp_path):
    out = tmp_path / "sweep.png"
    sweep.plot([run(5, 40), run(20, 70), run(40, 300)], 100, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
