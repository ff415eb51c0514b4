"""The unit board's periodic refresh from PostgreSQL never undoes a newer state: a reservation whose
PostgreSQL write is still in flight, or any change made after the refresh read its truth."""

from dispatch.app import create_app
from dispatch.keys import Keys
from dispatch.units.board import BoardUnit, UnitBoard
from tests.builders import free_everything


def unit(unit_id: int, status: str = "available") -> BoardUnit:
    return BoardUnit(unit_id, f"U{unit_id}", frozenset({"ems"}), status, 47.14, 9.52, "Vaduz", None, None)


async def test_the_refresh_leaves_a_reservation_whose_write_is_in_flight(settings, engine, imported_map, redis):
    await free_everything(engine)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        board = app.state.services.board
        free = next(u for u in await board.units() if u.status == "available")
        # A matcher took the unit on the board; its assignment is not yet committed in PostgreSQL.
        ok, _ = await board.reserve(424242, 1, [free.id], now_ms=0)
        assert ok
        for tick in app.state.services.queue_keeper.on_tick:  # the 30 s refresh comes now
            await tick()
        after = await board.get(free.id)
        assert (after.status, after.incident_id) == ("dispatched", 424242)


def truth(units, then=None):
    """A refresh's read of PostgreSQL that gives `units`; `then` runs right after the read (a change that lands
    between the read and the write)."""

    async def read():
        if then is not None:
            await then()
        return units

    return read


async def test_a_change_after_the_refresh_read_postgresql_is_never_undone(redis):
    board, other = UnitBoard(redis, Keys("refresh-test")), UnitBoard(redis, Keys("refresh-test"))
    await board.load([unit(1), unit(2)])

    async def reserve_and_report():
        assert (await other.reserve(77, 2, [1], now_ms=0))[0]
        await other.update(2, status="out_of_service")

    written = await board.sync(truth([unit(1), unit(2, status="available")], then=reserve_and_report), settle_ms=0)
    assert written == 0
    one, two = await board.get(1), await board.get(2)
    assert (one.status, one.incident_id, two.status) == ("dispatched", 77, "out_of_service")


async def test_the_refresh_corrects_a_settled_board_and_removes_units_postgresql_no_longer_has(redis):
    board = UnitBoard(redis, Keys("refresh-test"))
    await board.load([unit(1, status="dispatched"), unit(2), unit(3)])
    assert await board.sync(truth([unit(1), unit(2)])) == 2  # load's states are old: 1 corrected, 3 removed
    assert [(u.id, u.status) for u in await board.units()] == [(1, "available"), (2, "available")]
    assert await board.sync(truth([unit(1), unit(2)])) == 0  # nothing differs: nothing written
    await board.update(2, status="out_of_service")  # a fresh change PostgreSQL does not have yet: kept
    assert await board.sync(truth([unit(1), unit(2)])) == 0
    assert (await board.get(2)).status == "out_of_service"
