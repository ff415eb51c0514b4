"""Key questions per incident type (types.toml): validated on load, listed with the types; the caller's answers
taken with the call, kept with the incident, shown on it and carried in the crews' brief."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.incidents.types import MAX_QUESTION_LEN, incident_types
from dispatch.push import messages
from tests.builders import make_assignment, make_unit
from tests.test_incident_types import _entry, _load
from tests.test_intake import FIRE, post_call

ANSWERS = [
    {"question": "Is anyone still inside?", "answer": "Grandmother, 2nd floor"},
    {"question": "Which floor is burning?", "answer": "Kitchen, ground floor"},
]


def test_every_packaged_type_has_a_few_short_questions():
    for kind in incident_types():
        assert 2 <= len(kind.questions) <= 5, kind.code
        assert all(q.strip() and len(q) <= MAX_QUESTION_LEN for q in kind.questions), kind.code


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ('"Is anyone hurt?"', "questions must be a list of strings"),
        ("[1, 2]", "questions must be a list of strings"),
        ('["Is anyone hurt?", "  "]', "an empty question"),
        (f'["{"x" * 201}"]', "is over 200 characters"),
        ("[" + ", ".join(f'"Question {n}?"' for n in range(9)) + "]", "9 questions, at most 8"),
        ('["Hurt?", "Hurt?"]', "a question is listed twice"),
    ],
)
def test_the_loader_refuses_bad_questions_and_names_the_type(tmp_path, questions, message):
    with pytest.raises(ValueError, match=f"'NOISE': .*{message}"):
        _load(tmp_path, _entry("NOISE", questions=questions), _entry("UNKNOWN", keywords="[]"))


def test_questions_are_optional_and_kept_in_order(tmp_path):
    table = _load(
        tmp_path, _entry("NOISE", questions='[" Since when? ", "Which flat?"]'), _entry("UNKNOWN", keywords="[]")
    )
    assert table.get("NOISE").questions == ("Since when?", "Which flat?")
    assert table.get("UNKNOWN").questions == ()


async def test_the_type_list_carries_the_questions(client, auth):
    listed = (await client.get("/api/incident-types", headers=await auth(Role.commander))).json()
    fire = next(t for t in listed if t["code"] == "FIRE-STRUCT")
    assert fire["questions"] == list(incident_types().get("FIRE-STRUCT").questions)
    assert all(t["questions"] for t in listed)


async def test_answers_are_kept_shown_and_briefed(client, session, auth, imported_map):
    taker = await auth(Role.call_taker)
    taken = await post_call(client, taker, {**FIRE, "answers": ANSWERS})
    assert taken.status_code == 201, taken.text
    i = taken.json()["id"]
    detail = (await client.get(f"/api/incidents/{i}", headers=taker)).json()
    assert detail["answers"] == ANSWERS
    assert detail["events"][0]["payload"]["answers"] == ANSWERS  # in the log as received
    brief = await messages.brief(session, i)
    assert brief["answers"] == ANSWERS and brief["caller_name"] == "A. Caller"
    # The crew sent to it reads them on the incident and in its current assignment.
    unit = await make_unit(session, call_sign="Engine Answers")
    await make_assignment(
        session, incident_id=i, unit_id=unit, slot="engine", assigned_at=datetime.now(UTC), status="assigned"
    )
    crew = await auth(Role.unit, unit_call_sign="Engine Answers")
    assert (await client.get(f"/api/incidents/{i}", headers=crew)).json()["answers"] == ANSWERS
    assert (await messages.current_assignment(session, unit))["answers"] == ANSWERS
    # A further call about it adds its answers after the first call's; a call without answers keeps [].
    more = [{"question": "Is anyone still inside?", "answer": "No, she is out"}]
    again = await post_call(client, taker, {**FIRE, "duplicate_of": i, "answers": more})
    assert again.status_code == 201, again.text
    stored = await session.scalar(text("SELECT answers FROM incidents WHERE id = :i"), {"i": i})
    assert stored == ANSWERS + more
    plain = (await post_call(client, taker, FIRE)).json()["id"]
    assert (await client.get(f"/api/incidents/{plain}", headers=taker)).json()["answers"] == []
    assert (await messages.brief(session, plain))["answers"] == []


@pytest.mark.parametrize(
    "answers",
    [
        [{"question": "Hurt?", "answer": "no", "by": "me"}],  # extra field
        [{"question": "Hurt?"}],
        [{"question": "", "answer": "no"}],
        [{"question": "x" * 201, "answer": "no"}],
        [{"question": "Hurt?", "answer": "x" * 501}],
        [{"question": "Hurt?", "answer": 3}],
        [{"question": f"Q{n}?", "answer": "a"} for n in range(21)],
        {"question": "Hurt?", "answer": "no"},
        "no",
    ],
)
async def test_bad_answers_get_a_problem_422(client, auth, answers):
    response = await post_call(client, await auth(Role.call_taker), {**FIRE, "answers": answers})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
