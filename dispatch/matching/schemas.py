"""What the matching API accepts and answers."""

from typing import Annotated

from pydantic import BaseModel, Field

from dispatch.incidents.schemas import MAX_ID
from dispatch.matching.core import Policy


class AssignIn(BaseModel):
    unit_ids: list[Annotated[int, Field(gt=0, le=MAX_ID)]] = Field(min_length=1, max_length=20)
    divert: bool = Field(default=False, description="Allow taking units that are on their way to other work")


class AssignOut(BaseModel):
    incident_id: int
    assigned: list[int]
    units_missing: int


class PickOut(BaseModel):
    capability: str
    unit_id: int
    call_sign: str
    eta_s: float | None
    distance_m: float | None = Field(description="Straight-line metres; null when either end has no position")
    reason: str
    diverted_from: int | None = Field(description="The incident the unit leaves, when it is diverted")


class UnfilledOut(BaseModel):
    capability: str
    count: int


class AlternativeOut(BaseModel):
    """The next best units for a slot, best first: a dispatcher may send one instead of the pick."""

    capability: str
    unit_id: int
    call_sign: str
    eta_s: float | None
    distance_m: float | None
    reason: str = Field(description="Why it is not the pick")
    diverted_from: int | None = Field(description="The incident the unit would leave (assign it with divert)")


class PassedOut(BaseModel):
    unit_id: int
    call_sign: str
    reason: str
    eta_s: float | None


class RecommendationsOut(BaseModel):
    incident_id: int
    priority: int
    policy: Policy
    mode: str = Field(description="auto: the matcher dispatches it; recommend: a dispatcher decides")
    complete: bool = Field(description="Every slot of the plan has a pick")
    picks: list[PickOut]
    unfilled: list[UnfilledOut]
    alternatives: list[AlternativeOut]
    passed: list[PassedOut] = Field(description="Why other units were not chosen, nearest first (the first few)")
    passed_more: int
    assigned: dict[str, int] = Field(description="Units on the incident now, by capability")
    served: dict[str, int] = Field(
        description="Plan slots served, by slot: units on it now and units that reached the scene (even if since "
        "cleared); picks and unfilled cover only the rest of the plan"
    )


class CoverageCellOut(BaseModel):
    lat: float = Field(description="The cell's centre of demand")
    lon: float
    weight: float = Field(description="Its share of the calls expected: addresses, and recent calls counted thrice")
    seconds: dict[str, int | None] = Field(
        description="Per fleet, seconds for the nearest free unit to drive there; null beyond the target"
    )


class CoverageOut(BaseModel):
    target_s: float = Field(description="The drive time a cell should be reached in (the move-up's target)")
    cell_m: float = Field(description="The cells' size in metres")
    fleets: list[str]
    cells: list[CoverageCellOut]
