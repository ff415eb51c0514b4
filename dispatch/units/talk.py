"""A dispatcher's text to a unit's crew: audited and kept in the conversation (crew_messages) in the request's
transaction, then, once stored, put in the unit's outbox like every instruction (numbered, acknowledged, resent
until it is) and shown to the consoles."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.aftercommit import AfterCommit
from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.auth.models import User
from dispatch.auth.service import Principal
from dispatch.errors import NotFound
from dispatch.push.outbox import Outbox
from dispatch.queue.keeper import QueueKeeper
from dispatch.units.conversation import record_to_crew
from dispatch.units.models import Unit


async def message_crew(
    session: AsyncSession,
    *,
    unit_id: int,
    text: str,
    who: Principal,
    by: Actor,
    after_commit: AfterCommit,
    outbox: Outbox,
    keeper: QueueKeeper,
) -> dict[str, Any]:
    if await session.get(Unit, unit_id) is None:
        raise NotFound(f"no unit {unit_id}")
    user = await session.get(User, who.user_id)
    sender = (user.display_name if user is not None else None) or who.username
    # The id is the message's from the start: the audit names it, and a resend or a retried push keeps it.
    message_id = uuid.uuid4().hex
    await audit.record(
        session,
        actor=by,
        action="unit.message",
        object_type="unit",
        object_id=unit_id,
        after={"id": message_id, "text": text, "from": sender},
    )
    await record_to_crew(
        session, unit_id=unit_id, text_=text, author_id=who.user_id, author=sender, message_id=message_id
    )

    async def deliver() -> None:
        await outbox.send(unit_id, {"type": "message", "text": text, "from": sender}, message_id=message_id)
        await keeper.publish(
            {
                "type": "unit.message.sent",
                "unit_id": unit_id,
                "id": message_id,
                "text": text,
                "from": sender,
            }
        )

    after_commit.then(session, deliver)
    return {"unit_id": unit_id, "id": message_id, "from": sender, "text": text}
