"""The units' outbox on its own: acknowledgements taken once, several messages numbered in one round trip."""

import orjson

from dispatch.db import make_sessionmaker
from dispatch.keys import Keys
from dispatch.push.outbox import Outbox, next_epoch


def outbox_of(redis, engine):
    """An outbox under a prefix of its own, its epochs from the test database."""
    return Outbox(redis, Keys("outbox-test"), epochs=lambda: next_epoch(make_sessionmaker(engine)))


async def test_an_ack_is_taken_once_and_hands_back_the_message_it_acknowledges(redis, engine):
    outbox = outbox_of(redis, engine)
    sent = await outbox.send(7, {"type": "assignment", "incident_id": 3}, ack_within_s=10)
    message = orjson.loads(await outbox.ack(7, sent.id))
    assert (message["id"], message["seq"], message["incident_id"]) == (sent.id, sent.seq, 3)
    assert await outbox.ack(7, sent.id) is None  # a repeated ack changes nothing
    note = await outbox.send(7, {"type": "update"}, ack_within_s=0)  # no ack wanted
    assert await outbox.ack(7, note.id) is None
    assert await outbox.due() == []  # no deadline left behind


async def test_several_messages_go_out_in_one_round_trip_each_numbered_in_its_units_outbox(redis, engine):
    outbox = outbox_of(redis, engine)
    sent = await outbox.send_many(
        [
            (7, {"type": "assignment", "incident_id": 1}),
            (8, {"type": "assignment", "incident_id": 1}),
            (7, {"type": "assignment", "incident_id": 2}),
        ],
        ack_within_s=10,
    )
    base = sent[0].seq - 1  # the first number of this Redis life (an epoch from PostgreSQL, in the high bits)
    assert base > 0 and base % 2**32 == 0
    assert [(s.unit_id, s.seq - base) for s in sent] == [(7, 1), (8, 1), (7, 2)]
    assert [orjson.loads(b)["incident_id"] for b in await outbox.after(7, 0)] == [1, 2]
    for s in sent:  # each awaits its acknowledgement
        assert await outbox.ack(s.unit_id, s.id) is not None
