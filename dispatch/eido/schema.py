"""NENA's Emergency Incident Data Object (EIDO, NENA-STA-021.1b, JSON), as pydantic models.

Written from the standard's OpenAPI document (github.com/NENA911/EIDO-JSON, Schema/openapi.yaml), which carries
no licence and so is not copied here: the components, their fields and which are required follow it; the sizes
are this service's (a field longer than any legitimate value is refused, not stored). Fields the standard
defines that this service does not read are accepted and ignored (a newer sender must not be refused for them);
the NIEM person, vehicle and item objects are kept as opaque JSON, bounded by the document's depth and size.
"""

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, Strict, StringConstraints

EIDO_VERSION = "1.0"
MAX_COMPONENTS = 200  # of one kind in one EIDO
MAX_LIST = 50  # references and values in one field

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=500)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ByValue = Annotated[str, StringConstraints(max_length=16_384)]  # a PIDF-LO or additional data, as XML text
Severity = Literal["highest", "high", "normal", "low", "lowest"]
# The standard's integers and booleans are JSON numbers and booleans: "1" or "true" is a sender's error, refused
# naming the field, not coerced (pydantic's lax mode would). Its numbers written as text stay text (the internal
# priority, `incidentPriorityInternalText`); timestamps are strings in JSON and parsed as such.
Integer = Annotated[int, Strict(), Field(ge=-(2**31), lt=2**31)]  # the standard's "integer" (int32)
Boolean = Annotated[bool, Strict()]


T = TypeVar("T")
Items = Annotated[list[T], Field(max_length=MAX_LIST)]  # a list field of the standard, bounded


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Ref(Model):
    ref: Id = Field(alias="$ref")


class Prologue(Model):
    """What every data component starts with."""

    id: Id = Field(alias="$id")
    lastUpdateTimeStamp: AwareDatetime
    updatedByAgencyReference: Ref
    updatedByAgentReference: Ref | None = None
    AlternateValueReferences: Items[Ref] = []
    externalInformationSourceReferences: Items[Ref] = []
    mediaReferences: Items[Ref] = []


class Agency(Prologue):
    agencyJcard: ByValue | None = None
    agencyRoleDescriptionRegistryText: Items[Short]
    agencyType: Items[Short]
    notesReference: Items[Ref] = []
    incidentOwningAgencyIndicator: Boolean | None = None
    actingOnBehalfOfAgencyReference: Items[Ref] = []


class Agent(Prologue):
    agentJcard: ByValue | None = None
    agentWorkstationPositionIdentification: Short | None = None
    agentRoleRegistryText: Annotated[list[Short], Field(min_length=1, max_length=MAX_LIST)]
    agencyReference: Ref
    notesReference: Items[Ref] = []


class Notes(Prologue):
    notesActionComments: NoteText
    agentReference: Ref | None = None
    cautionReference: Items[Ref] = []


class AdditionalData(Prologue):
    additionalDataByReferenceUrl: Short | None = None
    additionalDataByValue: ByValue | None = None
    additionalDataDereferencedFromReference: Ref | None = None
    urlPurpose: Short | None = None
    notesReference: Items[Ref] = []
    cautionReference: Items[Ref] = []


class Location(Prologue):
    locationTypeDescriptionRegistryText: Short
    locationByValue: ByValue | None = None
    locationByReferenceUrl: Short | None = None
    locationDereferencedFromReference: Ref | None = None
    locationDescriptionText: Short | None = None
    crossStreetByValue: Items[ByValue] = []
    crossStreetByReferenceUrl: Items[Short] = []
    intersectingStreetByValue: Items[ByValue] = []
    intersectingStreetByReferenceUrl: Items[Short] = []
    cellTowerSectorId: Short | None = None
    additionalDataReference: Items[Ref] = []
    localIdentifier: Items[Short] = []
    notesReference: Items[Ref] = []


class Person(Prologue):
    ncPersonComponent: dict[str, Any] | None = None  # NIEM nc:PersonType, opaque here
    personIncidentRoleRegistryText: Items[Short]
    callIdentifier: Items[Id] = []
    locationReference: Items[Ref] = []
    destinationReference: Ref | None = None
    eta: AwareDatetime | None = None
    notesReference: Items[Ref] = []
    additionalDataReference: Items[Ref] = []
    callBackReference: Ref | None = None
    itemReference: Items[Ref] = []


class Disposition(Prologue):
    dispositionCommonRegistryCode: Short
    dispositionPrimaryIndicator: Boolean | None = None
    dispositionCategoryText: Short | None = None
    dispositionDescriptionText: Short | None = None
    notesReference: Items[Ref] = []


class Incident(Prologue):
    incidentTypeInternalCode: Short | None = None
    incidentTypeInternalText: Short | None = None
    incidentTypeCommonRegistryText: Short
    incidentStatusInternalText: Items[Short] = []
    incidentStatusCommonRegistryText: Items[Short] = []
    internalIncidentId: Short | None = None
    agentReference: Items[Ref] = []
    locationReference: Items[Ref] = []
    personReference: Items[Ref] = []
    organizationReference: Items[Ref] = []
    vehicleReference: Items[Ref] = []
    documentIdentification: Items[Short] = []
    reportNumberType: Short | None = None
    incidentPriorityInternalText: Short | None = None
    incidentCommonPriorityNumber: Integer | None = None
    beatOrDispatchGroupText: Short | None = None
    dispositionComponent: Items[Disposition] = []
    notesReference: Items[Ref] = []


