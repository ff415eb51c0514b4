"""The matching core, table-driven and by hypothesis: no I/O, so every rule is checked on its own."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.matching.core import (
    IncidentIn,
    Policy,
    Rules,
    Slot,
    UnitIn,
    decide,
    decide_many,
)
from dispatch.statuses import DIVERTIBLE_UNIT as DIVERTIBLE
from dispatch.statuses import FREE_UNIT as FREE

ENGINE = frozenset({"engine", "fire", "rescue_light", "first_aid"})
MEDIC = frozenset({"ambulance", "ems_als", "ems_bls"})
PATROL = frozenset({"police", "first_aid"})
FIRE = (Slot("engine", 2), Slot("ambulance", 1), Slot("police", 1))


def unit(uid, caps=ENGINE, status="available", lat=47.14, lon=9.52, area="Vaduz", work=None, work_priority=None):
    return UnitIn(uid, f"U{uid}", caps, status, lat, lon, area, work, work_priority)


def incident(iid=1, priority=1, plan=(Slot("engine"),), lat=47.14, lon=9.52, area="Vaduz"):
    return IncidentIn(iid, priority, plan, lat, lon, area)


def test_drive_time_and_straight_line_differ_where_roads_do():
    # Unit 1 is 500 m away across the river but 9 minutes by road; unit 2 is 2 km away and 3 minutes.
    near_across = unit(1, lat=47.1445, lon=9.52)
    far_by_bridge = unit(2, lat=47.158, lon=9.52)
    etas = {1: 540.0, 2: 180.0}
    assert decide(incident(), [near_across, far_by_bridge], etas, policy=Policy.straight_line).unit_ids == (1,)
    assert decide(incident(), [near_across, far_by_bridge], etas, policy=Policy.drive_time).unit_ids == (2,)
    assert decide(incident(), [near_across, far_by_bridge], etas, policy=Policy.default).unit_ids == (2,)


def test_every_slot_is_filled_by_a_unit_with_its_capability():
    units = [unit(1), unit(2), unit(3), unit(4, MEDIC), unit(5, PATROL), unit(6, MEDIC)]
    etas = {1: 300.0, 2: 200.0, 3: 250.0, 4: 400.0, 5: 100.0, 6: 350.0}
    decision = decide(incident(plan=FIRE), units, etas)
    assert decision.complete
    assert sorted((p.capability, p.unit_id) for p in decision.picks) == [
        ("ambulance", 6),
        ("engine", 2),
        ("engine", 3),
        ("police", 5),
    ]
    assert [a.unit_id for a in decision.alternatives if a.capability == "engine"] == [1]
    assert {p.unit_id: p.reason for p in decision.passed}[1] == "another unit gets there sooner"


def test_what_no_unit_can_give_is_reported_unfilled_with_reasons_for_the_others():
    units = [
        unit(1),
        unit(2, status="on_scene", work=9, work_priority=3),
        unit(3, MEDIC, status="out_of_service"),
        unit(4, PATROL, status="en_route", work=8, work_priority=1),
    ]
    decision = decide(incident(priority=2, plan=FIRE), units, {1: 60.0, 2: 30.0, 3: 30.0, 4: 30.0})
    assert decision.unit_ids == (1,)
    assert set(decision.unfilled) == {Slot("engine", 1), Slot("ambulance", 1), Slot("police", 1)}
    reasons = {p.unit_id: p.reason for p in decision.passed}
    assert reasons[2] == "busy (on scene)"
    assert reasons[3] == "busy (out of service)"
    assert reasons[4] == "on priority-1 work (incident 8)"


def test_units_without_any_needed_capability_say_so():
    decision = decide(incident(plan=(Slot("ambulance"),)), [unit(1), unit(2, MEDIC)], {1: 10.0, 2: 500.0})
    assert decision.unit_ids == (2,)
    assert decision.passed[0].reason == "has none of: ambulance"


def test_coverage_keeps_the_last_unit_of_an_area_when_a_near_equal_one_exists():
    schaan_last = unit(1, area="Schaan")
    vaduz = [unit(2, area="Vaduz"), unit(3, area="Vaduz")]
    low = incident(priority=3, area="Eschen")
    assert decide(low, [schaan_last, *vaduz], {1: 300.0, 2: 400.0, 3: 900.0}).unit_ids == (2,)
    reasons = {p.unit_id: p.reason for p in decide(low, [schaan_last, *vaduz], {1: 300.0, 2: 400.0}).passed}
    assert reasons[1] == "the last free engine in Schaan: kept there"
    # Slower anyway: the rule did not decide it, and the dispatcher is not told it did.
    slower = {p.unit_id: p.reason for p in decide(low, [schaan_last, *vaduz], {1: 500.0, 2: 400.0}).passed}
    assert slower[1] == "another unit gets there sooner"
    # Not near-equal (more than the 3-minute margin): the last one goes after all.
    assert decide(low, [schaan_last, *vaduz], {1: 300.0, 2: 600.0, 3: 900.0}).unit_ids == (1,)
    # Priority 1 never waits for coverage; the baseline ignores it.
    assert decide(incident(priority=1, area="Eschen"), [schaan_last, *vaduz], {1: 300.0, 2: 400.0}).unit_ids == (1,)
    assert decide(low, [schaan_last, *vaduz], {1: 300.0, 2: 400.0}, policy=Policy.drive_time).unit_ids == (1,)


def test_a_priority_one_call_diverts_a_unit_from_low_priority_work_when_it_saves_enough():
    free_far = unit(1)
    on_noise_call = unit(2, status="en_route", work=7, work_priority=3)
    decision = decide(incident(priority=1), [free_far, on_noise_call], {1: 900.0, 2: 200.0})
    assert decision.unit_ids == (2,) and decision.picks[0].diverted_from == 7
    assert "diverted from priority-3 incident 7" in decision.picks[0].reason
    # Saves less than two minutes: the free unit goes.
    kept = decide(incident(priority=1), [free_far, on_noise_call], {1: 300.0, 2: 200.0})
    assert kept.unit_ids == (1,)
    # The unit not taken is still offered, ranked, with why it was not and the incident it would leave.
    [alternative] = kept.alternatives
    assert (alternative.unit_id, alternative.diverted_from, alternative.eta_s) == (2, 7, 200.0)
    assert alternative.reason
    assert decision.alternatives[0].unit_id == 1 and decision.alternatives[0].diverted_from is None
    # Never from priority-2 work, never from the scene, never for a priority-2 call, never by the baselines.
    on_p2 = unit(2, status="en_route", work=7, work_priority=2)
    on_scene = unit(2, status="on_scene", work=7, work_priority=4)
    for units, inc, policy in [
        ([free_far, on_p2], incident(priority=1), Policy.default),
        ([free_far, on_scene], incident(priority=1), Policy.default),
        ([free_far, on_noise_call], incident(priority=2), Policy.default),
        ([free_far, on_noise_call], incident(priority=1), Policy.drive_time),
    ]:
        assert decide(inc, units, {1: 900.0, 2: 200.0}, policy=policy).unit_ids == (1,)


def test_waiting_incidents_of_one_priority_are_assigned_jointly():
    first, second = incident(1, priority=2), incident(2, priority=2)
    etas = {1: {10: 100.0, 11: 150.0}, 2: {10: 110.0, 11: 1000.0}}
    units = [unit(10), unit(11)]
    joint = decide_many([first, second], units, etas)
    assert [d.unit_ids for d in joint] == [(11,), (10,)]  # 260 s in all, not 1,100 s
    greedy = decide_many([first, second], units, etas, policy=Policy.drive_time)
    assert [d.unit_ids for d in greedy] == [(10,), (11,)]


def test_the_more_urgent_incident_is_served_first_whatever_the_queue_order():
    urgent, minor = incident(1, priority=1), incident(2, priority=4)
    decisions = decide_many(
        [minor, urgent], [unit(10), unit(11)], {1: {10: 100.0, 11: 500.0}, 2: {10: 100.0, 11: 120.0}}
    )
    assert decisions[1].unit_ids == (10,) and decisions[0].unit_ids == (11,)


def test_unreachable_and_unlocated_units_are_not_sent():
    decision = decide(incident(), [unit(1), unit(2, lat=None, lon=None)], {1: math.inf, 2: 10.0})
    assert decision.unit_ids == () and not decision.complete
    reasons = {p.unit_id: p.reason for p in decision.passed}
    assert reasons == {1: "no road to the incident", 2: "position unknown"}
    assert decide(incident(), [unit(1)], {1: 4000.0}).passed[0].reason == "over 60 min away"


def test_ties_go_to_the_lower_unit_id():
    assert decide(incident(), [unit(5), unit(3), unit(4)], {3: 60.0, 4: 60.0, 5: 60.0}).unit_ids == (3,)


STATUSES = sorted(FREE | DIVERTIBLE | {"on_scene", "transporting", "at_hospital", "out_of_service"})
CAPS = [ENGINE, MEDIC, PATROL, frozenset({"ladder", "fire"})]
units_strategy = st.lists(
    st.builds(
        lambda uid, caps, status, work_p, area, has_pos: UnitIn(
            uid,
            f"U{uid}",
            caps,
            status,
            47.1 if has_pos else None,
            9.5 if has_pos else None,
            area,
            None if status in FREE else 900 + uid,
            None if status in FREE else work_p,
        ),
        st.integers(1, 40),
        st.sampled_from(CAPS),
        st.sampled_from(STATUSES),
        st.integers(1, 4),
        st.sampled_from(["Vaduz", "Schaan", "Balzers", None]),
        st.booleans(),
    ),
    max_size=14,
    unique_by=lambda u: u.id,
)
plans = st.lists(
    st.builds(Slot, st.sampled_from(["engine", "ambulance", "police", "ladder"]), st.integers(1, 2)),
    min_size=1,
    max_size=3,
    unique_by=lambda s: s.capability,
)
incidents_strategy = st.lists(
    st.builds(
        lambda iid, p, plan, area: IncidentIn(iid, p, tuple(plan), 47.1, 9.5, area),
        st.integers(1, 5),
        st.integers(1, 4),
        plans,
        st.sampled_from(["Vaduz", "Schaan", "Eschen"]),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda i: i.id,
)


@settings(max_examples=300, deadline=None)
@given(
    incidents_strategy,
    units_strategy,
    st.sampled_from(list(Policy)),
    st.lists(st.floats(0, 5000) | st.just(math.inf), min_size=200, max_size=200),
)
def test_never_a_busy_unit_never_one_unit_twice_always_the_right_capability(incidents, units, policy, times):
    etas = {inc.id: {u.id: times[(inc.id * 40 + u.id) % 200] for u in units} for inc in incidents}
    decisions = decide_many(incidents, units, etas, policy=policy)
    by_id = {u.id: u for u in units}
    given_units = [p.unit_id for d in decisions for p in d.picks]
    assert len(given_units) == len(set(given_units))
    for inc, decision in zip(incidents, decisions, strict=True):
        assert decision.incident_id == inc.id
        asked = {s.capability: s.count for s in inc.plan}
        for pick in decision.picks:
            chosen = by_id[pick.unit_id]
            assert pick.capability in chosen.capabilities
            if chosen.status not in FREE:  # only a diversion for a priority-1 call from low-priority work
                assert policy == Policy.default and inc.priority == 1 and chosen.status in DIVERTIBLE
                assert chosen.work_priority >= Rules().divert_from_priority
        filled = {c: sum(1 for p in decision.picks if p.capability == c) for c in asked}
        missing = {s.capability: s.count for s in decision.unfilled}
        assert all(filled[c] + missing.get(c, 0) == n for c, n in asked.items())
        assert {p.unit_id for p in decision.passed} | set(decision.unit_ids) == set(by_id)
    # Same input, same output, whatever order the units came in.
    assert decide_many(incidents, list(reversed(units)), etas, policy=policy) == decisions


def test_the_area_rule_counts_the_whole_fleet_when_only_candidates_are_given():
    from dispatch.matching.core import free_counts

    schaan_first = unit(1, area="Schaan")
    schaan_second = unit(9, area="Schaan", lat=47.30)  # far away: not among the candidates
    vaduz = [unit(2, area="Vaduz"), unit(3, area="Vaduz")]
    low = incident(priority=3, area="Eschen")
    etas = {1: 300.0, 2: 400.0, 3: 900.0}
    # Among the candidates alone, unit 1 looks like Schaan's last engine and is kept there...
    assert decide(low, [schaan_first, *vaduz], etas).unit_ids == (2,)
    # ...but the fleet has another free one in Schaan: the nearer unit goes.
    fleet = free_counts([schaan_first, schaan_second, *vaduz])
    assert decide(low, [schaan_first, *vaduz], etas, free=fleet).unit_ids == (1,)


def test_candidates_are_the_nearest_few_by_air_for_each_capability():
    from dispatch.matching.eta import nearest
    from dispatch.units.board import BoardUnit

    def board(uid, caps, lat):
        return BoardUnit(uid, f"U{uid}", caps, "available", lat, 9.52, "Vaduz", None, None)

    engines = [board(i, ENGINE, 47.10 + i * 0.01) for i in range(1, 11)]
    medics = [board(100 + i, MEDIC, 47.10 + i * 0.01) for i in range(1, 11)]
    busy = board(200, ENGINE, 47.10)
    chosen = nearest(
        [*engines, *medics, busy], 47.10, 9.52, {"engine", "ambulance"}, eligible=lambda u: u.id != 200, k=3
    )
    assert [u.id for u in chosen] == [1, 2, 3, 101, 102, 103]
    # Without a location every eligible unit stays a candidate.
    assert len(nearest(engines, None, None, {"engine"}, eligible=lambda u: True, k=3)) == 10
