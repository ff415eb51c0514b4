"""What a crew hears besides its own assignment: the others on the incident (`update` with `team`), the
dispatchers' notes (in the brief, then `update` with `note`), a move-up order with its route; and a device of
another protocol version is refused in words before its socket is closed."""

import orjson
import pytest
from httpx import AsyncClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.test_push import bearer, crews, device, next_of, serve, take_call  # noqa: F401 (fixtures)

CALL = {"location_text": "Städtle 23, Vaduz", "type_code": "FIRE-OTHER", "caller_number": "+423 799 00 02"}


async def assign(client: AsyncClient, dispatcher: str, incident_id: int, unit_id: int) -> None:
    answer = await client.post(
        f"/api/incidents/{incident_id}/assign", json={"unit_ids": [unit_id]}, headers=bearer(dispatcher)
    )
    assert answer.status_code == 200, answer.text


async def test_the_crews_on_an_incident_hear_of_each_other_and_of_the_notes(serve, crews):  # noqa: F811
    _, addr = await serve(auto_dispatch_priorities=[])
    first, second = sorted(crews["units"])[:2]
    dispatcher = crews["dispatcher"]
    async with AsyncClient(base_url=f"http://{addr}") as client:
        incident_id = await take_call(addr, crews["call_taker"], CALL)
        one = await device(addr, crews["units"][first])
        two = await device(addr, crews["units"][second])
        await assign(client, dispatcher, incident_id, first)
        job = await next_of(one, "assignment")
        assert job["notes"] == []
        await one.send(orjson.dumps({"type": "ack", "of": job["id"]}).decode())

        # A note written before the second unit is sent is in its assignment's brief; the first hears it now.
        noted = await client.post(
            f"/api/incidents/{incident_id}/notes", json={"text": "Access by the rear lane"}, headers=bearer(dispatcher)
        )
        assert noted.status_code == 201, noted.text
        note = await next_of(one, "update")
        while "note" not in note:
            note = await next_of(one, "update")
        assert note["note"]["text"] == "Access by the rear lane" and note["note"]["from"] and note["note"]["at"]

        # The crew's own read of the incident (its recent jobs) carries the notes too.
        read = await client.get(f"/api/incidents/{incident_id}", headers=bearer(crews["units"][first]))
        assert read.status_code == 200, read.text
        assert [(n["text"], bool(n["from"]), n["at"] > 0) for n in read.json()["notes"]] == [
            ("Access by the rear lane", True, True)
        ]

        await assign(client, dispatcher, incident_id, second)
        other = await next_of(two, "assignment")
        assert [n["text"] for n in other["notes"]] == ["Access by the rear lane"]
        team = await team_update(one)
        assert [m["unit_id"] for m in team["team"]] == [first, second]
        assert {m["unit_id"]: m["status"] for m in team["team"]} == {first: "acknowledged", second: "assigned"}
        due = team["team"][1]["due_ms"]
        assert team["team"][1]["call_sign"] and (due is None or due > job["sent_at"])

        # The second crew on its way: the first hears it; the second is not told its own change.
        await two.send(orjson.dumps({"type": "ack", "of": other["id"]}).decode())
        await two.send(
            orjson.dumps(
                {"type": "status", "status": "en_route", "assignment_id": other["assignment_id"], "id": "s1"}
            ).decode()
        )
        seen = {}
        while seen.get(second) != "en_route":
            seen = {m["unit_id"]: m["status"] for m in (await team_update(one))["team"]}
        assert seen[first] == "acknowledged"

        # A dispatcher takes the second unit off: it is stood down, and the first hears it is alone now.
        freed = await client.post(
            f"/api/units/{second}/status",
            json={"status": "available", "reason": "one engine is enough"},
            headers=bearer(dispatcher),
        )
        assert freed.status_code == 200, freed.text
        cancel = await next_of(two, "cancel")
        assert cancel["incident_id"] == incident_id and cancel["reason"] == "one engine is enough"
        alone = await team_update(one)
        while len(alone["team"]) != 1:
            alone = await team_update(one)
        assert alone["team"][0]["unit_id"] == first
        await one.close()
        await two.close()


async def team_update(ws) -> dict:
    while True:
        message = await next_of(ws, "update")
        await ws.send(orjson.dumps({"type": "ack", "of": message["id"]}).decode())
        if "team" in message:
            return message


async def test_a_move_up_order_comes_with_its_route(serve, crews):  # noqa: F811
    app, addr = await serve()
    services = app.state.services
    unit_id = sorted(crews["units"])[0]
    unit = await services.board.get(unit_id)
    assert unit is not None and unit.lat is not None
    ws = await device(addr, crews["units"][unit_id])
    order = {"unit_id": unit_id, "post_id": 1, "post": "Schaan centre", "lat": 47.1650, "lon": 9.5097}
    await services.pusher.move({**order, "reason": "coverage"})
    move = await next_of(ws, "move")
    assert (move["post"], move["location"]) == ("Schaan centre", {"lat": 47.1650, "lon": 9.5097})
    assert move["route"]["meters"] > 0 and move["route"]["steps"][-1]["turn"] == "arrive"
    await ws.close()


@pytest.mark.parametrize("how", ["subprotocol", "hello"])
async def test_a_device_of_another_protocol_version_is_told_why(serve, crews, how):  # noqa: F811
    _, addr = await serve()
    token = next(iter(crews["units"].values()))
    if how == "subprotocol":  # a browser's app of an older release
        ws = await connect(f"ws://{addr}/ws/unit", subprotocols=["dispatch.v0", f"bearer.{token}"])
        assert ws.subprotocol == "dispatch.v0"
    else:  # a device that says its version in hello
        ws = await connect(f"ws://{addr}/ws/unit", additional_headers=bearer(token))
        assert (await next_of(ws, "welcome"))["protocol"] == 1
        await ws.send(orjson.dumps({"type": "hello", "last_seq": 0, "protocol": 2}).decode())
    refusal = await next_of(ws, "error")
    assert refusal["code"] == "unsupported_protocol" and refusal["protocol"] == 1
    assert "update the device's app" in refusal["message"]
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4005