class UpdatedCbn(Prologue):
    updatedCbnIdentifierUri: Short
    updatedCbnCallerDescription: Short | None = None


class Callback(Prologue):
    callBackInformationUri: Items[Short] = []
    deviceContactHeader: Short | None = None
    updatedCbn: UpdatedCbn | None = None


class Call(Prologue):
    relatedCallIdentifier: Items[Id] = []
    queueIdentifier: Short | None = None
    standardPrimaryCallType: Short
    standardSecondaryCallType: Short | None = None
    localCallType: Short | None = None
    direction: Literal["incoming", "outgoing", "internal"]
    priorityIdentifier: Severity | None = None
    additionalDataReference: Items[Ref] = []
    callStartTimestamp: AwareDatetime
    answerDate: AwareDatetime | None = None
    callStateRegistryText: Short
    agentReference: Items[Ref] = []
    callBackReference: Ref | None = None
    verstat: Short | None = None
    sipIdentity: Short | None = None
    locationReference: Items[Ref] = []
    notesReference: Items[Ref] = []
    personReference: Items[Ref] = []
    organizationReference: Items[Ref] = []
    agencyReference: Items[Ref] = []


class EmergencyResource(Prologue):
    emergencyResourceTypeCommonRegistryText: Short
    emergencyResourceTypeInternalText: Short | None = None
    resourceAttributeRegistryText: Items[Short]
    resourceAttributeInternalText: Items[Short] = []
    emergencyResourceName: Short | None = None
    primaryUnitStatusRegistryText: Short
    secondaryUnitStatusRegistryText: Items[Short]
    notesReference: Items[Ref] = []
    unitStatusInternal: Items[Short] = []
    agentReference: Items[Ref]
    unitLocationReference: Ref | None = None
    unitDestinationReference: Ref | None = None
    eta: AwareDatetime | None = None
    personReference: Items[Ref] = []
    vehicleReference: Items[Ref] = []
    itemReference: Items[Ref] = []
    activeOnIncidentId: Id | None = None
    stackedOnIncidentId: Items[Id] = []


class Dispatch(Prologue):
    agencyReference: Ref | None = None
    agentReference: Ref | None = None
    emergencyResourceReference: Items[Ref] = []
    notesReference: Items[Ref] = []


class Caution(Prologue):
    cautionTypeInternalText: Short
    cautionTypeCommonRegistryText: Short
    cautionTypeCommonSubRegistryText: Items[Short] = []
    cautionSeverity: Severity
    cautionSource: Short | None = None
    startDate: AwareDatetime | None = None


class Link(Prologue):
    incidentTrackingIdentifier: Id
    transactionReasonText: Short | None = None
    involvedAgencyReference: Ref | None = None
    linkDirectionCode: Literal["PARENT", "CHILD", "RELATED", "UNLINK"]


class Merge(Prologue):
    incidentTrackingIdentifier: Id
    incidentMergeDirectionCode: Literal["REPLACING", "REPLACED", "SPLIT"]


class Other(Prologue):
    """A component this service keeps no field of (vehicles, alarms, media, shared communication, external
    sources): its prologue is checked, and its references must resolve like any other's."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


Components = Annotated[list[T], Field(max_length=MAX_COMPONENTS)]  # one kind of component, bounded


class Eido(Prologue):
    eidoVersion: Literal["1.0"]
    eidoExtensionId: Items[Short] = []
    issuingElementIdentification: Short
    mergeComponent: Components[Merge] = []
    linkComponent: Components[Link] = []
    incidentComponent: Incident | None = None
    callComponent: Components[Call] = []
    callbackComponent: Components[Callback] = []
    dispatchComponent: Components[Dispatch] = []
    notesComponent: Components[Notes] = []
    emergencyResourceComponent: Components[EmergencyResource] = []
    alarmsSensorsComponent: Components[Other] = []
    agencyComponent: Annotated[list[Agency], Field(min_length=1, max_length=MAX_COMPONENTS)]
    agentComponent: Components[Agent] = []
    additionalDataComponent: Components[AdditionalData] = []
    locationComponent: Components[Location] = []
    personComponent: Components[Person] = []
    vehicleComponent: Components[Other] = []
    cautionComponent: Components[Caution] = []
    mediaComponent: Components[Other] = []
    sharedCommunicationResourceComponent: Components[Other] = []
    externalInformationSourceComponent: Components[Other] = []
    context: dict[str, Any] | None = Field(default=None, alias="@context")

    def dump(self) -> dict[str, Any]:
        """As JSON: the standard's names ($id, $ref, @context), no empty lists or absent fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def as_of(value: datetime) -> str:
    """A timestamp as EIDOs write it: ISO 8601 with its offset (UTC here), to the millisecond."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
