"""Every table of the service, imported in one place for Alembic and the test fixtures."""

from dispatch.audit.models import AuditRecord
from dispatch.auth.models import ApiToken, Role, User
from dispatch.db import Base
from dispatch.eido.models import EidoImport
from dispatch.incidents.models import Assignment, Call, Incident, IncidentEvent, PremiseFlag
from dispatch.reports.models import CallerMessage, FeedbackRequest
from dispatch.units.models import CrewMessage, Station, Unit
from geo.models import Address, MapImport, Municipality, Place, RoadEdge, RoadNode, Street

__all__ = [
    "Address",
    "ApiToken",
    "Assignment",
    "AuditRecord",
    "Base",
    "Call",
    "CallerMessage",
    "CrewMessage",
    "EidoImport",
    "FeedbackRequest",
    "Incident",
    "IncidentEvent",
    "MapImport",
    "Municipality",
    "Place",
    "PremiseFlag",
    "Role",
    "RoadEdge",
    "RoadNode",
    "Station",
    "Street",
    "Unit",
    "User",
]
