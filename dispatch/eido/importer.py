"""An EIDO from another centre becomes an incident here, through intake's own path (incidents.service.take_call):
located by this centre's geocoder (the PIDF-LO point, else its civic address or description), typed by the
sender's code or its APCO common type, checked for duplicates, written with its audit record and queued after the
commit like any call. The sender's notes and cautions join the incident's log, and a last note says where it came
from; `eido_imports` keeps the EIDO whole and makes its `$id` import once, even when it arrives twice at once.

What is not taken: the sender's units and their statuses (they are the sender's, not this centre's to dispatch),
its disposition, dispatch and agent components, vehicles, media and additional data (kept in eido_imports).
"""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.audit import service as audit
from dispatch.audit.service import Actor
from dispatch.config import Settings
from dispatch.eido import pidf
from dispatch.eido import repository as repo
from dispatch.eido.schema import Eido, Location, Notes
from dispatch.eido.validate import InvalidEido
from dispatch.errors import Conflict
from dispatch.incidents import repository as incidents
from dispatch.incidents import service
from dispatch.incidents.events import EventKind
from dispatch.incidents.schemas import PHONE, CallIn, neutral_text
from dispatch.incidents.types import IncidentTypes
from dispatch.mapbound import OutsideServiceArea, check_position
from geo.geocoder import Geocoder

PRIORITIES = range(1, 5)


@dataclass
class Imported:
    incident_id: int
    eido_id: str
    agency: str
    replayed: bool  # the EIDO was imported before: nothing new was written
    intake: service.Intake | None = None  # what intake made of it (None for a replay)

    def view(self) -> dict[str, Any]:
        view = {"incident_id": self.incident_id, "eido_id": self.eido_id, "agency": self.agency}
        if self.intake:
            v = self.intake.view
            view.update(status=v["status"], type_code=v["type_code"], priority=v["priority"], location=v["location"])
            view["duplicates"] = [d["id"] for d in v["duplicates"]]
        return {**view, "replayed": self.replayed}


def sender(eido: Eido) -> str:
    """The agency the EIDO comes from: the one owning the incident, else the one that last updated the EIDO (an
    agency of the EIDO, as its reference must resolve), else its first agency."""
    owning = [a.id for a in eido.agencyComponent if a.incidentOwningAgencyIndicator]
    if owning:
        return owning[0]
    updater = eido.updatedByAgencyReference.ref
    return updater if updater in {a.id for a in eido.agencyComponent} else eido.agencyComponent[0].id


async def import_eido(
    session: AsyncSession,
    eido: Eido,
    *,
    document: dict[str, Any],
    by: Actor,
    user_id: int | None,
    geocoder: Geocoder,
    types: IncidentTypes,
    settings: Settings,
) -> Imported:
    agency = sender(eido)
    call, notes = _call(eido, geocoder, types)  # all that can refuse it, before anything is written
    if not await repo.claim(
        session, eido_id=eido.id, agency=agency, issuing_element=eido.issuingElementIdentification, document=document
    ):
        earlier = await repo.imported(session, eido.id)
        if earlier is None or earlier["incident_id"] is None:  # rolled back between the two statements
            raise Conflict("this EIDO is being imported right now: send it again")
        return Imported(earlier["incident_id"], eido.id, earlier["agency"], replayed=True)
    actor = f"eido:{agency}"[:100]
    intake = await service.take_call(
        session, call=call, actor=actor, by=by, user_id=user_id, geocoder=geocoder, types=types, settings=settings
    )
    await repo.made(session, eido.id, intake.incident_id)
    for text in notes:
        await incidents.append_event(session, intake.incident_id, EventKind.note, actor, {"text": text})
    said = f"received as EIDO {eido.id} from {agency} (issued by {eido.issuingElementIdentification})"
    await incidents.append_event(session, intake.incident_id, EventKind.note, actor, {"text": said})
    await audit.record(
        session,
        actor=by,
        action="incident.eido_import",
        object_type="incident",
        object_id=intake.incident_id,
        after={"eido_id": eido.id, "agency": agency, "notes": len(notes)},
    )
    return Imported(intake.incident_id, eido.id, agency, replayed=False, intake=intake)


