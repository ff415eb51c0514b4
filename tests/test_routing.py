"""Drive-time routing on the bundled map: agreement with a plain Dijkstra over the database's edges, one-way
streets, the mountain where straight lines mislead, the disk cache, route geometry and bad input."""

import heapq

import numpy as np
import psycopg
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo.routing import Router, RoutingError, straight_line_m
from geo.routing.geometry import polyline_m
from geo.routing.graph import JUNCTION_DEGREE, JUNCTION_DELAY_S
from geo.routing.snap import MAX_SNAP_M, OFFROAD_KPH
from geo.routing.store import cache_path

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def router(settings, imported_map, tmp_path_factory) -> Router:
    return Router.load(settings.libpq_url, cache_dir=tmp_path_factory.mktemp("routing-cache"))


@pytest.fixture(scope="module")
def db_graph(settings, imported_map):
    """The road graph straight from the database: node (lat, lon), edges, and the largest component."""
    with psycopg.connect(settings.libpq_url) as conn:
        nodes = np.array(conn.execute("SELECT ST_Y(geom), ST_X(geom) FROM road_nodes ORDER BY id").fetchall())
        edges = conn.execute("SELECT source, target, travel_s FROM road_edges").fetchall()
    src, dst = np.array([e[0] for e in edges]), np.array([e[1] for e in edges])
    _, labels = connected_components(
        csr_matrix((np.ones(len(src)), (src, dst)), shape=(len(nodes),) * 2), directed=True, connection="strong"
    )
    in_component = labels == np.bincount(labels).argmax()
    return nodes, [e for e in edges if in_component[e[0]] and in_component[e[1]]], np.nonzero(in_component)[0]


def reference_seconds(edges, start: int, reverse: bool = False) -> dict[int, float]:
    """A textbook heap Dijkstra with the documented cost: travel time plus the junction delay on entering a
    node where JUNCTION_DEGREE or more distinct neighbours meet."""
    neighbours: dict[int, set[int]] = {}
    for a, b, _ in edges:
        if a != b:
            neighbours.setdefault(a, set()).add(b)
            neighbours.setdefault(b, set()).add(a)
    delay = {v: JUNCTION_DELAY_S if len(ns) >= JUNCTION_DEGREE else 0.0 for v, ns in neighbours.items()}
    adjacency: dict[int, list[tuple[int, float]]] = {}
    for a, b, travel in edges:
        cost = travel + delay.get(b, 0.0)
        if reverse:
            adjacency.setdefault(b, []).append((a, cost))
        else:
            adjacency.setdefault(a, []).append((b, cost))
    best, heap = {start: 0.0}, [(0.0, start)]
    while heap:
        d, v = heapq.heappop(heap)
        if d > best[v]:
            continue
        for w, cost in adjacency.get(v, ()):
            if d + cost < best.get(w, np.inf):
                best[w] = d + cost
                heapq.heappush(heap, (d + cost, w))
    return best


def place(settings, name: str) -> tuple[float, float]:
    with psycopg.connect(settings.libpq_url) as conn:
        return conn.execute(
            """SELECT ST_Y(location::geometry), ST_X(location::geometry) FROM places
                               WHERE name = %s AND category = 'place'""",
            (name,),
        ).fetchone()


def near_nodes(router: Router, k: int, seed: int, jitter_deg: float = 3e-4) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lonlat = router.network.node_lonlat[rng.choice(router.network.n_nodes, k, replace=False)]
    return [(lat + rng.normal(0, jitter_deg), lon + rng.normal(0, jitter_deg)) for lon, lat in lonlat]


def test_graph_is_the_largest_strongly_connected_component(router, imported_map, db_graph):
    assert router.network.n_nodes == imported_map.counts["largest_component_nodes"] == len(db_graph[2])
    assert router.network.n_edges == len(db_graph[1])


