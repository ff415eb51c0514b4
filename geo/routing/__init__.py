"""Drive-time routing on the imported road graph: snapping, one-to-many times, tables and routes."""

from geo.routing.geometry import RoutingError, straight_line_m
from geo.routing.graph import RoadNetwork
from geo.routing.router import Route, Router
from geo.routing.snap import Snap
from geo.routing.steps import Step

__all__ = ["RoadNetwork", "Route", "Router", "RoutingError", "Snap", "Step", "straight_line_m"]
