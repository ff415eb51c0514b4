"""The workload report over HTTP (commanders and admins): GET /api/reports/units."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from dispatch.auth.deps import SessionDep
from dispatch.reports.routes import Commander
from dispatch.reports.service import parse_period
from dispatch.reports.workload import workload

router = APIRouter(prefix="/api", tags=["reports"])


class UnitWorkOut(BaseModel):
    call_sign: str
    kind: str
    station: str | None = Field(description="The unit's home station; null for a unit without one")
    assignments: int = Field(description="Assignments whose time overlaps the period")
    busy_s: float = Field(description="Seconds on incidents (assigned until free again or taken off), in the period")
    utilisation: float = Field(description="busy_s / period_s, 0..1")
    out_of_service_s: float = Field(description="Seconds out of service in the period")
    on_scene_s: float = Field(description="Seconds on scene in the period")
    exercise_s: float = Field(description="Of busy_s, the seconds on exercise incidents (committed, yet no real call)")


class StationWorkOut(BaseModel):
    station: str | None
    units: int
    assignments: int
    busy_s: float
    utilisation: float = Field(description="busy_s / (units × period_s), 0..1")
    out_of_service_s: float
    exercise_s: float = Field(description="Of busy_s, the seconds its units spent on exercise incidents")


class HourOut(BaseModel):
    weekday: int = Field(ge=1, le=7, description="ISO weekday in the report's time zone (1 Monday)")
    hour: int = Field(ge=0, le=23)
    incidents: int


class WorkloadOut(BaseModel):
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    time_zone: str
    period_s: float
    units: list[UnitWorkOut]
    stations: list[StationWorkOut]
    hours: list[HourOut] = Field(description="Incidents received by weekday and hour: all 168, zeros included")


@router.get(
    "/reports/units",
    response_model=WorkloadOut,
    summary="Unit and station workload, out-of-service time and the busiest hours (commander)",
)
async def units_workload(
    request: Request,
    session: SessionDep,
    _: Commander,
    start: Annotated[
        str, Query(alias="from", max_length=40, description="A local date (2026-11-01, included) or ISO date and time")
    ],
    end: Annotated[
        str, Query(alias="to", max_length=40, description="A local date (included) or ISO date and time (excluded)")
    ],
) -> dict[str, Any]:
    period = parse_period(start, end, request.app.state.settings.report_time_zone)
    return await workload(session, period=period)
