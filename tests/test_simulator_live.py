"""A short live simulation: calls through the real API, unit agents on real websockets, incidents carried
through dispatch, acknowledgement, en route, on scene and clear, then closed."""

import json

import pytest
from sqlalchemy import text

from simulator.live import run
from tests.test_push import crews, serve  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


async def test_simulated_calls_go_through_every_stage(serve, crews, settings, engine, tmp_path):  # noqa: F811
    app, addr = await serve()
    board = {u.id: u.call_sign for u in await app.state.services.board.units()}
    tokens = tmp_path / "tokens.json"
    tokens.write_text(
        json.dumps(
            {
                "people": {"calltaker": crews["call_taker"], "dispatcher": crews["dispatcher"]},
                "units": {board[u]: t for u, t in crews["units"].items()},
            }
        )
    )
    counts = await run(
        f"http://{addr}",
        tokens,
        settings.libpq_url,
        speed=600,
        per_hour=120,
        seed=3,
        cache_dir=settings.route_cache_dir,
        calls_limit=3,
        duration_s=25,
    )
    assert counts["agents"] == len(crews["units"]) and counts.get("acknowledged", 0) >= 1
    async with engine.connect() as conn:
        kinds = set(
            (
                await conn.execute(
                    text(
                        "SELECT e.kind FROM incident_events e JOIN incidents i ON i.id = e.incident_id "
                        "WHERE i.narrative = 'simulated call'"
                    )
                )
            ).scalars()
        )
        closed = await conn.scalar(
            text("SELECT count(*) FROM incidents WHERE narrative = 'simulated call' AND status = 'closed'")
        )
    assert {"received", "dispatched", "acknowledged", "en_route", "on_scene", "cleared"} <= kinds
    assert closed >= 1
