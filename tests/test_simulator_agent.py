"""A simulated crew reads the service's messages as a device does: the new route of an incident whose place a
dispatcher corrected comes without an assignment id (it is about the incident), and is the route of the
assignment the crew holds there; it used to end the crew's connection (KeyError) each time a place was moved."""

import random

from simulator.agents import UnitAgent, World


def agent() -> UnitAgent:
    world = World("http://127.0.0.1:1", 10.0, {}, {}, None, random.Random(1))
    return UnitAgent(world, 5, "Patrol 5", "token", (47.14, 9.52))


async def test_a_corrected_places_route_goes_to_the_assignment_held_there():
    crew = agent()
    crew.assignment = {"incident_id": 165, "assignment_id": 40}
    await crew.on_message({"type": "update", "incident_id": 165, "changed": {"lat": 47.1}, "route": [[47.1, 9.5]]})
    assert crew.routes == {40: [[47.1, 9.5]]}
    # The route right after an assignment names it, as before.
    await crew.on_message({"type": "update", "incident_id": 166, "assignment_id": 41, "route": [[47.2, 9.5]]})
    assert crew.routes[41] == [[47.2, 9.5]]
    # A new route for an incident the crew is not on is nobody's.
    await crew.on_message({"type": "update", "incident_id": 999, "changed": {}, "route": [[47.3, 9.5]]})
    assert set(crew.routes) == {40, 41}
