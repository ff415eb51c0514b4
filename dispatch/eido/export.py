"""An incident of this centre as an EIDO: its calls, place, type, priority, notes, premise cautions, the units
sent with their stages and ETAs, and how it ended.

The caller's name and numbers are personal data: they are written only when `personal` is asked for (the route
asks for it for the roles that read callers on the floor), and that read is recorded in the audit trail, once.
The document is checked against the EIDO schema before it leaves (dispatch.eido.schema), so what is sent is
what an import here, or elsewhere, accepts.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.config import Settings
from dispatch.eido import pidf
from dispatch.eido import repository as repo
from dispatch.eido.schema import EIDO_VERSION, Eido, as_of
from dispatch.errors import NotFound
from dispatch.incidents import repository as incidents
from dispatch.incidents.types import IncidentTypes
from dispatch.statuses import ACTIVE_ASSIGNMENT, FREE_UNIT, OPEN_INCIDENT

# The APCO common incident type of a type with none of its own (types.toml `apco`): "Unknown Type Trouble".
NO_COMMON_TYPE = "TROUBLE"
# Dispositions (incidents.schemas.CloseIn) as the EIDO's Common Disposition Codes (APCO ANS 1.111.2).
DISPOSITIONS = {
    "treated": "43",  # Patient Treated, Released (Without Transport)
    "transported": "45",  # Patient Treated, Transported by EMS
    "resolved": "18",  # Assignment Completed/Settled By Contact
    "no_action": "02",  # No Report Taken
    "false_alarm": "17",  # False Alarm
    "referred": "15",  # Referred to partner agency
    "unfounded": "13",  # Information/Administrative
    "gone_on_arrival": "14",  # Gone On Arrival/Unable To Locate
    "other": "13",
    "cancelled": "10",  # Event Cancelled
}
# Unit kinds (units.kinds.UnitKind) as the Emergency Resource Type-Common registry names them.
RESOURCE_TYPES = {
    "engine": "StructureFireEngineType1",
    "ladder": "FireTruckLadder",
    "rescue": "HeavyRescue",
    "tanker": "FireWaterTender",
    "ambulance": "GroundALSAmbulance",
    "patrol": "PatrolUnit",
}
# An assignment's stages, in order, as the Secondary Unit Status-Common registry names them.
STAGES = (
    ("assigned_at", "Dispatched"),
    ("acknowledged_at", "AcknowledgedTransmission"),
    ("en_route_at", "EnRoute"),
    ("on_scene_at", "OnScene"),
    ("transporting_at", "Transporting"),
    ("at_hospital_at", "Hospital"),
    ("cleared_at", "Cleared"),
    ("cancelled_at", "AssignmentCancelled"),
)
CAUTION_TYPES = {"hazard": "Hazard", "special_needs": "SpecialNeeds", "access": "Access", "info": "Information"}


def tracking_id(incident_id: int, agency: str) -> str:
    """The incident's globally unique id, in the form NENA's incident tracking identifiers take."""
    return f"urn:emergency:uid:incidentid:{incident_id}:{agency}"


class _Builder:
    def __init__(self, agency: str, changed_at: datetime) -> None:
        self.agency, self.changed_at = agency, changed_at

    def id(self, kind: str, key: Any) -> str:
        return f"urn:dispatch:{self.agency}:{kind}:{key}"

    def prologue(self, id: str, at: datetime | None = None) -> dict[str, Any]:
        return {
            "$id": id,
            "lastUpdateTimeStamp": as_of(at or self.changed_at),
            "updatedByAgencyReference": ref(self.agency),
        }


def ref(id: str) -> dict[str, str]:
    return {"$ref": id}


async def export(
    session: AsyncSession,
    incident_id: int,
    *,
    types: IncidentTypes,
    settings: Settings,
    personal: bool,
    by: Actor,
) -> dict[str, Any]:
    row = await incidents.incident_row(session, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    # The document, the agency and the incident were last updated when the incident last changed, not now: an
    # EIDO exported twice with nothing between says so, and a receiver can tell a newer one from an older one.
    changed = await repo.changed(session, incident_id)
    b = _Builder(settings.eido_agency, changed["changed_at"])
    eido_id = tracking_id(incident_id, b.agency)
    doc: dict[str, Any] = {
        **b.prologue(eido_id),
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": settings.eido_element,
        "agencyComponent": [
            {
                **b.prologue(b.agency),
                "agencyRoleDescriptionRegistryText": ["CallReceiving", "Dispatching"],
                "agencyType": ["psap"],
                "incidentOwningAgencyIndicator": True,
            }
        ],
    }
    location = _location(b, row, incident_id, changed["located_at"])
    notes = [*_narrative(b, row, incident_id), *_notes(b, await repo.notes(session, incident_id))]
    calls = await repo.calls(session, incident_id)
    _calls(b, doc, calls, location["$id"], personal)
    # (the premise's cautions active now, as a call-taker would see them now)
    cautions = await repo.cautions(session, lat=row["lat"], lon=row["lon"], at=datetime.now(UTC))
    caution_notes = _cautions(b, doc, cautions)
    _units(b, doc, await repo.assignments(session, incident_id), eido_id)
    received = await repo.received_as(session, incident_id)
    if received:
        _link(b, doc, received, incident_id)
    doc["incidentComponent"] = _incident(b, row, types, incident_id, location["$id"], [n["$id"] for n in notes])
    doc["locationComponent"] = [location]
    if notes or caution_notes:
        doc["notesComponent"] = notes + caution_notes
    if personal and calls:
        await audit.record_read(
            session,
            actor=by,
            action="incident.eido_export",
            object_type="incident",
            object_id=incident_id,
            detail={"calls": [c["id"] for c in calls]},
        )
    return Eido.model_validate(doc).dump()  # what leaves is an EIDO this schema accepts


def _incident(
    b: _Builder, row: dict[str, Any], types: IncidentTypes, incident_id: int, location: str, notes: list[str]
) -> dict[str, Any]:
    kind = types.get(row["type_code"])
    status = row["status"]
    common = "Active" if status in OPEN_INCIDENT else ("Cancelled" if status == "cancelled" else "Closed")
    incident: dict[str, Any] = {
        **b.prologue(b.id("incident", incident_id)),
        "incidentTypeInternalCode": row["type_code"],
        "incidentTypeInternalText": kind.name if kind else row["type_code"],
        "incidentTypeCommonRegistryText": (kind.apco if kind else None) or NO_COMMON_TYPE,
        "incidentStatusInternalText": [status],
        "incidentStatusCommonRegistryText": [common],
        "internalIncidentId": str(incident_id),
        "incidentPriorityInternalText": str(row["priority"]),
        "incidentCommonPriorityNumber": row["priority"],
        "locationReference": [ref(location)],
        "notesReference": [ref(n) for n in notes],
    }
    ended = row["disposition"] or ("cancelled" if status == "cancelled" else None)
    if ended:
        incident["dispositionComponent"] = [
            {
                **b.prologue(b.id("disposition", incident_id), row["closed_at"]),
                "dispositionCommonRegistryCode": DISPOSITIONS.get(ended, DISPOSITIONS["other"]),
                "dispositionPrimaryIndicator": True,
                "dispositionCategoryText": ended,
            }
        ]
    return incident


def _location(b: _Builder, row: dict[str, Any], incident_id: int, located_at: datetime) -> dict[str, Any]:
    location: dict[str, Any] = {
        **b.prologue(b.id("location", incident_id), located_at),
        "locationTypeDescriptionRegistryText": "CurrentIncident",
        "locationByValue": pidf.write(
            entity=tracking_id(incident_id, b.agency),
            lat=row["lat"],
            lon=row["lon"],
            label=row["address_label"],
            municipality=row["municipality"],
            confidence=row["geocode_confidence"] or 0.0,
            method=row["geocode_match"],
        ),
    }
    if row["address_label"]:
        location["locationDescriptionText"] = row["address_label"]
    return location


def _narrative(b: _Builder, row: dict[str, Any], incident_id: int) -> list[dict[str, Any]]:
    if not row["narrative"]:
        return []
    return [{**b.prologue(b.id("narrative", incident_id), row["received_at"]), "notesActionComments": row["narrative"]}]


def _notes(b: _Builder, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in events:
        said = e["payload"].get("text") if e["kind"] == "note" else e["payload"].get("note")
        if said:
            out.append({**b.prologue(b.id("note", e["id"]), e["at"]), "notesActionComments": str(said)})
    return out


def _calls(b: _Builder, doc: dict[str, Any], calls: list[dict[str, Any]], location: str, personal: bool) -> None:
    components, callbacks, persons = [], [], []
    for c in calls:
        call_id = f"urn:emergency:uid:callid:{c['id']}:{b.agency}"
        call: dict[str, Any] = {
            **b.prologue(call_id, c["received_at"]),
            "standardPrimaryCallType": "emergency",
            "localCallType": c["channel"],
            "direction": "incoming",
            "callStartTimestamp": as_of(c["received_at"]),
            "callStateRegistryText": "callEnded",
            "locationReference": [ref(location)],
        }
        number = c["callback_number"] or c["caller_number"]
        if personal and number:
            callbacks.append(
                {**b.prologue(b.id("callback", c["id"]), c["received_at"]), "callBackInformationUri": [f"tel:{number}"]}
            )
            call["callBackReference"] = ref(callbacks[-1]["$id"])
        if personal and (c["caller_name"] or number):
            person: dict[str, Any] = {
                **b.prologue(b.id("caller", c["id"]), c["received_at"]),
                "personIncidentRoleRegistryText": ["Caller"],
                "callIdentifier": [call_id],
            }
            if c["caller_name"]:
                person["ncPersonComponent"] = {"name": [{"personFullName": [{"value": c["caller_name"]}]}]}
            if number:
                person["callBackReference"] = call["callBackReference"]
            persons.append(person)
            call["personReference"] = [ref(person["$id"])]
        components.append(call)
    for key, value in (("callComponent", components), ("callbackComponent", callbacks), ("personComponent", persons)):
        if value:
            doc[key] = value


def _cautions(b: _Builder, doc: dict[str, Any], flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each premise flag as a caution, its words as a note that refers to it (the caution has no text field)."""
    cautions, notes = [], []
    for f in flags:
        caution = {
            **b.prologue(b.id("caution", f["id"]), f["created_at"]),
            "cautionTypeInternalText": f["category"],
            "cautionTypeCommonRegistryText": CAUTION_TYPES.get(f["category"], "Information"),
            "cautionSeverity": "high" if f["category"] == "hazard" else "normal",
            "cautionSource": b.agency,
            "startDate": as_of(f["created_at"]),
        }
        cautions.append(caution)
        notes.append(
            {
                **b.prologue(b.id("caution-note", f["id"]), f["created_at"]),
                "notesActionComments": f["description"],
                "cautionReference": [ref(caution["$id"])],
            }
        )
    if cautions:
        doc["cautionComponent"] = cautions
    return notes


