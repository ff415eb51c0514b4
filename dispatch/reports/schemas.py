"""What the reports API accepts and answers."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dispatch.reports.targets import Target


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    satisfaction: int = Field(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")
    comment: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    complaint: bool = Field(default=False, description="The caller wants this treated as a complaint")


class IntervalStatsOut(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p95: float | None


class ComplianceOut(BaseModel):
    target: str
    name: str
    interval: str
    seconds: float
    goal: float
    count: int
    met: int
    fraction: float | None
    ok: bool | None


class FeedbackStatsOut(BaseModel):
    offered: int
    answered: int
    satisfaction_mean: float | None
    satisfaction: dict[str, int] = Field(description="Answers of each satisfaction, '1' to '5'")
    complaints: int


class FeedbackGroupOut(BaseModel):
    key: str
    feedback: FeedbackStatsOut


class FeedbackSeriesOut(BaseModel):
    group_by: str
    overall: FeedbackStatsOut
    groups: list[FeedbackGroupOut]


class ReportBlockOut(BaseModel):
    intervals: dict[str, IntervalStatsOut] = Field(description="Seconds, by interval")
    compliance: list[ComplianceOut]
    feedback: FeedbackStatsOut


class ReportGroupOut(BaseModel):
    key: str
    intervals: dict[str, IntervalStatsOut]
    compliance: list[ComplianceOut]
    feedback: FeedbackStatsOut


class ResponseTimesOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    time_zone: str
    group_by: str
    priority: int | None = Field(default=None, description="Only incidents of this priority; null for all")
    percentiles: list[int]
    intervals: dict[str, str] = Field(description="Each interval's title")
    targets: list[Target]
    overall: ReportBlockOut
    groups: list[ReportGroupOut]


class FeedbackAnswerOut(BaseModel):
    incident_id: int
    type_code: str
    priority: int
    municipality: str | None
    received_at: datetime
    answered_at: datetime
    satisfaction: int
    complaint: bool
    comment: str | None


class CallerMessageOut(BaseModel):
    id: int
    incident_id: int
    kind: str
    to_number: str
    body: str
    created_at: datetime


class SentOut(BaseModel):
    id: int
    sent: bool


class PercentilesOut(BaseModel):
    p50_s: int | None
    p90_s: int | None


class PublicTotalOut(BaseModel):
    month: str
    incidents: int
    responses: int
    all_priorities: PercentilesOut
    priority_1_responses: int
    priority_1: PercentilesOut


class PublicMonthOut(PublicTotalOut):
    municipality: str = Field(description="'Outside the service area' for all incidents beyond it")


class PublicResponseTimesOut(BaseModel):
    time_zone: str
    interval: str
    suppressed_below: int = Field(description="Cells of fewer responses show no times")
    service_area: str | None = Field(description="The service area's name, if the map has its boundary")
    months: list[PublicMonthOut]
    totals: list[PublicTotalOut] = Field(description="Per month, every incident (inside the area or not)")


class FeedbackRecordedOut(BaseModel):
    recorded: bool
    message: str
