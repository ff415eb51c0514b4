"""GET /api/incidents/search: open and closed incidents found by words, number, caller or filters, newest first, a
page at a time; each search recorded in the audit trail; bad values refused with 422, other roles with 403."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from tests.builders import make_assignment, make_incident, make_unit
from tests.test_intake import FIRE, post_call

SEARCH = "/api/incidents/search"


@pytest.fixture
async def floor(auth, imported_map):
    return await auth(Role.call_taker), await auth(Role.dispatcher)


async def ids(client, headers, **params) -> list[int]:
    response = await client.get(SEARCH, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_open_and_closed_incidents_are_found_by_words_number_and_caller(client, session, auth, floor):
    taker, dispatcher = floor
    # Other tests leave committed incidents behind (at the same address): the place and type searches look
    # only at what this test took.
    recent = {"from": datetime.now(UTC).isoformat()}
    caller = {"caller_name": "Quentin Zyxwell", "caller_number": "+423 798 46 13"}
    closed = (await post_call(client, taker, {**FIRE, **caller, "narrative": "quokka on the roof, smoke"})).json()
    still_open = (await post_call(client, taker, {**FIRE, "narrative": "Quokka again, more smoke"})).json()
    a, b = closed["id"], still_open["id"]
    engine = await make_unit(session, call_sign="Engine Zulu")
    await make_assignment(session, incident_id=a, unit_id=engine, slot="engine", assigned_at=datetime.now(UTC))
    done = await client.post(f"/api/incidents/{a}/close", headers=dispatcher, json={"disposition": "false_alarm"})
    assert done.status_code == 200, done.text

    assert await ids(client, taker, q="QUOKKA") == [b, a]  # any case, newest first
    assert await ids(client, taker, q="quokka", status="open") == [b]
    found = (await client.get(SEARCH, headers=dispatcher, params={"q": "quokka", "status": "closed"})).json()
    assert [i["id"] for i in found["items"]] == [a] and found["next_cursor"] is None
    item = found["items"][0]
    assert item["status"] == "closed" and item["disposition"] == "false_alarm" and item["closed_at"]
    assert item["caller_number"] == "+4237984613" and item["caller_name"] == "Quentin Zyxwell"
    assert item["units"] == ["Engine Zulu"]
    assert item["type_code"] == "FIRE-STRUCT" and item["type_name"] == "Structure fire" and item["priority"] == 1
    assert item["address_label"] == closed["location"]["label"]
    # The caller by name, and by the digits of the number however they are written.
    for q in ("zyxwell", "798 46 13", "+4237984613", "984613"):
        assert await ids(client, taker, q=q) == [a], q
    # An incident number: "#n" only that incident; "n" that incident among others that hold the digits.
    assert await ids(client, taker, q=f"#{a}") == [a]
    assert a in await ids(client, taker, q=str(a))
    # The place, the type by name or code, and the filters.
    assert await ids(client, taker, q="Städtle", **recent) == [b, a]
    assert await ids(client, taker, q="structure fire", **recent) == [b, a]
    assert await ids(client, taker, q="fire-struct", status="closed", **recent) == [a]
    assert await ids(client, taker, type="fire-struct", priority=1, **recent) == [b, a]
    assert await ids(client, taker, type="NOISE", **recent) == []
    assert await ids(client, taker, q="quokka", to=(datetime.now(UTC) - timedelta(hours=1)).isoformat()) == []
    # A commander searches too; a pattern character is taken literally.
    commander = await auth(Role.commander)
    assert await ids(client, commander, q="quokka", **recent) == [b, a]
    assert await ids(client, commander, q="quokka%") == []


async def test_each_search_is_recorded_once_with_what_it_showed(client, session, auth, imported_map):
    commander = await auth(Role.commander)
    taker = await auth(Role.call_taker)
    i = (await post_call(client, taker, {**FIRE, "narrative": "wombat behind the shed"})).json()["id"]
    before = await session.scalar(text("SELECT coalesce(max(id), 0) FROM audit_records"))
    response = await client.get(SEARCH, headers=commander, params={"q": "wombat", "status": "open", "limit": 10})
    assert response.status_code == 200 and [x["id"] for x in response.json()["items"]] == [i]
    records = (
        (
            await session.execute(
                text("SELECT * FROM audit_records WHERE id > :b AND action <> 'token.use' ORDER BY id"), {"b": before}
            )
        )
        .mappings()
        .all()
    )
    assert [(r["action"], r["role"], r["object_type"]) for r in records] == [
        ("incident.search", "commander", "incident")
    ]
    detail = records[0]["detail"]
    assert detail["q"] == "wombat" and detail["status"] == "open" and detail["rows"] == 1 and detail["ids"] == [i]


async def test_pages_follow_the_cursor_newest_first(client, session, floor):
    taker, _ = floor
    base = datetime(2020, 3, 1, 12, tzinfo=UTC)
    made = [await make_incident(session, received_at=base + timedelta(hours=h), status="closed") for h in range(4)]
    twin = await make_incident(session, received_at=base + timedelta(hours=3), status="closed")  # same time
    window = {"from": "2020-03-01", "to": "2020-03-01", "limit": 2}  # one local day, both ends included
    expected = [twin, made[3], made[2], made[1], made[0]]
    seen, cursor, pages = [], None, 0
    while True:
        params = {**window, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(SEARCH, headers=taker, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 3
    assert await ids(client, taker, **{**window, "limit": 50}) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"status": "shut"},
        {"priority": "5"},
        {"priority": "one"},
        {"limit": "0"},
        {"limit": "201"},
        {"from": "yesterday"},
        {"to": "9999-12-31"},  # the day after it is beyond the calendar
        {"from": "0001-01-01T00:00+05:00"},
        {"from": "2026-02-02", "to": "2026-02-01"},
        {"type": "NO-SUCH-TYPE"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WzEsMl0"},  # [1,2]: well-formed JSON, not a cursor
        {"q": "x" * 201},
    ],
)
async def test_bad_values_get_a_problem_422(client, floor, params):
    taker, _ = floor
    response = await client.get(SEARCH, headers=taker, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_only_the_floor_searches(client, session, auth, imported_map):
    unit = await make_unit(session, call_sign="Medic Search 1", kind="ambulance")
    crew = await auth(Role.unit, unit_call_sign="Medic Search 1")
    assert unit and (await client.get(SEARCH, headers=crew, params={"q": "x"})).status_code == 403
    assert (await client.get(SEARCH, params={"q": "x"})).status_code == 401


async def test_words_found_in_different_places_page_together_newest_first(client, session, floor):
    taker, _ = floor
    base = datetime(2020, 4, 1, 8, tzinfo=UTC)
    made = [await make_incident(session, received_at=base + timedelta(hours=h), status="closed") for h in range(5)]
    where = [
        ("UPDATE incidents SET narrative = 'an ocelot on the balcony' WHERE id = :i", made[0]),
        ("UPDATE calls SET caller_name = 'Olga Ocelotti' WHERE incident_id = :i", made[1]),
        ("UPDATE incidents SET address_label = 'Ocelotweg 4' WHERE id = :i", made[3]),
        ("UPDATE calls SET caller_number = '+4235550199' WHERE incident_id = :i", made[4]),
    ]
    for statement, incident in where:
        await session.execute(text(statement), {"i": incident})
    window = {"from": "2020-04-01", "to": "2020-04-01"}
    seen, cursor = [], None
    for _ in range(5):
        params = {**window, "q": "OCELOT", "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(SEARCH, headers=taker, params=params)).json()
        seen += [item["id"] for item in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [made[3], made[1], made[0]]
    # Digits typed with spaces find the number as intake stores it (digits and a leading +).
    assert await ids(client, taker, q="555 01 99", **window) == [made[4]]


def test_a_date_beyond_the_calendar_is_refused_by_the_audit_trail_too():
    """The audit trail's filters and the search share one parser: 9999-12-31 is a 422's message, not a 500."""
    from dispatch.audit.queries import parse_filters
    from dispatch.errors import InvalidInput

    with pytest.raises(InvalidInput, match="'to' must be a date"):
        parse_filters(end="9999-12-31")
