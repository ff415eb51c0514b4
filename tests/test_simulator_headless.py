"""The headless simulator: the call generator's statistics, the discrete-event model's bookkeeping,
determinism, the loads, the hindsight bound, and the command line."""

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from dispatch.cli import app
from dispatch.matching.core import Policy
from geo.routing import Router
from simulator.calls import HOTSPOT_RADIUS_M, PROFILE, Timing, generate, hotspots
from simulator.coverage import coverage_model
from simulator.headless import Params, Simulation
from simulator.hindsight import ambulance_instance, solve
from simulator.loads import LOADS, calls_per_hour_for
from simulator.results import compare, summarise
from simulator.world import load_world


@pytest.fixture(scope="module")
def router(settings, imported_map) -> Router:
    return Router.load(settings.libpq_url, settings.route_cache_dir)


@pytest.fixture(scope="module")
def world(settings, router):
    world = load_world(settings.libpq_url, router)
    # The map's own fleet only: other tests may add units of their own to the shared test database.
    return replace(world, units=[u for u in world.units if not u.call_sign.startswith("Bench ")])


# --- the generator ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def month(world):
    return generate(world, per_hour=20, hours=24 * 30, seed=11)


def test_calls_follow_the_time_of_day_profile(month):
    hours = Counter(int(c.t // 3600) % 24 for c in month)
    observed = np.array([hours[h] for h in range(24)])
    expected = np.array(PROFILE) / sum(PROFILE) * len(month)
    assert stats.chisquare(observed, expected).pvalue > 0.001
    assert observed[17] > 2.5 * observed[4]  # the evening peak against the small hours
    # A Poisson process: about per_hour x hours calls in all.
    assert abs(len(month) - 20 * 24 * 30) < 4 * np.sqrt(20 * 24 * 30)


def test_gaps_between_calls_are_exponential_within_an_hour_of_the_day(month):
    noon = sorted(c.t for c in month if int(c.t // 3600) % 24 == 12)
    gaps = [b - a for a, b in zip(noon, noon[1:], strict=False) if b - a < 3600]
    rate = 20 * PROFILE[12] / 3600
    assert stats.kstest(gaps, "expon", args=(0, 1 / rate)).pvalue > 0.001 or len(gaps) < 50


def test_the_type_mix_follows_the_shares_of_the_table(world, month):
    types = world.simulated_types()
    counts = Counter(c.type_code for c in month)
    shares = np.array([t.share for t in types])
    observed = np.array([counts[t.code] for t in types])
    common = shares / shares.sum() * len(month) >= 5  # chi-square wants five expected per cell
    expected = shares[common] / shares[common].sum() * observed[common].sum()
    assert stats.chisquare(observed[common], expected).pvalue > 0.001
    assert all(c.plan for c in month) and {c.type_code for c in month} <= {t.code for t in types}


def test_a_share_of_calls_comes_from_the_hotspots_and_the_rest_from_the_addresses(world, month):
    spots = hotspots(world, 11)
    from_spots = [c for c in month if c.hotspot is not None]
    assert abs(len(from_spots) / len(month) - 0.15) < 0.02
    for c in from_spots[:200]:
        spot = spots[c.hotspot]
        dy = (c.lat - spot.lat) * 111_320
        dx = (c.lon - spot.lon) * 111_320 * np.cos(np.radians(spot.lat))
        assert np.hypot(dx, dy) <= HOTSPOT_RADIUS_M + 1
    # Each call is at an address of the map.
    addresses = {tuple(np.round(p, 7)) for p in world.addresses}
    assert all((round(c.lat, 7), round(c.lon, 7)) in addresses for c in month[:500])


def test_human_times_are_drawn_with_the_call(month):
    timing = Timing()
    for c in month[:500]:
        assert len(c.ack_s) == len(c.turnout_s) == sum(s.count for s in c.plan)
        assert all(timing.ack_s[0] <= a <= timing.ack_s[1] for a in c.ack_s)
        assert all(timing.turnout_s[0] <= t <= timing.turnout_s[1] for t in c.turnout_s)
        assert c.processing_s > 0 and c.ready_t > c.t and c.scene_s >= 0
    p1 = np.median([c.processing_s for c in month if c.priority == 1])
    p4 = np.median([c.processing_s for c in month if c.priority == 4])
    assert 40 < p1 < 60 and p4 > 2 * p1


def test_the_same_seed_gives_the_same_calls_and_another_seed_others(world):
    a = generate(world, per_hour=10, hours=12, seed=5)
    assert a == generate(world, per_hour=10, hours=12, seed=5)
    assert a != generate(world, per_hour=10, hours=12, seed=6)
    assert a != generate(world, per_hour=10, hours=12, seed=5, stream="history")


# --- the simulation ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def busy_day(world, router):
    per_hour = calls_per_hour_for(world, router, LOADS["busy"], Timing())
    calls = generate(world, per_hour=per_hour, hours=24, seed=3)
    history = generate(world, per_hour=per_hour, hours=24 * 7, seed=3, stream="history")
    coverage = coverage_model(world, router, history)
    runs = {}
    for policy in Policy:
        sim = Simulation(world, router, calls, policy, coverage=coverage, horizon_s=24 * 3600)
        runs[policy] = (sim, sim.run())
    return calls, runs


def test_every_call_gets_a_unit_and_no_unit_holds_two_calls(busy_day):
    calls, runs = busy_day
    for sim, outcome in runs.values():
        assert set(outcome.response_s) == {c.id for c in calls}
        holding: dict[int, int] = {}  # unit -> the call it works
        for _, what, unit, call in sim.trace:
            if what == "sent":
                assert unit not in holding, f"unit {unit} sent to call {call} while on call {holding.get(unit)}"
                holding[unit] = call
            elif what == "diverted":
                assert sim.policy == Policy.default and unit in holding
                priorities = {c.id: c.priority for c in calls}
                assert priorities[call] == 1 and priorities[holding[unit]] >= 3
                holding[unit] = call
            else:
                assert holding.pop(unit) == call


def test_responses_include_the_human_times_and_a_drive(busy_day):
    calls, runs = busy_day
    for _, outcome in runs.values():
        for c in calls:
            assert outcome.response_s[c.id] >= c.processing_s + min(c.ack_s)


def test_the_busy_load_keeps_the_busiest_kind_about_sixty_percent_busy(world, busy_day):
    _, runs = busy_day
    _, outcome = runs[Policy.drive_time]
    summary = summarise(outcome, world, Params())
    busiest = max(summary["utilization_by_kind"].values())
    assert 0.35 < busiest < 0.85
    assert 0 < summary["utilization"] < busiest
    assert summary["p1"]["calls"] > 0 and summary["calls"] == len(busy_day[0])


def test_only_the_default_policy_moves_units_up(busy_day):
    _, runs = busy_day
    assert runs[Policy.default][1].move_orders > 0
    assert runs[Policy.drive_time][1].move_orders == runs[Policy.straight_line][1].move_orders == 0


def test_the_same_seed_gives_the_same_figures(world, router):
    kwargs = {"hours": 6, "seed": 4, "per_hour": 8.0, "policies": [Policy.default, Policy.straight_line]}
    first, second = compare(world, router, **kwargs), compare(world, router, **kwargs)
    for a, b in zip(first, second, strict=True):
        a.pop("wall_s"), b.pop("wall_s")
        assert a == b
    assert first[0]["policy"] == "default" and first[1]["policy"] == "straight-line"
    assert first[0]["calls"] == first[1]["calls"] > 0


# --- the hindsight bound -----------------------------------------------------------------------------------------


def test_no_policy_beats_the_hindsight_bound(world, router):
    targets = {p: Params().target(p) for p in (1, 2, 3, 4)}
    for seed in (1, 2):
        small, calls = ambulance_instance(world, router, seed=seed, calls=8, utilisation=0.6, timing=Timing())
        assert all(u.kind == "ambulance" for u in small.units) and len(calls) == 8
        bound = solve(small, router, calls, targets=targets)
        assert bound.optimal and bound.calls == 8
        assert bound.mean_response_s >= np.mean([c.processing_s + c.ack_s[0] for c in calls]) - 1e-6
        for policy in Policy:
            outcome = Simulation(small, router, calls, policy).run()
            responses = [outcome.response_s[c.id] for c in calls]
            assert np.mean(responses) >= bound.mean_response_s - 1e-3
            assert sum(r > targets[c.priority] for c, r in zip(calls, responses, strict=True)) >= bound.late


# --- the command line --------------------------------------------------------------------------------------------


def test_the_command_prints_one_json_line_per_policy(settings, imported_map, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DISPATCH_ROUTE_CACHE_DIR", str(settings.route_cache_dir))
    from dispatch.config import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [
                "simulate",
                "--headless",
                "--hours",
                "3",
                "--seed",
                "2",
                "--load",
                "normal",
                "--policies",
                "default,straight-line",
                "--json",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["policy"] for line in lines] == ["default", "straight-line"]
    for line in lines:
        assert {"policy", "calls", "p1", "all", "utilization"} <= line.keys()
        assert {"p50", "p90", "mean"} == line["all"]["response_s"].keys() and "late_fraction" in line["p1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--headless", "--policies", "fastest"], "unknown policy 'fastest'"),
        (["--headless", "--load", "heavy"], "unknown load 'heavy'"),
        (["--headless", "--load", "busy", "--calls-per-hour", "5"], "not both"),
        (["--headless", "--turnout-s", "80,30"], "--turnout-s must satisfy"),
        (["--headless", "--turnout-s", "soon"], "--turnout-s must be two numbers"),
        (["--headless", "--live"], "choose one of"),
        ([], "choose one of"),
    ],
)
def test_bad_arguments_get_a_message_and_exit_code_2(args, message):
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output
