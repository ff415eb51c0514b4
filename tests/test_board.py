"""The unit board on the real Redis: a read after changes by anyone shows exactly the changes, and the free
counts follow the states."""

from dispatch.keys import Keys
from dispatch.matching.core import free_counts
from dispatch.units.board import BoardUnit, UnitBoard

KEYS = Keys("board-test")


def truth(units):
    """What a refresh reads from PostgreSQL, here given."""

    async def read():
        return units

    return read


def unit(unit_id: int, status: str = "available", caps=("ems",), area="Vaduz", lat=47.14, lon=9.52) -> BoardUnit:
    return BoardUnit(unit_id, f"U{unit_id}", frozenset(caps), status, lat, lon, area, None, None)


async def test_a_read_shows_every_change_made_since_the_last_one(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)  # two processes' boards on one Redis
    await board.load([unit(1), unit(2, caps=("fire",), area="Schaan"), unit(3, lat=None, lon=None)])
    first = await board.units()
    assert [u.id for u in first] == [1, 2, 3]
    assert board.free_counts() == {("Vaduz", "ems"): 2, ("Schaan", "fire"): 1}

    assert await board.units() == first  # nothing changed: the same units
    assert board.free_counts() == free_counts(first)

    ok, _ = await other.reserve(99, 1, [1], now_ms=0)
    assert ok
    await other.set_positions({2: (47.2, 9.55, 5), 3: (47.1, 9.5, 5)})
    after = {u.id: u for u in await board.units()}
    assert (after[1].status, after[1].incident_id, after[1].work_priority) == ("dispatched", 99, 1)
    assert (after[2].lat, after[2].lon, after[2].status) == (47.2, 9.55, "available")
    assert (after[3].lat, after[3].lon) == (47.1, 9.5)
    assert board.free_counts() == {("Vaduz", "ems"): 1, ("Schaan", "fire"): 1}
    await other.update(1, status="available", incident="", work_priority="")  # free again: counted again
    await other.update(2, status="out_of_service")
    assert free_counts(await board.units()) == board.free_counts() == {("Vaduz", "ems"): 2}

    await other.sync(truth([unit(1, status="dispatched"), unit(4, caps=("ems", "fire"))]), settle_ms=0)  # 2, 3 leave
    units = await board.units()
    assert [u.id for u in units] == [1, 4]
    assert board.free_counts() == free_counts(units) == {("Vaduz", "ems"): 1, ("Vaduz", "fire"): 1}


async def test_an_update_announces_the_change_in_the_same_round_trip_after_the_write(redis):
    board = UnitBoard(redis, KEYS)
    await board.load([unit(1)])
    listener = redis.pubsub()
    await listener.subscribe("board-test")
    await listener.get_message(timeout=1)  # the subscription's confirmation
    await board.update(1, announce=("board-test", b'{"type":"unit.status"}'), status="out_of_service")
    message = await listener.get_message(timeout=2)
    assert message["data"] == b'{"type":"unit.status"}'
    assert (await board.get(1)).status == "out_of_service"
    await board.update(99, announce=("board-test", b"gone"), status="available")  # no such unit: still told
    assert (await listener.get_message(timeout=2))["data"] == b"gone" and await board.get(99) is None
    await listener.aclose()
