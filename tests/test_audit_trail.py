"""Reading the trail: the admins' API (filters, pages, refusals), the `dispatch audit` command (CSV, JSON, exit
status 2 for bad input) and the purge, which keeps what is inside the retention and is recorded itself."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from dispatch.audit import queries
from dispatch.audit.service import Actor, record
from dispatch.auth.models import Role
from dispatch.cli import app as cli
from dispatch.config import get_settings

runner = CliRunner()


async def seed(session, actor: str, n: int = 3) -> None:
    who = Actor(7, actor, "dispatcher", "192.0.2.1")
    for i in range(n):
        await record(session, actor=who, action="incident.note", object_type="incident", object_id=900 + i)
    await record(session, actor=who, action="premise_flag.add", object_type="premise_flag", object_id=5)


async def test_admins_filter_and_page_through_the_trail(client, auth, session):
    await seed(session, "audit-api")
    admin = await auth(Role.admin)
    got = await client.get("/api/audit", params={"actor": "audit-api", "action": "incident.*"}, headers=admin)
    assert got.status_code == 200, got.text
    assert [r["object_id"] for r in got.json()["records"]] == ["902", "901", "900"]  # newest first
    one = await client.get("/api/audit", params={"object": "incident:901"}, headers=admin)
    assert [(r["actor"], r["role"], r["address"]) for r in one.json()["records"]] == [
        ("audit-api", "dispatcher", "192.0.2.1")
    ]
    flags = await client.get("/api/audit", params={"actor": "audit-api", "object": "premise_flag"}, headers=admin)
    assert [r["action"] for r in flags.json()["records"]] == ["premise_flag.add"]
    today = datetime.now(UTC).date()
    period = {"actor": "audit-api", "from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    assert len((await client.get("/api/audit", params=period, headers=admin)).json()["records"]) == 4
    before = {"actor": "audit-api", "to": str(today - timedelta(days=1))}
    assert (await client.get("/api/audit", params=before, headers=admin)).json()["records"] == []
    # Pages: two, then two, then none left.
    page = (await client.get("/api/audit", params={"actor": "audit-api", "limit": 2}, headers=admin)).json()
    rest = await client.get(
        "/api/audit", params={"actor": "audit-api", "limit": 2, "cursor": page["next_cursor"]}, headers=admin
    )
    assert len(page["records"]) == 2 and len(rest.json()["records"]) == 2 and rest.json()["next_cursor"] is None
    assert {r["id"] for r in page["records"]}.isdisjoint(r["id"] for r in rest.json()["records"])
    # Reading the trail is recorded too.
    [read] = (await client.get("/api/audit", params={"action": "audit.read", "limit": 1}, headers=admin)).json()[
        "records"
    ]
    assert read["role"] == "admin" and read["detail"]["actor"] == "audit-api"


@pytest.mark.parametrize(
    "params, words",
    [
        ({"from": "2031-02-30"}, "'from' must be a date"),
        ({"from": "2031-03-02", "to": "2031-03-01"}, "must be after"),
        ({"object": "incident:"}, "'object' is a type or type:id"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_bad_filters_are_422_with_a_message(client, auth, params, words):
    got = await client.get("/api/audit", params=params, headers=await auth(Role.admin))
    assert got.status_code == 422 and words in got.text


async def test_only_admins_read_the_trail(client, auth):
    for role in (Role.dispatcher, Role.commander, Role.call_taker):
        assert (await client.get("/api/audit", headers=await auth(role))).status_code == 403


async def test_the_purge_keeps_what_is_inside_the_retention_and_records_itself(session, imported_map):
    now = datetime.now(UTC)
    for age in (3000, 2556, 2554, 100):
        await session.execute(
            text("""INSERT INTO audit_records (at, actor, role, action, object_type, object_id)
                    VALUES (:at, 'purge-test', 'system', 'x.y', 'x', :age)"""),
            {"at": now - timedelta(days=age), "age": str(age)},
        )
    unit_id = await session.scalar(text("SELECT id FROM units ORDER BY id LIMIT 1"))
    for age in (2556, 2554):
        await session.execute(
            text("""INSERT INTO crew_messages (unit_id, direction, text, at)
                    VALUES (:u, 'from_crew', :age, :at)"""),
            {"u": unit_id, "at": now - timedelta(days=age), "age": f"purge-test {age}"},
        )
    purged = await queries.purge(session, actor=Actor.system("tests"), retention_days=2555, now=now)
    deleted = purged.records
    left = await session.scalars(text("SELECT object_id FROM audit_records WHERE actor = 'purge-test' ORDER BY at"))
    assert deleted >= 2 and list(left) == ["2554", "100"]
    kept = await session.scalars(text("SELECT text FROM crew_messages WHERE text LIKE 'purge-test %'"))
    assert purged.crew_messages >= 1 and list(kept) == ["purge-test 2554"]  # the same cut-off
    purge = (
        (
            await session.execute(
                text("SELECT * FROM audit_records WHERE action = 'audit.purge' ORDER BY id DESC LIMIT 1")
            )
        )
        .mappings()
        .one()
    )
    assert purge["actor"] == "tests" and purge["detail"]["retention_days"] == 2555
    assert purge["detail"]["deleted"] == deleted
    assert purge["detail"]["crew_messages_deleted"] == purged.crew_messages
    with pytest.raises(Exception, match="at least 30 days"):
        await queries.purge(session, actor=Actor.system("tests"), retention_days=29)


# The command reads the database itself: its records must be committed (and stay: the trail keeps them).
@pytest.fixture
def committed(settings, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    name = f"cli-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.libpq_url) as conn:
        for i, age in enumerate((0, 0, 3000)):
            conn.execute(
                """INSERT INTO audit_records (at, actor, role, address, action, object_type, object_id, after)
                   VALUES (now() - make_interval(days => %s), %s, 'dispatcher', '192.0.2.2', 'incident.note',
                           'incident', %s, '{"note": "a, \\"quoted\\" note"}')""",
                (age, name, str(i)),
            )
    yield name
    get_settings.cache_clear()


def test_the_command_writes_csv_and_json(committed, tmp_path):
    out = tmp_path / "trail.json"
    result = runner.invoke(cli, ["audit", "--actor", committed, "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads(out.read_text())
    assert [r["object_id"] for r in records] == ["2", "1", "0"]
    assert records[0]["after"] == {"note": 'a, "quoted" note'} and records[0]["address"] == "192.0.2.2"
    result = runner.invoke(cli, ["audit", "--actor", committed, "--object", "incident:1"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["actor"], r["object_id"], r["role"]) for r in rows] == [(committed, "1", "dispatcher")]
    assert json.loads(rows[0]["after"]) == {"note": 'a, "quoted" note'}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--from", "2031-02-30"], "--from must be a date"),
        (["--from", "2031-03-02", "--to", "2031-03-01"], "must be after"),
        (["--format", "xml"], "xml"),
        (["purge", "--days", "10"], "at least 30 days"),
    ],
)
def test_bad_input_exits_2_with_a_message(committed, args, words):
    result = runner.invoke(cli, ["audit", *args])
    assert result.exit_code == 2
    assert words in " ".join(result.output.split()) and "Traceback" not in result.output


def test_the_purge_command_deletes_only_past_the_retention(committed, settings):
    result = runner.invoke(cli, ["audit", "purge"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(settings.libpq_url) as conn:
        left = [r[0] for r in conn.execute("SELECT object_id FROM audit_records WHERE actor = %s", (committed,))]
        purge = conn.execute(
            "SELECT role, detail FROM audit_records WHERE action = 'audit.purge' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert sorted(left) == ["0", "1"]  # the record of 3,000 days ago is gone, today's stay
    assert purge[0] == "cli" and purge[1]["retention_days"] == 2555 and purge[1]["deleted"] >= 1
