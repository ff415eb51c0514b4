"""The service's shutdown: a part that never stops is given up after a bound, named in the log, and the parts after
it still stop (a process asked to stop stops)."""

import asyncio
import logging

from dispatch import services as services_module
from tests.conftest import app_on


async def test_a_part_that_never_stops_does_not_hold_the_shutdown(settings, session, redis, monkeypatch, caplog):
    monkeypatch.setattr(services_module, "STOP_STEP_S", 0.3)
    stopped: list[str] = []
    with caplog.at_level(logging.WARNING, logger="dispatch"):
        async with app_on(settings, session) as app:
            services = app.state.services

            async def hangs() -> None:
                await asyncio.Event().wait()

            async def geocoder_stop() -> None:
                stopped.append("geocoder")

            monkeypatch.setattr(services.hub, "stop", hangs)
            monkeypatch.setattr(services.geocoder, "stop", geocoder_stop)
        # (the lifespan's end: the shutdown ran, bounded)
    assert "stopping: hub did not stop within 0.3 s" in caplog.text
    assert stopped == ["geocoder"]  # a step after the one given up
