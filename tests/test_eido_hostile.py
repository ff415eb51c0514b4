"""EIDOs that must not become incidents: each answered 422 naming the field, with nothing written; the same EIDO
twice at once makes one incident; and the `dispatch eido` commands, bad input included."""

import asyncio
import copy
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from dispatch.audit.service import Actor
from dispatch.auth.models import Role
from dispatch.cli import app as cli
from dispatch.config import get_settings
from dispatch.eido import importer, validate
from dispatch.incidents.types import incident_types
from tests.builders import free_everything

HANDOVER = json.loads((Path(__file__).parent / "data" / "eido-handover.json").read_text())
runner = CliRunner()


def hostile(change) -> dict:
    doc = copy.deepcopy(HANDOVER)
    change(doc)
    return doc


def _deep(doc: dict) -> None:
    nested: dict = {"value": "x"}
    for _ in range(40):
        nested = {"inner": nested}
    doc["personComponent"][0]["ncPersonComponent"] = nested


def _unknown_ref(doc: dict) -> None:
    doc["callComponent"][0]["locationReference"] = [{"$ref": "urn:nowhere:1"}]


def _huge_note(doc: dict) -> None:
    doc["notesComponent"][1]["notesActionComments"] = "fire! " * 2000


def _twice(doc: dict) -> None:
    doc["notesComponent"][1]["$id"] = doc["notesComponent"][0]["$id"]


def _far(doc: dict) -> None:
    doc["locationComponent"][0]["locationByValue"] = (
        "<presence><gml:Point><gml:pos>40.7128 -74.0060</gml:pos></gml:Point></presence>"
    )


def _position(pos: str):
    """The location's PIDF-LO with a `gml:pos` beside its civic address (which alone would place it)."""

    def change(doc: dict) -> None:
        location = doc["locationComponent"][0]
        point = f"<gml:Point><gml:pos>{pos}</gml:pos></gml:Point>"
        location["locationByValue"] = location["locationByValue"].replace("<civicAddress", point + "<civicAddress")

    return change


