"""Turn-by-turn steps of a route: on the bundled map a known route reads like directions (departs, follows
real streets, arrives, adds up to the route), left and right agree with the geometry of a synthetic junction,
and the route a unit is sent carries them."""

import numpy as np
import psycopg
import pytest

from dispatch.push import messages
from geo.routing import Router
from geo.routing.graph import largest_component
from geo.routing.steps import turn_of

pytestmark = pytest.mark.slow
TURNS = {"straight", "slight_left", "slight_right", "left", "right", "sharp_left", "sharp_right", "uturn"}


@pytest.fixture(scope="module")
def router(settings, imported_map, tmp_path_factory) -> Router:
    return Router.load(settings.libpq_url, cache_dir=tmp_path_factory.mktemp("routing-cache"))


@pytest.fixture(scope="module")
def street_names(settings, imported_map) -> set[str]:
    with psycopg.connect(settings.libpq_url) as conn:
        return {r[0] for r in conn.execute("SELECT DISTINCT name FROM road_edges WHERE name IS NOT NULL")}


def place(settings, name: str) -> tuple[float, float]:
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(
            """SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM places
               WHERE name = %s AND category = 'place'""",
            (name,),
        ).fetchone()


def test_vaduz_to_schaan_reads_like_directions(router, settings, street_names):
    route = router.route(place(settings, "Vaduz"), place(settings, "Schaan"))
    steps = route.steps()
    assert steps[0].turn == "depart" and steps[0].instruction.startswith("Head ")
    assert steps[-1].turn == "arrive" and steps[-1].instruction == "Arrive at the destination"
    assert steps[-1].meters == 0 and steps[-1].at == pytest.approx(route.coords[-1])
    assert steps[0].at == pytest.approx(route.coords[0])
    assert {s.turn for s in steps[1:-1]} <= TURNS
    named = [s.street for s in steps if s.street is not None]
    assert set(named) <= street_names and "Landstrasse" in named  # the main road between the two
    for before, after in zip(steps[:-2], steps[1:-1], strict=True):  # merged: a new step, a new street
        assert after.street != before.street or after.street is None or after.turn == "uturn"
    for s in steps[1:-1]:
        assert s.instruction.split(" onto ")[-1] == s.street if s.street else " onto " not in s.instruction
    assert sum(s.meters for s in steps) == pytest.approx(route.meters)
    assert sum(s.seconds for s in steps) == pytest.approx(route.seconds)
    line = np.array(route.coords)
    for s in steps:  # every manoeuvre is on the route's line
        assert np.abs(line - np.array(s.at)).max(axis=1).min() < 1e-6


def test_every_route_has_steps_that_add_up(router):
    rng = np.random.default_rng(5)
    lonlat = router.network.node_lonlat[rng.choice(router.network.n_nodes, 40, replace=False)]
    points = [(lat + 2e-4, lon - 2e-4) for lon, lat in lonlat]
    for a, b in zip(points[::2], points[1::2], strict=True):
        route = router.route(a, b)
        steps = route.steps()
        assert [s.turn for s in steps][:: len(steps) - 1] == ["depart", "arrive"]
        assert sum(s.meters for s in steps) == pytest.approx(route.meters)
        assert sum(s.seconds for s in steps) == pytest.approx(route.seconds)


def l_shaped_router() -> Router:
    """Nordweg runs 220 m north from node 0 to node 1, where Ostweg goes east (node 2) and Westweg west
    (node 3); every road two-way."""
    nodes = np.array([(9.520, 47.140), (9.520, 47.142), (9.523, 47.142), (9.517, 47.142)])
    roads = [(0, 1, "Nordweg"), (1, 2, "Ostweg"), (1, 3, "Westweg")]
    source, target, way, name, coords = [], [], [], [], []
    for w, (a, b, n) in enumerate(roads):
        for s, t in ((a, b), (b, a)):
            mid = (nodes[s] + nodes[t]) / 2  # a shape point: the geometry is more than the two ends
            source.append(s), target.append(t), way.append(w), name.append(n)
            coords += [nodes[s], mid, nodes[t]]
    m = len(source)
    length = np.array([220.0] * m)
    net = largest_component(
        sha256="l-shape",
        node_lonlat=nodes,
        source=source,
        target=target,
        way=way,
        edge_id=np.arange(m),
        travel_s=length / 10.0,
        length_m=length,
        name=name,
        coord_ptr=np.arange(0, 3 * m + 1, 3),
        coords=np.array(coords),
    )
    return Router(net)


@pytest.mark.parametrize(
    ("end", "turn", "street"), [((47.142, 9.5225), "right", "Ostweg"), ((47.142, 9.5175), "left", "Westweg")]
)
def test_left_and_right_agree_with_the_geometry_of_an_l_shaped_turn(end, turn, street):
    route = l_shaped_router().route((47.1405, 9.520), end)
    steps = route.steps()
    assert [s.turn for s in steps] == ["depart", turn, "arrive"]
    assert steps[0].instruction == "Head north on Nordweg" and steps[0].street == "Nordweg"
    assert steps[1].instruction == f"Turn {turn} onto {street}" and steps[1].street == street
    assert steps[1].at == pytest.approx((47.142, 9.520))
    assert steps[0].meters == pytest.approx(route.meters - steps[1].meters) and steps[1].meters > 100


def test_turn_thresholds():
    assert [turn_of(d) for d in (0, 20, 21, 45, 46, 90, 135, 136, 170, 171, 180)] == [
        "straight",
        "straight",
        "slight_right",
        "slight_right",
        "right",
        "right",
        "right",
        "sharp_right",
        "sharp_right",
        "uturn",
        "uturn",
    ]
    assert [turn_of(d) for d in (-30, -90, -150, -175, 330, 270)] == [
        "slight_left",
        "left",
        "sharp_left",
        "uturn",
        "slight_left",
        "left",
    ]


def test_the_route_sent_to_a_unit_carries_its_steps(router, settings):
    message = messages.route(router, place(settings, "Vaduz"), place(settings, "Schaan"))
    assert message is not None
    steps = message["steps"]
    assert steps[0]["turn"] == "depart" and steps[-1]["turn"] == "arrive"
    assert set(steps[0]) == {"instruction", "street", "turn", "meters", "seconds", "at"}
    assert steps[0]["at"] == message["coords"][0] and steps[-1]["at"] == message["coords"][-1]
    assert sum(s["meters"] for s in steps) == pytest.approx(message["meters"], abs=1)
