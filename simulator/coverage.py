"""The move-up planner's model of the simulated region: where calls come from and where units may wait."""

from collections.abc import Sequence

import numpy as np

from dispatch.matching.coverage import CoverageModel, PostPlace, build_model
from dispatch.matching.moveup import Post
from geo.routing import Router
from simulator.calls import Call
from simulator.world import World


def coverage_model(world: World, router: Router, history: Sequence[Call]) -> CoverageModel:
    """The move-up planner's demand: the map's addresses plus earlier calls (weighted as the live system weighs
    the last 90 days' incidents), and the stations and standby posts as places to wait."""
    points = np.vstack([world.addresses, np.array([(c.lat, c.lon) for c in history]).reshape(-1, 2)])
    weights = np.concatenate([np.ones(len(world.addresses)), np.full(len(history), 3.0)])
    posts = [
        PostPlace(Post(s.id, s.name, 1 if s.kind == "standby" else 2), s.kind, s.lat, s.lon) for s in world.stations
    ]
    return build_model(router, points, weights, posts)