def _units(b: _Builder, doc: dict[str, Any], assignments: list[dict[str, Any]], eido_id: str) -> None:
    resources, agents, dispatches = [], [], []
    for a in assignments:
        agent_id = b.id("crew", a["id"])
        agents.append(
            {
                **b.prologue(agent_id, a["assigned_at"]),
                "agentRoleRegistryText": ["Responder"],
                "agencyReference": ref(b.agency),
            }
        )
        reached = [(status, a[column]) for column, status in STAGES if a[column] is not None]
        active = a["status"] in ACTIVE_ASSIGNMENT
        available = not active and a["unit_status"] in FREE_UNIT
        resource: dict[str, Any] = {
            **b.prologue(b.id("unit", a["id"]), max(t for _, t in reached)),
            "emergencyResourceTypeCommonRegistryText": RESOURCE_TYPES.get(a["kind"], "Other"),
            "emergencyResourceTypeInternalText": a["kind"],
            "resourceAttributeRegistryText": [],
            "resourceAttributeInternalText": list(a["capabilities"]),
            "emergencyResourceName": a["call_sign"],
            "primaryUnitStatusRegistryText": "Available" if available else "NotAvailable",
            "secondaryUnitStatusRegistryText": [reached[-1][0]],
            # The stages one by one with their times: the registry's statuses say where it is, not when.
            "unitStatusInternal": [f"{status} {as_of(at)}" for status, at in reached],
            "agentReference": [ref(agent_id)],
        }
        if a["eta_s"] is not None:
            resource["eta"] = as_of(a["assigned_at"] + timedelta(seconds=a["eta_s"]))
        if active:
            resource["activeOnIncidentId"] = eido_id
        resources.append(resource)
        dispatches.append(
            {
                **b.prologue(b.id("dispatch", a["id"]), a["assigned_at"]),
                "agencyReference": ref(b.agency),
                "emergencyResourceReference": [ref(resource["$id"])],
            }
        )
    if resources:
        doc.update(emergencyResourceComponent=resources, agentComponent=agents, dispatchComponent=dispatches)


def _link(b: _Builder, doc: dict[str, Any], received: dict[str, Any], incident_id: int) -> None:
    """An incident that came in as another centre's EIDO names that one, and that centre as an agency."""
    if received["agency"] != b.agency:  # (an EIDO of this centre's own, sent back to it, names this centre)
        doc["agencyComponent"].append(
            {
                **b.prologue(received["agency"], received["received_at"]),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                "agencyType": ["psap"],
            }
        )
    doc["linkComponent"] = [
        {
            **b.prologue(b.id("link", incident_id), received["received_at"]),
            "incidentTrackingIdentifier": received["eido_id"],
            "transactionReasonText": f"received as an EIDO from {received['agency']} ({received['issuing_element']})",
            "involvedAgencyReference": ref(received["agency"]),
            "linkDirectionCode": "RELATED",
        }
    ]
