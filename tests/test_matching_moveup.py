"""Move-up: idle units re-placed over the posts when coverage is worth the driving."""

import numpy as np

from dispatch.matching.moveup import IdleUnit, Post, expected_coverage, plan_moves

# Two towns of equal demand, 10 minutes apart; a post in each. Within a town everything is 2 minutes away.
WEIGHTS = np.array([1.0, 1.0, 1.0, 1.0])  # demand points: two in town A, two in town B
POST_TO_DEMAND = np.array([[120.0, 120.0, 600.0, 600.0], [600.0, 600.0, 120.0, 120.0]])
POSTS = [Post(1, "Station A", capacity=2), Post(2, "Station B", capacity=2)]
UNITS = [IdleUnit(10, "Engine 1"), IdleUnit(11, "Engine 2")]


def test_expected_coverage_counts_units_within_the_target_time():
    both_in_a = POST_TO_DEMAND[[0, 0]]
    assert expected_coverage(both_in_a, WEIGHTS, target_s=480, busy=0.5) == 0.5 * (1 - 0.25)
    assert expected_coverage(POST_TO_DEMAND, WEIGHTS, target_s=480, busy=0.5) == 0.5
    assert expected_coverage(np.empty((0, 4)), WEIGHTS, target_s=480, busy=0.5) == 0.0


def test_when_both_units_wait_in_one_town_one_moves_to_the_other():
    plan = plan_moves(
        UNITS,
        POSTS,
        unit_to_demand=POST_TO_DEMAND[[0, 0]],
        unit_to_post=np.array([[0.0, 600.0], [30.0, 590.0]]),
        post_to_demand=POST_TO_DEMAND,
        weights=WEIGHTS,
        target_s=480,
        busy=0.3,
    )
    assert [(m.unit_id, m.post_id) for m in plan.moves] == [(11, 2)]  # the one with the shorter drive
    assert plan.coverage_after > plan.coverage_before
    assert "cover" in plan.moves[0].reason


def test_no_move_when_the_units_are_already_spread():
    plan = plan_moves(
        UNITS,
        POSTS,
        unit_to_demand=POST_TO_DEMAND,
        unit_to_post=np.array([[0.0, 600.0], [600.0, 0.0]]),
        post_to_demand=POST_TO_DEMAND,
        weights=WEIGHTS,
        target_s=480,
        busy=0.3,
    )
    assert plan.moves == () and plan.coverage_after == plan.coverage_before


def test_no_move_for_a_gain_below_the_threshold():
    plan = plan_moves(
        UNITS,
        POSTS,
        unit_to_demand=POST_TO_DEMAND[[0, 0]],
        unit_to_post=np.array([[0.0, 600.0], [30.0, 590.0]]),
        post_to_demand=POST_TO_DEMAND,
        weights=WEIGHTS,
        target_s=480,
        busy=0.3,
        min_gain=0.9,
    )
    assert plan.moves == ()


def test_demand_weights_decide_where_the_only_unit_waits():
    heavy_b = np.array([1.0, 1.0, 5.0, 5.0])
    plan = plan_moves(
        UNITS[:1],
        POSTS,
        unit_to_demand=POST_TO_DEMAND[[0]],
        unit_to_post=np.array([[0.0, 600.0]]),
        post_to_demand=POST_TO_DEMAND,
        weights=heavy_b,
        target_s=480,
        busy=0.3,
    )
    assert [(m.unit_id, m.post_id) for m in plan.moves] == [(10, 2)]


def test_unreachable_posts_are_never_chosen_and_nothing_fails():
    plan = plan_moves(
        UNITS,
        POSTS,
        unit_to_demand=POST_TO_DEMAND[[0, 0]],
        unit_to_post=np.array([[0.0, np.inf], [30.0, 590.0]]),
        post_to_demand=POST_TO_DEMAND,
        weights=WEIGHTS,
        target_s=480,
        busy=0.3,
    )
    assert [(m.unit_id, m.post_id) for m in plan.moves] == [(11, 2)]