def _call(eido: Eido, geocoder: Geocoder, types: IncidentTypes) -> tuple[CallIn, list[str]]:
    """The EIDO as intake's call, and the notes that go into the log after it."""
    incident = eido.incidentComponent
    code = None
    if incident:
        known = types.get(incident.incidentTypeInternalCode or "") or types.by_apco(
            incident.incidentTypeCommonRegistryText
        )
        code = known.code if known else None
    priority = incident.incidentCommonPriorityNumber if incident else None
    narrative, notes = _notes(eido)
    lat, lon, text = _where(eido, geocoder)
    caller_name, number = _caller(eido)
    values = {
        "caller_name": caller_name,
        "caller_number": number,
        "location_text": text,
        "lat": lat,
        "lon": lon,
        "type_code": code,
        "narrative": narrative,
        "priority": priority if priority in PRIORITIES else None,
    }
    if incident and any(s.strip().lower() == "closed" for s in incident.incidentStatusCommonRegistryText):
        # A closed incident is not work for this centre: taken over, it would be queued and crews sent to it.
        raise InvalidEido(
            (
                ("incidentComponent", "incidentStatusCommonRegistryText"),
                "the incident is Closed; only open ones are taken",
                "closed",
            )
        )
    if not (text or lat is not None or code or narrative):
        if not number:
            said = "nothing to act on: no location, type, note or callback number in the EIDO"
            raise InvalidEido((("incidentComponent",), said, "nothing_to_act_on"))
        values["type_code"] = types.unknown.code  # a number to call back and nothing else: a call-taker classifies it
    try:
        return CallIn.model_validate(values), notes
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise InvalidEido(*((tuple(e["loc"]), f"as a call here: {e['msg']}", e["type"]) for e in errors)) from None


def _notes(eido: Eido) -> tuple[str | None, list[str]]:
    """The incident's first note (else the first note about no caution) is its narrative, the others follow in
    the log; then the cautions, with the notes that describe them."""
    by_id = {n.id: n for n in eido.notesComponent}
    cautions = {c.id: c for c in eido.cautionComponent}
    about_caution = {r.ref for n in eido.notesComponent for r in n.cautionReference}
    first = [by_id[r.ref] for r in eido.incidentComponent.notesReference] if eido.incidentComponent else []
    ordered: list[Notes] = first + [n for n in eido.notesComponent if n not in first and not n.cautionReference]
    texts = [_clean(n.notesActionComments) for n in ordered if n.notesActionComments]
    for n in eido.notesComponent:
        for r in n.cautionReference:
            c = cautions.get(r.ref)
            if c:
                texts.append(
                    f"caution ({c.cautionTypeInternalText}, {c.cautionSeverity}): {_clean(n.notesActionComments)}"
                )
    for c in eido.cautionComponent:
        if c.id not in about_caution:
            texts.append(f"caution ({c.cautionTypeInternalText}, {c.cautionSeverity})")
    return (texts[0], texts[1:]) if ordered else (None, texts)


_TAGS = re.compile(r"<[^>]{0,500}>")


def _clean(text: str) -> str:
    """A note's text without its HTML tags (the standard writes notes in HTML5) or control characters."""
    return neutral_text(_TAGS.sub("", text)).strip()[:4000]


def _location(eido: Eido) -> tuple[int, Location] | None:
    """The incident's place: the incident's location, else a call's, else one of the current or initial
    incident location type, else the first."""
    places = {loc.id: (i, loc) for i, loc in enumerate(eido.locationComponent)}
    refs = list(eido.incidentComponent.locationReference) if eido.incidentComponent else []
    refs += [r for c in eido.callComponent for r in c.locationReference]
    for r in refs:
        if r.ref in places:
            return places[r.ref]
    typed = [
        (i, loc)
        for i, loc in enumerate(eido.locationComponent)
        if loc.locationTypeDescriptionRegistryText in ("CurrentIncident", "InitialIncident")
    ]
    found = typed or list(enumerate(eido.locationComponent))
    return found[0] if found else None


def _where(eido: Eido, geocoder: Geocoder) -> tuple[float | None, float | None, str | None]:
    found = _location(eido)
    if found is None:
        return None, None, None
    i, loc = found
    where = ("locationComponent", i, "locationByValue")
    try:
        place = pidf.read(loc.locationByValue) if loc.locationByValue else None
    except pidf.InvalidPosition as exc:  # (validate.parse refuses it first: an EIDO made otherwise is checked too)
        raise InvalidEido((where, str(exc), "invalid_position")) from None
    text = loc.locationDescriptionText or (place.address() if place else None)
    lat, lon = (place.lat, place.lon) if place else (None, None)
    if lat is not None and lon is not None:
        try:
            check_position(geocoder, lat, lon)
        except OutsideServiceArea as exc:  # a point far outside the service area is no incident of this centre's
            raise InvalidEido((where, exc.detail, "outside_service_area")) from None
    return lat, lon, (_clean(text)[:300] or None) if text else None


def _caller(eido: Eido) -> tuple[str | None, str | None]:
    """The first call's caller: a name from its person, a number from its callback (tel: URIs only)."""
    callbacks = {c.id: c for c in eido.callbackComponent}
    persons = {p.id: p for p in eido.personComponent}
    for call in eido.callComponent:
        name = next((_name(persons[r.ref].ncPersonComponent) for r in call.personReference if r.ref in persons), None)
        callback = callbacks.get(call.callBackReference.ref) if call.callBackReference else None
        numbers = [u.removeprefix("tel:") for u in (callback.callBackInformationUri if callback else [])]
        number = next((n for n in numbers if PHONE.match(n)), None)
        if name or number:
            return name, number
    return None, None


def _name(person: dict[str, Any] | None) -> str | None:
    try:
        value = person["name"][0]["personFullName"][0]["value"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None
    return _clean(value)[:200] or None if isinstance(value, str) else None
