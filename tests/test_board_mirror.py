"""A matcher's mirror of the unit board, kept from the board's change log: it reads only what changed, reads the
whole board when the log has a gap or the board was replaced, and a stale mirror never assigns a unit twice."""

import asyncio

import orjson

from dispatch.keys import Keys
from dispatch.units.board import BoardUnit, UnitBoard

KEYS = Keys("mirror-test")


def unit(unit_id: int, status: str = "available", caps=("ems",), lat=47.14, lon=9.52) -> BoardUnit:
    return BoardUnit(unit_id, f"U{unit_id}", frozenset(caps), status, lat, lon, "Vaduz", None, None)


def counting_whole_reads(board: UnitBoard) -> list[int]:
    reads = [0]
    read_all = board._read_all

    async def counted():
        reads[0] += 1
        await read_all()

    board._read_all = counted
    return reads


async def test_the_first_read_is_whole_and_the_next_ones_carry_only_the_changes(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)
    await other.load([unit(1), unit(2, caps=("fire",)), unit(3, lat=None, lon=None)])
    reads = counting_whole_reads(board)
    assert [(u.id, u.status) for u in await board.units()] == [(1, "available"), (2, "available"), (3, "available")]
    assert reads[0] == 1

    assert (await other.reserve(7, 1, [1], now_ms=0))[0]
    await other.set_positions({3: (47.1, 9.5, 5)})
    await other.update(2, status="out_of_service")
    assert await other.silent(2, 123)
    units = {u.id: u for u in await board.units()}
    assert reads[0] == 1  # from the log alone
    assert (units[1].status, units[1].incident_id, units[1].work_priority) == ("dispatched", 7, 1)
    assert (units[2].status, units[2].silent) == ("out_of_service", True)
    assert (units[3].lat, units[3].lon) == (47.1, 9.5)
    assert board.free_counts() == {("Vaduz", "ems"): 1}
    assert await other.heard(2)
    await other.sync(lambda: _given([unit(1, status="dispatched"), unit(2)]), settle_ms=0)  # 3 leaves
    assert [(u.id, u.status, u.silent) for u in await board.units()] == [
        (1, "dispatched", False),
        (2, "available", False),
    ]
    assert reads[0] == 1
    assert await board.units() == [await other.get(1), await other.get(2)]  # as the board itself has them


async def _given(units):
    return units


async def test_a_gap_in_the_log_makes_the_mirror_read_the_whole_board(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)
    await other.load([unit(1), unit(2)])
    reads = counting_whole_reads(board)
    await board.units()
    await other.update(1, status="out_of_service")
    await redis.xtrim(KEYS.board_log, maxlen=0)  # that entry is lost (trimmed away while the mirror was behind)
    await other.update(2, status="at_station")
    assert [(u.id, u.status) for u in await board.units()] == [(1, "out_of_service"), (2, "at_station")]
    assert reads[0] == 2

    await redis.xtrim(KEYS.board_log, maxlen=0)  # lost, and nothing after it: the sequence number says so
    await other.update(1, status="available")
    await redis.xtrim(KEYS.board_log, maxlen=0)
    assert [u.status for u in await board.units()] == ["available", "at_station"]
    assert reads[0] == 3


async def test_a_redis_that_lost_everything_and_a_replaced_board_are_read_whole(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)
    await other.load([unit(1), unit(2)])
    reads = counting_whole_reads(board)
    await board.units()
    await redis.flushdb()  # Redis restarted without its data
    assert await board.units() == []
    assert reads[0] == 2
    await other.load([unit(5)])  # the board reloaded from PostgreSQL
    assert [u.id for u in await board.units()] == [5]
    assert reads[0] == 3


async def test_a_unit_changed_behind_the_mirrors_back_is_never_taken_twice_and_the_mirror_recovers(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)
    await other.load([unit(1), unit(2)])
    assert [u.status for u in await board.units()] == ["available", "available"]
    # Another matcher takes unit 1, and its line in the log is lost: the mirror still shows it free.
    assert (await other.reserve(40, 1, [1], now_ms=0))[0]
    await redis.delete(KEYS.board_log)
    await redis.decr(KEYS.board_seq)
    # And a writer that bypasses the log altogether (an older version) takes unit 2.
    raw = orjson.loads(await redis.hget(KEYS.board, 2))
    await redis.hset(KEYS.board, 2, orjson.dumps({**raw, "status": "dispatched", "incident": 41, "work_priority": 2}))
    stale = {u.id: u.status for u in await board.units()}
    assert stale == {1: "available", 2: "available"}  # what the mirror believes

    assert await board.reserve(50, 1, [2, 1], now_ms=0) == (False, 2)  # the board itself decides: refused
    assert await board.reserve(50, 1, [1], now_ms=0) == (False, 1)
    fresh = {u.id: (u.status, u.incident_id) for u in await board.units()}  # read whole after the refusal
    assert fresh == {1: ("dispatched", 40), 2: ("dispatched", 41)}
    assert board.free_counts() == {}


async def test_a_unit_another_matcher_took_meanwhile_is_refused_and_the_log_explains_it(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)
    await other.load([unit(1), unit(2)])
    reads = counting_whole_reads(board)
    await board.units()
    assert (await other.reserve(40, 1, [1], now_ms=0))[0]  # after this board's read, before its reservation
    assert await board.reserve(50, 1, [1], now_ms=0) == (False, 1)
    assert [(u.id, u.status) for u in await board.units()] == [(1, "dispatched"), (2, "available")]
    assert reads[0] == 1  # the log showed why: no whole read


async def test_reads_at_the_same_time_share_the_mirror_without_a_whole_read(redis):
    board, other = UnitBoard(redis, KEYS), UnitBoard(redis, KEYS)  # a matcher's loops share one board
    await other.load([unit(1), unit(2), unit(3)])
    reads = counting_whole_reads(board)
    await board.units()
    for round_ in range(5):
        await other.set_positions({1: (47.1 + round_ / 100, 9.5, round_)})
        await other.update(2, status="out_of_service" if round_ % 2 else "available")
        seen = await asyncio.gather(*(board.units() for _ in range(4)))
        assert seen[-1] == [await other.get(1), await other.get(2), await other.get(3)]
    assert reads[0] == 1