def test_times_between_nodes_equal_a_plain_dijkstra_over_the_database_edges(router, db_graph):
    nodes, edges, component = db_graph
    rng = np.random.default_rng(3)
    picked = rng.choice(component, 60, replace=False)
    points = [tuple(nodes[i]) for i in picked]
    for start in picked[:3]:
        to = reference_seconds(edges, int(start), reverse=True)
        got = router.times_to(*nodes[start], points)
        np.testing.assert_allclose(got, [to[int(i)] for i in picked], atol=1e-6)
        frm = reference_seconds(edges, int(start))
        got = router.times_from(*nodes[start], points)
        np.testing.assert_allclose(got, [frm[int(i)] for i in picked], atol=1e-6)


def test_one_way_street_is_driven_one_way_only(router, settings):
    net = router.network
    oneway = np.nonzero((net.edge_twin < 0) & (net.edge_source != net.edge_target))[0]
    e = int(oneway[np.argmax(net.edge_length_m[oneway])])
    with psycopg.connect(settings.libpq_url) as conn:
        (travel,) = conn.execute("SELECT travel_s FROM road_edges WHERE id = %s", (int(net.edge_id[e]),)).fetchone()
    (a_lon, a_lat), (b_lon, b_lat) = net.node_lonlat[net.edge_source[e]], net.node_lonlat[net.edge_target[e]]
    forward = router.times_from(a_lat, a_lon, [(b_lat, b_lon)])[0]
    backward = router.times_from(b_lat, b_lon, [(a_lat, a_lon)])[0]
    assert forward <= travel + JUNCTION_DELAY_S + 1e-6
    assert backward > forward + 10
    # Two points on the one-way itself: a quarter and three quarters along it.
    quarter, three_quarters = (tuple(p[::-1]) for p in _along(net.edge_lonlat(e), (0.25, 0.75)))
    ahead = router.route(quarter, three_quarters)
    assert ahead.seconds == pytest.approx(0.5 * travel, rel=0.02)
    assert ahead.meters == pytest.approx(0.5 * net.edge_length_m[e], rel=0.02)
    assert router.route(three_quarters, quarter).seconds > ahead.seconds + 10


def test_a_point_mid_road_is_reached_from_both_ends(router):
    net = router.network
    two_way = np.nonzero(net.edge_twin >= 0)[0]
    e = int(two_way[np.argmax(net.edge_length_m[two_way])])
    ((lon, lat),) = _along(net.edge_lonlat(e), (0.5,))
    ends = [tuple(net.node_lonlat[v][::-1]) for v in (net.edge_source[e], net.edge_target[e])]
    snap = router.snap(lat, lon)
    assert snap.distance_m < 1 and 0.45 < snap.fraction < 0.55
    half_ways = router.times_to(lat, lon, ends)  # neither end is a shortcut: each drives half the road
    np.testing.assert_allclose(half_ways, 0.5 * net.edge_travel_s[[e, net.edge_twin[e]]], rtol=0.05)


def _along(lonlat: np.ndarray, fractions) -> list[np.ndarray]:
    seg = np.array([straight_line_m(a[::-1], b[::-1]) for a, b in zip(lonlat, lonlat[1:], strict=False)])
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    return [
        np.array([np.interp(f * cum[-1], cum, lonlat[:, 0]), np.interp(f * cum[-1], cum, lonlat[:, 1])])
        for f in fractions
    ]


def test_on_the_mountain_the_straight_line_closer_unit_is_slower(router, settings):
    # Hinder Prufatscheng sits on the slope above Vaduz: 1 km from Vaduz as the crow flies but up the
    # Triesenberg switchbacks by road, while Silum is twice as far but along the same terrace.
    incident, vaduz, silum = (place(settings, n) for n in ("Hinder Prufatscheng", "Vaduz", "Silum"))
    assert straight_line_m(vaduz, incident) < 0.7 * straight_line_m(silum, incident)
    from_vaduz, from_silum = router.times_to(*incident, [vaduz, silum])
    assert from_vaduz > 2 * from_silum
    assert router.route(vaduz, incident).meters > 3 * straight_line_m(vaduz, incident)


