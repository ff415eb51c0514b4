"""Group commit: the calls taken at the same moment share one transaction and one commit; each is answered only
once that commit has returned, and a statement that fails fails alone."""

import asyncio
import secrets

import asyncpg
import pytest
from httpx import AsyncClient
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.db import make_sessionmaker
from dispatch.groupcommit import GroupWriter
from tests.builders import free_everything, make_user_with_token
from tests.test_intake import FIRE
from tests.test_push import bearer, serve  # noqa: F401 (fixture)


@pytest.fixture
async def probe(engine):
    """A table of its own, committed, for what the writer stores."""
    name = f"group_commit_probe_{secrets.token_hex(4)}"
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY)"))
    yield name
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP TABLE {name}"))


async def test_statements_queued_together_share_one_transaction_and_are_answered_after_its_commit(engine, probe):
    writer = GroupWriter(engine, writers=1)
    insert = f"INSERT INTO {probe} VALUES ($1) RETURNING id, txid_current()"
    async with engine.connect() as other:
        one_at_a_time = asyncio.Lock()

        async def one(n: int):
            row = await writer.fetchrow(insert, n)
            async with one_at_a_time:  # answered: another connection sees it (committed, not merely written)
                seen = await other.scalar(text(f"SELECT count(*) FROM {probe} WHERE id = :n"), {"n": n})
                await other.rollback()
            return row, seen

        answers = await asyncio.gather(*(one(n) for n in range(20)))
    assert [row["id"] for row, _ in answers] == list(range(20))
    assert all(seen == 1 for _, seen in answers)
    assert len({row["txid_current"] for row, _ in answers}) == 1  # one transaction
    assert (writer.commits, writer.written) == (1, 20)


async def test_a_failing_statement_fails_alone_and_the_others_are_stored(engine, probe):
    writer = GroupWriter(engine, writers=1)
    insert = f"INSERT INTO {probe} VALUES (10 / $1) RETURNING id"
    answers = await asyncio.gather(*(writer.fetchrow(insert, n) for n in (1, 2, 0, 5)), return_exceptions=True)
    assert isinstance(answers[2], asyncpg.DivisionByZeroError)
    assert [a["id"] for i, a in enumerate(answers) if i != 2] == [10, 5, 2]
    async with engine.connect() as conn:
        stored = (await conn.execute(text(f"SELECT id FROM {probe} ORDER BY id"))).scalars().all()
    assert stored == [2, 5, 10]


async def test_concurrent_calls_share_commits_and_a_key_sent_twice_makes_one_call(
    serve,  # noqa: F811
    settings,
    engine,
    imported_map,
):
    app, addr = await serve(matcher=False)
    try:
        await _concurrent_calls(app, addr, settings, engine)
    finally:
        await free_everything(engine)  # the committed calls leave no open work for the worker's other tests


async def _concurrent_calls(app, addr, settings, engine) -> None:
    async with make_sessionmaker(engine)() as session:
        _, token = await make_user_with_token(session, settings, role=Role.call_taker)
        await session.commit()
    writer = app.state.services.calls_writer
    key = f"group-{secrets.token_hex(4)}"
    async with AsyncClient(base_url=f"http://{addr}", headers=bearer(token)) as client:
        assert (await client.get("/api/me")).status_code == 200  # the token read once: the calls touch only the writer
        before = (writer.commits, writer.written)
        bodies = [{**FIRE, "narrative": f"group commit {n}"} for n in range(16)]
        replies = await asyncio.gather(
            *(client.post("/api/calls", json=b) for b in bodies),
            *(client.post("/api/calls", json=FIRE, headers={"Idempotency-Key": key}) for _ in range(2)),
        )
    assert [r.status_code for r in replies[:16]] == [201] * 16, [r.text for r in replies]
    commits, written = writer.commits - before[0], writer.written - before[1]
    assert written >= 17 and commits < written  # some calls shared a commit
    # The key's second request is answered with the first's call (in the same batch, or after its commit), or,
    # written at the same moment by the other writer, told to retry: never a second call.
    keyed = replies[16:]
    assert sorted(r.status_code for r in keyed) in ([201, 201], [201, 409])
    assert len({r.json()["id"] for r in keyed if r.status_code == 201}) == 1
    async with engine.connect() as conn:
        ids = [r.json()["id"] for r in replies[:16]]
        stored = await conn.scalar(text("SELECT count(*) FROM incidents WHERE id = ANY(:ids)"), {"ids": ids})
        keyed = await conn.scalar(text("SELECT count(*) FROM calls WHERE idempotency_key = :k"), {"k": key})
    assert stored == 16 and keyed == 1