def _nothing(doc: dict) -> None:
    """Only the prologue and the agency: no place, type, note or number to call back."""
    keep = {"$id", "lastUpdateTimeStamp", "updatedByAgencyReference", "eidoVersion", "issuingElementIdentification"}
    for key in [k for k in doc if k not in keep | {"agencyComponent"}]:
        doc.pop(key)


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d.update(eidoVersion="2.0"), "eidoVersion"),
        (lambda d: d.pop("eidoVersion"), "eidoVersion"),
        (_deep, "personComponent[0].ncPersonComponent"),
        (_unknown_ref, "callComponent[0].locationReference[0].$ref"),
        (_huge_note, "notesComponent[1].notesActionComments"),
        (_twice, "notesComponent"),
        (lambda d: d["callComponent"][0].pop("callStartTimestamp"), "callComponent[0].callStartTimestamp"),
        (lambda d: d["callComponent"][0].update(direction="sideways"), "callComponent[0].direction"),
        (lambda d: d.update(agencyComponent=[]), "agencyComponent"),
        (lambda d: d.update(lastUpdateTimeStamp="2026-11-30T14:43:49"), "lastUpdateTimeStamp"),  # no offset
        (_far, "locationComponent[0].locationByValue"),
        # A closed incident is not taken over: it would be queued and crews sent to a fire already out.
        (
            lambda d: d["incidentComponent"].update(incidentStatusCommonRegistryText=["Closed"]),
            "incidentComponent.incidentStatusCommonRegistryText",
        ),
        (_nothing, "incidentComponent"),
        (lambda d: d.update(eidoVersion=1.0), "eidoVersion"),
        # The standard's integers and booleans are not read from strings.
        (
            lambda d: d["incidentComponent"].update(incidentCommonPriorityNumber="1"),
            "incidentComponent.incidentCommonPriorityNumber",
        ),
        (
            lambda d: d["agencyComponent"][0].update(incidentOwningAgencyIndicator="true"),
            "agencyComponent[0].incidentOwningAgencyIndicator",
        ),
        # A position that is no point is refused, not dropped for the civic address or the words.
        (_position("abc def"), "locationComponent[0].locationByValue"),
        (_position("47.14"), "locationComponent[0].locationByValue"),
        (_position("95 9.52"), "locationComponent[0].locationByValue"),
        (_position("47.14 9.52 500 1"), "locationComponent[0].locationByValue"),
    ],
)
async def test_a_hostile_or_unsupported_eido_is_422_naming_the_field_and_writes_nothing(
    client, auth, imported_map, session, change, field
):
    dispatcher = await auth(Role.dispatcher)
    # (the audit trail's records of incidents: the token's own use is recorded whatever the request does)
    tables = ("incidents", "calls", "incident_events", "eido_imports", "audit_records WHERE action LIKE 'incident.%'")

    async def counts() -> list[int]:
        return [(await session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in tables]

    before = await counts()
    got = await client.post(
        "/api/eido", content=json.dumps(hostile(change)), headers={**dispatcher, "Content-Type": "application/json"}
    )
    assert got.status_code == 422, got.text
    problem = got.json()
    assert problem["type"] == "/problems/invalid_eido" and problem["field"].startswith(field), problem
    assert await counts() == before


def _many_wrongs(doc: dict) -> None:
    doc["callComponent"][0].update(direction="sideways")
    doc["incidentComponent"]["incidentCommonPriorityNumber"] = "1"
    doc["notesComponent"][1]["notesActionComments"] = "fire! " * 2000
    doc["callComponent"][0]["locationReference"] = [{"$ref": "urn:nowhere:1"}]
    _position("95 9.52")(doc)


async def test_every_error_is_listed_with_its_field_in_the_api_shape_and_nothing_written(
    client, auth, imported_map, session
):
    dispatcher = await auth(Role.dispatcher)
    before = (await session.execute(text("SELECT count(*) FROM eido_imports"))).scalar_one()
    got = await client.post("/api/eido", json=hostile(_many_wrongs), headers=dispatcher)
    assert got.status_code == 422, got.text
    problem = got.json()
    fields = {e["field"]: e for e in problem["errors"]}
    assert set(fields) == {
        "callComponent[0].direction",
        "incidentComponent.incidentCommonPriorityNumber",
        "notesComponent[1].notesActionComments",
        "callComponent[0].locationReference[0].$ref",
        "locationComponent[0].locationByValue",
    }, problem
    # As the API's other 422s list theirs: loc, msg, type (and the path written as one field).
    assert fields["callComponent[0].direction"]["loc"] == ["callComponent", 0, "direction"]
    assert all(e["msg"] and e["type"] for e in problem["errors"])
    assert "latitude 95 is not within -90..90" in fields["locationComponent[0].locationByValue"]["msg"]
    assert problem["field"] == problem["errors"][0]["field"]
    assert all(f in problem["detail"] for f in fields)
    assert (await session.execute(text("SELECT count(*) FROM eido_imports"))).scalar_one() == before


def test_the_list_of_errors_is_bounded():
    def many_notes(doc: dict) -> None:
        note = doc["notesComponent"][1]
        doc["notesComponent"] += [{**note, "$id": f"n{n}", "notesActionComments": ""} for n in range(30)]

    with pytest.raises(validate.InvalidEido) as refused:
        validate.parse(json.dumps(hostile(many_notes)).encode())
    assert len(refused.value.errors) == validate.MAX_ERRORS
    assert str(refused.value).endswith("; and 10 more errors")


async def test_a_version_given_as_a_number_is_told_to_be_the_string(client, auth, imported_map):
    got = await client.post(
        "/api/eido", json=hostile(lambda d: d.update(eidoVersion=1.0)), headers=await auth(Role.dispatcher)
    )
    assert got.status_code == 422
    assert 'must be the string "1.0", not the number 1.0' in got.json()["detail"]


async def test_not_json_nesting_past_any_parser_and_too_large_are_refused(client, auth, imported_map, settings):
    dispatcher = await auth(Role.dispatcher)
    bad = await client.post("/api/eido", content=b"{not json", headers=dispatcher)
    assert bad.status_code == 422 and bad.json()["field"] == "(document)"
    deepest = b'{"eidoVersion": "1.0", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    refused = await client.post("/api/eido", content=deepest, headers=dispatcher)
    assert refused.status_code == 422 and refused.json()["field"] == "(document)"
    big = hostile(lambda d: d.update(issuingElementIdentification="x" * (4 * 1024 * 1024)))
    assert (await client.post("/api/eido", json=big, headers=dispatcher)).status_code == 413


async def test_an_eido_larger_than_other_requests_is_taken(client, auth, imported_map, settings):
    """An incident with many notes exports past the 64 KiB other requests may send: it must come back in."""

    def many_notes(doc: dict) -> None:
        note = doc["notesComponent"][1]
        doc["notesComponent"] += [
            {**note, "$id": f"{note['$id']}-{n}", "notesActionComments": f"update {n}: " + "smoke, " * 400}
            for n in range(30)
        ]
        doc["$id"] = f"urn:emergency:uid:incidentid:{uuid.uuid4().hex}:ecc.neighbour.example"

    doc = hostile(many_notes)
    assert len(json.dumps(doc)) > settings.max_body_bytes
    got = await client.post("/api/eido", json=doc, headers=await auth(Role.dispatcher))
    assert got.status_code == 201, got.text


async def test_the_same_eido_posted_twice_at_once_makes_one_incident(engine, settings, geocoder):
    eido_id = f"urn:emergency:uid:incidentid:{uuid.uuid4().hex}:ecc.neighbour.example"
    document = {**HANDOVER, "$id": eido_id}
    eido = validate.parse(json.dumps(document).encode())

    async def post() -> importer.Imported:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await importer.import_eido(
                session,
                eido,
                document=document,
                by=Actor.system("tests"),
                user_id=None,
                geocoder=geocoder,
                types=incident_types(),
                settings=settings,
            )

    try:
        done = await asyncio.gather(post(), post())
        assert done[0].incident_id == done[1].incident_id
        assert sorted(d.replayed for d in done) == [False, True]
        async with engine.connect() as conn:
            made = await conn.execute(
                text("SELECT count(*) FROM eido_imports e JOIN calls c USING (incident_id) WHERE e.eido_id = :e"),
                {"e": eido_id},
            )
            assert made.scalar_one() == 1
    finally:
        await free_everything(engine)  # the committed incident leaves no open work for other tests


@pytest.fixture
def commands(settings, monkeypatch):
    """The commands read and write the test database itself: what they write is committed."""
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_the_commands_import_and_export(commands, tmp_path, engine, imported_map):
    source = tmp_path / "in.json"
    source.write_text(json.dumps({**HANDOVER, "$id": f"urn:emergency:uid:incidentid:{uuid.uuid4().hex}:cli"}))
    try:
        result = await asyncio.to_thread(runner.invoke, cli, ["eido", "import", str(source)])
        assert result.exit_code == 0, result.output
        incident_id = json.loads(result.stdout.strip().splitlines()[-1])["incident_id"]
        again = await asyncio.to_thread(runner.invoke, cli, ["eido", "import", str(source)])
        assert again.exit_code == 0 and json.loads(again.stdout.strip().splitlines()[-1])["replayed"] is True
        out = tmp_path / "out.json"
        exported = await asyncio.to_thread(runner.invoke, cli, ["eido", "export", str(incident_id), "--out", str(out)])
        assert exported.exit_code == 0, exported.output
        doc = json.loads(out.read_text())
        assert doc["incidentComponent"]["incidentTypeInternalCode"] == "FIRE-STRUCT"
        assert doc["callbackComponent"][0]["callBackInformationUri"] == ["tel:+41791234567"]
        quiet = await asyncio.to_thread(runner.invoke, cli, ["eido", "export", str(incident_id), "--no-personal"])
        assert quiet.exit_code == 0 and "Hans Nachbar" not in quiet.stdout and "41791234567" not in quiet.stdout
    finally:
        await free_everything(engine)


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        (json.dumps({**HANDOVER, "eidoVersion": "0.9"}), "eidoVersion"),
        (json.dumps(hostile(_unknown_ref)), "callComponent[0].locationReference[0].$ref"),
    ],
)
def test_bad_input_to_the_commands_exits_2_with_a_message(commands, tmp_path, content, words):
    source = tmp_path / "in.json"
    if content is not None:
        source.write_text(content)
    result = runner.invoke(cli, ["eido", "import", str(source)])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split()) and "Traceback" not in result.output
    missing = runner.invoke(cli, ["eido", "export", "12345678901", "--out", str(tmp_path / "nowhere" / "x.json")])
    assert missing.exit_code == 2 and "no such directory" in missing.output
    folder = runner.invoke(cli, ["eido", "import", str(tmp_path)])
    assert folder.exit_code == 2 and "a directory; give one EIDO file" in " ".join(folder.output.split())
