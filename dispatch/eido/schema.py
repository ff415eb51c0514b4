"""NENA's Emergency Incident Data Object (EIDO, NENA-STA-021.1b, JSON), as pydantic models.

Written from the standard's OpenAPI document (github.com/NENA911/EIDO-JSON, Schema/openapi.yaml), which carries
no licence and so is not copied here: the components, their fields and which are required follow it; the sizes
are this service's (a field longer than any legitimate value is refused, not stored). Fields the standard
defines that this service does not read are accepted and ignored (a newer sender must not be refused for them);
the NIEM person, vehicle and item objects are kept as opaque JSON, bounded by the document's depth and size.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EIDO_VERSION = "1.0"
MAX_COMPONENTS = 200  # of one kind in one EIDO
MAX_LIST = 50  # references and values in one field

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
Short = Annotated[str, StringConstraints(max_length=500)]
NoteText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ByValue = Annotated[str, StringConstraints(max_length=16_384)]  # a PIDF-LO or additional data, as XML text
Severity = Literal["highest", "high", "normal", "low", "lowest"]


def items(kind: Any, most: int = MAX_LIST) -> Any:
    return Annotated[list[kind], Field(max_length=most)]


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
    AlternateValueReferences: items(Ref) = []
    externalInformationSourceReferences: items(Ref) = []
    mediaReferences: items(Ref) = []


class Agency(Prologue):
    agencyJcard: ByValue | None = None
    agencyRoleDescriptionRegistryText: items(Short)
    agencyType: items(Short)
    notesReference: items(Ref) = []
    incidentOwningAgencyIndicator: bool | None = None
    actingOnBehalfOfAgencyReference: items(Ref) = []


class Agent(Prologue):
    agentJcard: ByValue | None = None
    agentWorkstationPositionIdentification: Short | None = None
    agentRoleRegistryText: Annotated[list[Short], Field(min_length=1, max_length=MAX_LIST)]
    agencyReference: Ref
    notesReference: items(Ref) = []


class Notes(Prologue):
    notesActionComments: NoteText
    agentReference: Ref | None = None
    cautionReference: items(Ref) = []


class AdditionalData(Prologue):
    additionalDataByReferenceUrl: Short | None = None
    additionalDataByValue: ByValue | None = None
    additionalDataDereferencedFromReference: Ref | None = None
    urlPurpose: Short | None = None
    notesReference: items(Ref) = []
    cautionReference: items(Ref) = []


class Location(Prologue):
    locationTypeDescriptionRegistryText: Short
    locationByValue: ByValue | None = None
    locationByReferenceUrl: Short | None = None
    locationDereferencedFromReference: Ref | None = None
    locationDescriptionText: Short | None = None
    crossStreetByValue: items(ByValue) = []
    crossStreetByReferenceUrl: items(Short) = []
    intersectingStreetByValue: items(ByValue) = []
    intersectingStreetByReferenceUrl: items(Short) = []
    cellTowerSectorId: Short | None = None
    additionalDataReference: items(Ref) = []
    localIdentifier: items(Short) = []
    notesReference: items(Ref) = []


class Person(Prologue):
    ncPersonComponent: dict[str, Any] | None = None  # NIEM nc:PersonType, opaque here
    personIncidentRoleRegistryText: items(Short)
    callIdentifier: items(Id) = []
    locationReference: items(Ref) = []
    destinationReference: Ref | None = None
    eta: AwareDatetime | None = None
    notesReference: items(Ref) = []
    additionalDataReference: items(Ref) = []
    callBackReference: Ref | None = None
    itemReference: items(Ref) = []


class Disposition(Prologue):
    dispositionCommonRegistryCode: Short
    dispositionPrimaryIndicator: bool | None = None
    dispositionCategoryText: Short | None = None
    dispositionDescriptionText: Short | None = None
    notesReference: items(Ref) = []


class Incident(Prologue):
    incidentTypeInternalCode: Short | None = None
    incidentTypeInternalText: Short | None = None
    incidentTypeCommonRegistryText: Short
    incidentStatusInternalText: items(Short) = []
    incidentStatusCommonRegistryText: items(Short) = []
    internalIncidentId: Short | None = None
    agentReference: items(Ref) = []
    locationReference: items(Ref) = []
    personReference: items(Ref) = []
    organizationReference: items(Ref) = []
    vehicleReference: items(Ref) = []
    documentIdentification: items(Short) = []
    reportNumberType: Short | None = None
    incidentPriorityInternalText: Short | None = None
    incidentCommonPriorityNumber: Annotated[int, Field(ge=-(2**31), lt=2**31)] | None = None
    beatOrDispatchGroupText: Short | None = None
    dispositionComponent: items(Disposition) = []
    notesReference: items(Ref) = []


class UpdatedCbn(Prologue):
    updatedCbnIdentifierUri: Short
    updatedCbnCallerDescription: Short | None = None


class Callback(Prologue):
    callBackInformationUri: items(Short) = []
    deviceContactHeader: Short | None = None
    updatedCbn: UpdatedCbn | None = None


class Call(Prologue):
    relatedCallIdentifier: items(Id) = []
    queueIdentifier: Short | None = None
    standardPrimaryCallType: Short
    standardSecondaryCallType: Short | None = None
    localCallType: Short | None = None
    direction: Literal["incoming", "outgoing", "internal"]
    priorityIdentifier: Severity | None = None
    additionalDataReference: items(Ref) = []
    callStartTimestamp: AwareDatetime
    answerDate: AwareDatetime | None = None
    callStateRegistryText: Short
    agentReference: items(Ref) = []
    callBackReference: Ref | None = None
    verstat: Short | None = None
    sipIdentity: Short | None = None
    locationReference: items(Ref) = []
    notesReference: items(Ref) = []
    personReference: items(Ref) = []
    organizationReference: items(Ref) = []
    agencyReference: items(Ref) = []


class EmergencyResource(Prologue):
    emergencyResourceTypeCommonRegistryText: Short
    emergencyResourceTypeInternalText: Short | None = None
    resourceAttributeRegistryText: items(Short)
    resourceAttributeInternalText: items(Short) = []
    emergencyResourceName: Short | None = None
    primaryUnitStatusRegistryText: Short
    secondaryUnitStatusRegistryText: items(Short)
    notesReference: items(Ref) = []
    unitStatusInternal: items(Short) = []
    agentReference: items(Ref)
    unitLocationReference: Ref | None = None
    unitDestinationReference: Ref | None = None
    eta: AwareDatetime | None = None
    personReference: items(Ref) = []
    vehicleReference: items(Ref) = []
    itemReference: items(Ref) = []
    activeOnIncidentId: Id | None = None
    stackedOnIncidentId: items(Id) = []


class Dispatch(Prologue):
    agencyReference: Ref | None = None
    agentReference: Ref | None = None
    emergencyResourceReference: items(Ref) = []
    notesReference: items(Ref) = []


class Caution(Prologue):
    cautionTypeInternalText: Short
    cautionTypeCommonRegistryText: Short
    cautionTypeCommonSubRegistryText: items(Short) = []
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


def components(kind: Any) -> Any:
    return Annotated[list[kind], Field(max_length=MAX_COMPONENTS)]


class Eido(Prologue):
    eidoVersion: Literal["1.0"]
    eidoExtensionId: items(Short) = []
    issuingElementIdentification: Short
    mergeComponent: components(Merge) = []
    linkComponent: components(Link) = []
    incidentComponent: Incident | None = None
    callComponent: components(Call) = []
    callbackComponent: components(Callback) = []
    dispatchComponent: components(Dispatch) = []
    notesComponent: components(Notes) = []
    emergencyResourceComponent: components(EmergencyResource) = []
    alarmsSensorsComponent: components(Other) = []
    agencyComponent: Annotated[list[Agency], Field(min_length=1, max_length=MAX_COMPONENTS)]
    agentComponent: components(Agent) = []
    additionalDataComponent: components(AdditionalData) = []
    locationComponent: components(Location) = []
    personComponent: components(Person) = []
    vehicleComponent: components(Other) = []
    cautionComponent: components(Caution) = []
    mediaComponent: components(Other) = []
    sharedCommunicationResourceComponent: components(Other) = []
    externalInformationSourceComponent: components(Other) = []
    context: dict[str, Any] | None = Field(default=None, alias="@context")

    def dump(self) -> dict[str, Any]:
        """As JSON: the standard's names ($id, $ref, @context), no empty lists or absent fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def as_of(value: datetime) -> str:
    """A timestamp as EIDOs write it: ISO 8601 with its offset (UTC here), to the millisecond."""
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
