"""What the crew's device at /unit/ must make plain (Debian's Chromium, Playwright, against the real service): an
incident moved while the crew is on it, a dispatcher's message that waited while the device was offline, and a
normal job whose requests all succeed."""

import pytest
from httpx import AsyncClient
from playwright.async_api import async_playwright, expect

from tests.crew_app import LABELS, TRANSPORT, assign, call, free_unit, launch, signed_in
from tests.test_push import bearer, crews, device, next_of, serve  # noqa: F401 (fixtures)
from tests.test_unit_app import TABLET, status_is, until

pytestmark = pytest.mark.slow


async def test_a_message_written_while_the_device_was_away_follows_the_current_it_resumes_with(serve, crews):  # noqa: F811
    _, addr = await serve(matcher=False)
    unit_id, token = next(iter(crews["units"].items()))
    ws = await device(addr, token, last_seq=0)
    await next_of(ws, "current")
    await ws.close()
    async with AsyncClient(base_url=f"http://{addr}") as client:
        sent = await client.post(
            f"/api/units/{unit_id}/messages", json={"text": "Call us back"}, headers=bearer(crews["dispatcher"])
        )
        assert sent.status_code in (200, 201), sent.text
    # A device that cannot be replayed to (its last seq of another Redis life) resumes with `current`: the
    # dispatcher's words are not in it and must still come.
    ws = await device(addr, token, last_seq=0)
    current = await next_of(ws, "current")
    message = await next_of(ws, "message", timeout=3)
    assert message["text"] == "Call us back" and message["sent_at"] <= current["sent_at"]
    await ws.close()