def test_second_load_comes_from_the_cache_and_a_bad_cache_is_rebuilt(settings, imported_map, tmp_path):
    first = Router.load(settings.libpq_url, cache_dir=tmp_path / "new")
    path = cache_path(tmp_path / "new", first.network.sha256)
    assert not first.from_cache and path.exists()
    second = Router.load(settings.libpq_url, cache_dir=tmp_path / "new")
    assert second.from_cache
    for name in ("node_lonlat", "edge_id", "edge_travel_s", "edge_twin", "coords"):
        np.testing.assert_array_equal(getattr(first.network, name), getattr(second.network, name))
    points = near_nodes(first, 20, seed=5)
    np.testing.assert_array_equal(first.table(points, points), second.table(points, points))

    with np.load(path) as npz:  # a well-formed cache of another map under this name: stale, not trusted
        arrays = {k: npz[k] for k in npz.files} | {"meta": np.array("0" * 64)}
    np.savez(tmp_path / "other.npz", **arrays)
    good = path.read_bytes()
    for damaged in (b"not a zip file", good[: len(good) // 2], (tmp_path / "other.npz").read_bytes()):
        path.write_bytes(damaged)
        rebuilt = Router.load(settings.libpq_url, cache_dir=tmp_path / "new")
        assert not rebuilt.from_cache
        assert path.read_bytes() != damaged and Router.load(settings.libpq_url, tmp_path / "new").from_cache


def test_route_geometry_runs_between_the_snapped_points(router):
    a, b = near_nodes(router, 2, seed=11, jitter_deg=4e-4)
    route = router.route(a, b)
    assert route.coords[0] == pytest.approx((route.snapped_from.lat, route.snapped_from.lon), abs=1e-9)
    assert route.coords[-1] == pytest.approx((route.snapped_to.lat, route.snapped_to.lon), abs=1e-9)
    assert polyline_m(route.coords) == pytest.approx(route.meters, rel=0.005)
    assert route.seconds == pytest.approx(router.times_from(*a, [b])[0])
    offroad = (route.snapped_from.distance_m + route.snapped_to.distance_m) / (OFFROAD_KPH / 3.6)
    assert route.seconds > offroad > 0
    assert route.snapped_from.distance_m == pytest.approx(
        straight_line_m(a, (route.snapped_from.lat, route.snapped_from.lon)), rel=0.01
    )


def test_routes_agree_with_times_everywhere(router):
    points = near_nodes(router, 30, seed=13)
    times = router.table(points[:15], points[15:])
    for i, a in enumerate(points[:15]):
        for j, b in enumerate(points[15:]):
            route = router.route(a, b)
            assert route.seconds == pytest.approx(times[i, j])
            assert polyline_m(route.coords) == pytest.approx(route.meters, rel=0.01, abs=1.0)


def test_table_equals_repeated_times_to_and_times_from(router):
    sources, targets = near_nodes(router, 25, seed=1), near_nodes(router, 6, seed=2)
    table = router.table(sources, targets)  # reverse: six Dijkstras
    assert table.shape == (25, 6)
    for j, t in enumerate(targets):
        np.testing.assert_allclose(table[:, j], router.times_to(*t, sources))
    flipped = router.table(targets, sources)  # forward: six Dijkstras
    for i, s in enumerate(targets):
        np.testing.assert_allclose(flipped[i], router.times_from(*s, sources))
    assert np.isfinite(table).all() and (table > 0).all()


def test_cutoff_drops_only_what_is_further(router):
    sources = near_nodes(router, 200, seed=4)
    incident = sources.pop()
    full = router.times_to(*incident, sources)
    cut = router.times_to(*incident, sources, cutoff_s=300.0)
    assert np.isinf(cut).any() and np.isfinite(cut).any()
    np.testing.assert_array_equal(cut[full <= 300.0], full[full <= 300.0])
    assert np.isinf(cut[full > 300.0]).all()
    np.testing.assert_array_equal(router.table(sources[:5], [incident], cutoff_s=300.0)[:, 0], cut[:5])


@pytest.mark.parametrize(
    "point",
    [
        (float("nan"), 9.52),
        (47.14, float("inf")),
        (91.0, 9.52),
        (47.14, 181.0),
        (0.0, 0.0),
        (47.5, 9.52),
        ("Vaduz", 9.52),
    ],
)
def test_bad_points_raise_routing_errors(router, point):
    with pytest.raises(RoutingError):
        router.times_to(*point, [(47.14, 9.52)])
    with pytest.raises(RoutingError):
        router.route(point, (47.14, 9.52))
    if not isinstance(point[0], str) and (np.isnan(point).any() or abs(point[0]) > 90 or abs(point[1]) > 180):
        with pytest.raises(RoutingError, match="not a valid"):
            router.times_to(47.14, 9.52, [(47.14, 9.52), point])


def test_a_point_far_from_roads_is_an_error_alone_and_inf_in_a_list(router, settings):
    lawena = place(settings, "Lawena")  # a hamlet in an alpine valley without a public road
    with pytest.raises(RoutingError, match=f"{MAX_SNAP_M:.0f} m from any drivable road"):
        router.route(lawena, (47.14, 9.52))
    vaduz = place(settings, "Vaduz")
    times = router.times_to(*vaduz, [lawena, (0.0, 0.0), (47.14, 9.52)])
    assert np.isinf(times[:2]).all() and np.isfinite(times[2])
    assert router.table([], [vaduz]).shape == (0, 1) and router.times_to(*vaduz, []).shape == (0,)
    with pytest.raises(RoutingError, match="cutoff"):
        router.times_to(*vaduz, [lawena], cutoff_s=float("nan"))
    with pytest.raises(RoutingError, match="pairs"):
        router.times_to(*vaduz, [(47.1, 9.5, 3.0)])


def test_an_incident_far_from_the_roads_is_reached_from_the_nearest_one_when_asked(router):
    hut = (47.13981, 9.60077)  # an address of the bundled map more than 2 km from any drivable road
    station = (47.1410, 9.5215)
    with pytest.raises(RoutingError, match="more than 2000 m from any drivable road"):
        router.times_to(*hut, [station])
    near = router.times_to(*hut, [station], reach_m=20_000)
    assert np.isfinite(near[0]) and near[0] > 2000 / (15 / 3.6)  # at least the off-road leg at 15 km/h


def test_the_search_tree_gives_every_sources_time_and_route_without_a_second_search(router):
    target = near_nodes(router, 1, seed=21, jitter_deg=4e-4)[0]
    sources = [*near_nodes(router, 40, seed=22, jitter_deg=4e-4), target]  # the last one: on the same road piece
    tree = router.tree_to(*target, sources)
    np.testing.assert_allclose(tree.seconds, router.times_to(*target, sources))
    for i, source in enumerate(sources):
        walked, searched = tree.route(i), router.route(source, target)
        assert walked.seconds == pytest.approx(searched.seconds)
        assert walked.meters == pytest.approx(searched.meters, rel=1e-6, abs=0.01)
        assert walked.coords[0] == pytest.approx((walked.snapped_from.lat, walked.snapped_from.lon), abs=1e-9)
        assert walked.coords[-1] == pytest.approx((walked.snapped_to.lat, walked.snapped_to.lon), abs=1e-9)
        assert polyline_m(walked.coords) == pytest.approx(walked.meters, rel=0.01, abs=1.0)


def test_the_search_tree_honours_the_cutoff_and_reaches_a_far_incident(router):
    hut, station = (47.13981, 9.60077), (47.1410, 9.5215)
    tree = router.tree_to(*hut, [station], reach_m=20_000)
    assert tree.seconds[0] == pytest.approx(router.times_to(*hut, [station], reach_m=20_000)[0])
    assert tree.route(0).coords[0] == pytest.approx((tree.route(0).snapped_from.lat, tree.route(0).snapped_from.lon))
    near = router.tree_to(*hut, [station], cutoff_s=60, reach_m=20_000)
    assert near.seconds[0] == np.inf
    with pytest.raises(RoutingError, match="no route"):
        near.route(0)
    with pytest.raises(RoutingError, match="cutoff_s"):
        router.tree_to(*hut, [station], cutoff_s=-1, reach_m=20_000)
