"""Incidents out and in as NENA EIDO over the API: what an export holds and who reads what of it, imports of
other centres' EIDOs (once per $id, through intake), and the round trip export, import, export."""

import copy
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from dispatch.auth.models import Role
from dispatch.eido import pidf
from dispatch.eido.schema import Eido
from dispatch.queue.service import IncidentQueue
from tests.builders import make_assignment, make_unit

DATA = Path(__file__).parent / "data"
HANDOVER = json.loads((DATA / "eido-handover.json").read_text())
CALL_TRANSFER = json.loads((DATA / "eido-call-transfer.json").read_text())
FIRE = {
    "channel": "phone",
    "caller_name": "Anna Beispiel",
    "caller_number": "+423 791 11 11",
    "location_text": "Städtle 23, Vaduz",
    "type_code": "FIRE-STRUCT",
    "narrative": "Rauch aus dem Dach",
}


@pytest.fixture
async def dispatcher(auth, imported_map):
    return await auth(Role.dispatcher)


async def take(client, headers, body=FIRE) -> int:
    response = await client.post("/api/calls", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def count(session, sql: str, **params) -> int:
    return (await session.execute(text(sql), params)).scalar_one()


async def test_an_export_holds_calls_place_type_notes_cautions_units_and_is_an_eido(client, dispatcher, session):
    flag = await client.post(
        "/api/premise-flags",
        headers=dispatcher,
        json={"category": "hazard", "description": "propane tanks in the yard", "location_text": "Städtle 23, Vaduz"},
    )
    assert flag.status_code == 201, flag.text
    incident_id = await take(client, dispatcher)
    noted = await client.post(
        f"/api/incidents/{incident_id}/notes", json={"text": "gate code 1234"}, headers=dispatcher
    )
    assert noted.status_code == 201
    unit_id = await make_unit(session, call_sign="EIDO Engine 1", kind="engine")
    sent = datetime.now(UTC) - timedelta(minutes=5)
    await make_assignment(
        session,
        incident_id=incident_id,
        unit_id=unit_id,
        slot="engine",
        assigned_at=sent,
        status="en_route",
        acknowledged_at=sent + timedelta(seconds=20),
        en_route_at=sent + timedelta(seconds=60),
        eta_s=420.0,
    )

    got = await client.get(f"/api/incidents/{incident_id}/eido", headers=dispatcher)
    assert got.status_code == 200, got.text
    doc = got.json()
    Eido.model_validate(doc)  # the schema the import reads
    assert doc["eidoVersion"] == "1.0" and doc["$id"].startswith(f"urn:emergency:uid:incidentid:{incident_id}:")
    incident = doc["incidentComponent"]
    assert incident["incidentTypeInternalCode"] == "FIRE-STRUCT"
    assert incident["incidentTypeCommonRegistryText"] == "FSTRU"  # APCO ANS 2.103 (types.toml)
    assert incident["incidentCommonPriorityNumber"] == 1
    [location] = doc["locationComponent"]
    assert location["locationDescriptionText"].startswith("Städtle 23")
    place = pidf.read(location["locationByValue"])
    assert place.lat and place.lon and place.method == "address" and place.confidence >= 0.9
    [call] = doc["callComponent"]
    [callback] = doc["callbackComponent"]
    assert callback["callBackInformationUri"] == ["tel:+4237911111"]
    assert call["callBackReference"] == {"$ref": callback["$id"]}
    assert doc["personComponent"][0]["ncPersonComponent"]["name"][0]["personFullName"][0]["value"] == "Anna Beispiel"
    notes = {n["notesActionComments"]: n for n in doc["notesComponent"]}
    assert {"Rauch aus dem Dach", "gate code 1234", "propane tanks in the yard"} <= set(notes)
    [caution] = doc["cautionComponent"]
    assert caution["cautionTypeInternalText"] == "hazard" and caution["cautionSeverity"] == "high"
    assert notes["propane tanks in the yard"]["cautionReference"] == [{"$ref": caution["$id"]}]
    [unit] = doc["emergencyResourceComponent"]
    assert unit["emergencyResourceName"] == "EIDO Engine 1"
    assert unit["primaryUnitStatusRegistryText"] == "NotAvailable"
    assert unit["secondaryUnitStatusRegistryText"] == ["EnRoute"]
    assert [s.split()[0] for s in unit["unitStatusInternal"]] == ["Dispatched", "AcknowledgedTransmission", "EnRoute"]
    assert abs(datetime.fromisoformat(unit["eta"]) - (sent + timedelta(seconds=420))) < timedelta(milliseconds=2)
    assert unit["activeOnIncidentId"] == doc["$id"]
    # The read of the caller's data is in the audit trail, once.
    assert (
        await count(
            session,
            "SELECT count(*) FROM audit_records WHERE action = 'incident.eido_export' AND object_id = :i",
            i=str(incident_id),
        )
        == 1
    )


async def test_a_closed_incident_carries_its_disposition(client, dispatcher):
    incident_id = await take(client, dispatcher, {**FIRE, "type_code": "FIRE-ALARM"})
    closed = await client.post(
        f"/api/incidents/{incident_id}/close", json={"disposition": "false_alarm"}, headers=dispatcher
    )
    assert closed.status_code == 200, closed.text
    doc = (await client.get(f"/api/incidents/{incident_id}/eido", headers=dispatcher)).json()
    incident = doc["incidentComponent"]
    assert incident["incidentStatusCommonRegistryText"] == ["Closed"]
    assert incident["incidentTypeCommonRegistryText"] == "ALRF"
    [disposition] = incident["dispositionComponent"]
    assert (
        disposition["dispositionCommonRegistryCode"] == "17" and disposition["dispositionCategoryText"] == "false_alarm"
    )


async def test_callers_only_when_asked_for_and_audited_and_units_cannot_export(client, auth, dispatcher, session):
    """A commander reads callers on the incident itself, so in its EIDO too (audited); `personal=false` leaves
    them out and records no read."""
    incident_id = await take(client, dispatcher)
    commander = await auth(Role.commander)
    exports = "SELECT count(*) FROM audit_records WHERE action = 'incident.eido_export' AND object_id = :i"
    doc = (await client.get(f"/api/incidents/{incident_id}/eido?personal=false", headers=commander)).json()
    assert "callbackComponent" not in doc and "personComponent" not in doc
    assert "callBackReference" not in doc["callComponent"][0] and "Anna" not in json.dumps(doc)
    assert await count(session, exports, i=str(incident_id)) == 0
    doc = (await client.get(f"/api/incidents/{incident_id}/eido", headers=commander)).json()
    assert "Anna" in json.dumps(doc) and doc["callbackComponent"]
    assert await count(session, exports, i=str(incident_id)) == 1
    unit_id = await make_unit(session, call_sign="EIDO Crew 1", kind="ambulance")
    unit = await auth(Role.unit, unit_call_sign="EIDO Crew 1")
    assert unit_id
    assert (await client.get(f"/api/incidents/{incident_id}/eido", headers=unit)).status_code == 403
    assert (await client.post("/api/eido", json=HANDOVER, headers=unit)).status_code == 403
    assert (await client.get(f"/api/incidents/{incident_id}/eido")).status_code == 401
    assert (await client.post("/api/eido", json=HANDOVER, headers=commander)).status_code == 403
    assert (await client.get("/api/incidents/999999999/eido", headers=dispatcher)).status_code == 404


async def test_another_centres_eido_becomes_a_queued_incident_once(client, dispatcher, session, redis, settings):
    got = await client.post("/api/eido", json=HANDOVER, headers=dispatcher)
    assert got.status_code == 201, got.text
    body = got.json()
    incident_id = body["incident_id"]
    assert body["agency"] == "ecc.neighbour.example" and not body["replayed"]
    assert body["type_code"] == "FIRE-STRUCT" and body["priority"] == 1  # by its APCO type, FSTRU
    assert body["location"]["label"].startswith("Städtle 23") and not body["location"]["needs_location"]
    queued = await IncidentQueue(redis, prefix=settings.key_prefix).snapshot()
    assert [e.incident_id for e in queued] == [incident_id]
    detail = (await client.get(f"/api/incidents/{incident_id}", headers=dispatcher)).json()
    assert detail["narrative"] == "Rauch aus dem Dachstock, Bewohner sind draussen"
    assert detail["caller"]["caller_name"] == "Hans Nachbar" and detail["caller"]["callback_number"] == "+41791234567"
    said = [e["text"] for e in detail["events"]]
    assert any("Our TLF 1 is on its way from Buchs" in s for s in said)  # the HTML's words, not its tags
    assert any("caution (hazard, high): Gas cylinders stored in the garage" in s for s in said)
    assert any("received as EIDO urn:emergency:uid:incidentid:4711:ecc.neighbour.example" in s for s in said)
    # The same EIDO again (a retry, or sent twice): the same incident, nothing new.
    again = await client.post("/api/eido", json=HANDOVER, headers=dispatcher)
    assert again.status_code == 200 and again.json() == {
        "incident_id": incident_id,
        "eido_id": HANDOVER["$id"],
        "agency": "ecc.neighbour.example",
        "replayed": True,
    }
    assert await count(session, "SELECT count(*) FROM eido_imports WHERE eido_id = :e", e=HANDOVER["$id"]) == 1
    assert await count(session, "SELECT count(*) FROM calls WHERE incident_id = :i", i=incident_id) == 1
    # It leaves again naming the EIDO it came as, and the centre it came from.
    out = (await client.get(f"/api/incidents/{incident_id}/eido", headers=dispatcher)).json()
    [link] = out["linkComponent"]
    assert link["incidentTrackingIdentifier"] == HANDOVER["$id"] and link["linkDirectionCode"] == "RELATED"
    assert "ecc.neighbour.example" in {a["$id"] for a in out["agencyComponent"]}


async def test_a_call_transfer_shaped_like_nenas_sample_imports(client, dispatcher, session):
    got = await client.post("/api/eido", json=CALL_TRANSFER, headers=dispatcher)
    assert got.status_code == 201, got.text
    body = got.json()
    assert body["agency"] == "psap.region.example"
    assert body["type_code"] == "UNKNOWN"  # no incident component: a call-taker classifies it
    assert body["location"]["municipality"] == "Schaan"  # the civic address by value, geocoded here
    stored = (
        await session.execute(
            text("SELECT callback_number, caller_name FROM calls WHERE incident_id = :i"), {"i": body["incident_id"]}
        )
    ).one()
    assert tuple(stored) == ("+4237912345", None)
    kept = await count(
        session,
        "SELECT count(*) FROM eido_imports WHERE incident_id = :i AND document ? 'additionalDataComponent'",
        i=body["incident_id"],
    )
    assert kept == 1  # the EIDO is kept whole, what intake does not read included


def _same_up_to_identifiers(doc: dict) -> dict:
    """The export without what names or times this export (ids, references, update times), without what an import
    adds (its link to the EIDO it came as, and the note saying so)."""
    doc = copy.deepcopy(doc)
    received = {n["$id"] for n in doc.get("notesComponent", []) if "received as EIDO" in n["notesActionComments"]}
    doc.pop("linkComponent", None)
    doc["notesComponent"] = [n for n in doc.get("notesComponent", []) if n["$id"] not in received]
    incident = doc["incidentComponent"]
    incident["notesReference"] = [r for r in incident["notesReference"] if r["$ref"] not in received]

    def strip(value):
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k
                not in (
                    "$id",
                    "$ref",
                    "lastUpdateTimeStamp",
                    "callStartTimestamp",
                    "internalIncidentId",
                    "callIdentifier",
                )
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        if isinstance(value, str):
            return re.sub(r'entity="[^"]*"', "", value)
        return value

    return strip(doc)


async def test_export_import_export_is_the_same_up_to_identifiers(client, dispatcher):
    incident_id = await take(client, dispatcher)
    await client.post(f"/api/incidents/{incident_id}/notes", json={"text": "second caller: flames"}, headers=dispatcher)
    first = (await client.get(f"/api/incidents/{incident_id}/eido", headers=dispatcher)).json()
    imported = await client.post("/api/eido", json=first, headers=dispatcher)
    assert imported.status_code == 201, imported.text
    again = imported.json()["incident_id"]
    assert again != incident_id
    second = (await client.get(f"/api/incidents/{again}/eido", headers=dispatcher)).json()
    assert second["linkComponent"][0]["incidentTrackingIdentifier"] == first["$id"]
    assert _same_up_to_identifiers(second) == _same_up_to_identifiers(first)


async def test_last_update_is_when_the_incident_last_changed_not_the_export(client, dispatcher, session):
    incident_id = await take(client, dispatcher)
    # A note logged a minute after the call (written here with its time: the test is one transaction, whose
    # now() is the same throughout), and the export read now, before it.
    received = await session.scalar(text("SELECT received_at FROM incidents WHERE id = :i"), {"i": incident_id})
    noted = received + timedelta(minutes=1)
    await session.execute(
        text("""INSERT INTO incident_events (incident_id, kind, actor, payload, at)
                VALUES (:i, 'note', 'tests', '{"text": "smoke thinning"}', :at)"""),
        {"i": incident_id, "at": noted},
    )

    async def stamps() -> set[datetime]:
        doc = (await client.get(f"/api/incidents/{incident_id}/eido", headers=dispatcher)).json()
        parts = (doc, doc["incidentComponent"], doc["agencyComponent"][0])
        return {datetime.fromisoformat(p["lastUpdateTimeStamp"]) for p in parts}

    def ms(at: datetime) -> datetime:  # (EIDOs write times to the millisecond)
        return at.replace(microsecond=at.microsecond // 1000 * 1000)

    assert await stamps() == {ms(noted)}
    # A unit's stage is a change of the incident too.
    unit_id = await make_unit(session, call_sign="EIDO Engine 9", kind="engine")
    sent = noted + timedelta(minutes=1)
    await make_assignment(
        session, incident_id=incident_id, unit_id=unit_id, slot="engine", assigned_at=sent, status="en_route",
        en_route_at=sent + timedelta(minutes=2),
    )  # fmt: skip
    assert await stamps() == {ms(sent + timedelta(minutes=2))}
