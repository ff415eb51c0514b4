"""A dispatcher's correction of an incident's place reaches the crews on it with the new point, its label and a
new route from where each unit is (before, only the corrected text). Real servers and sockets, as in
test_push."""

import pytest
from httpx import AsyncClient

from tests import test_push
from tests.test_push import bearer, device, next_of
from tests.test_push_faults import assign, send

crews, serve = test_push.crews, test_push.serve

pytestmark = pytest.mark.slow


async def test_a_corrected_location_reaches_the_crew_with_its_point_and_a_new_route(serve, crews):
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token)
    incident_id = await assign(addr, crews, unit_id)
    assignment = await next_of(ws, "assignment")
    await send(ws, {"type": "ack", "of": assignment["id"]})
    before = assignment["location"]

    async with AsyncClient(base_url=f"http://{addr}") as client:
        corrected = await client.patch(
            f"/api/incidents/{incident_id}",
            json={"location_text": "Landstrasse 100, Schaan"},
            headers=bearer(crews["dispatcher"]),
        )
        assert corrected.status_code == 200, corrected.text
    while True:
        update = await next_of(ws, "update")
        if update.get("changed"):
            break
    assert update["incident_id"] == incident_id and update["changed"] == {"location_text": "Landstrasse 100, Schaan"}
    assert update["municipality"] == "Schaan" and "Landstrasse" in update["address"]
    point = update["location"]
    assert (point["lat"], point["lon"]) != (before["lat"], before["lon"])
    route = update["route"]
    assert route is not None and route["meters"] > 0 and route["steps"][-1]["turn"] == "arrive"
    end_lon, end_lat = route["coords"][-1][1], route["coords"][-1][0]
    assert abs(end_lat - point["lat"]) < 0.01 and abs(end_lon - point["lon"]) < 0.01
    await ws.close()
