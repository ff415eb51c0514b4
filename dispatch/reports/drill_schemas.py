"""What the reports page's drill-down and live panel answer (seconds as floats, null where a stage never came)."""

from pydantic import BaseModel, Field


class DrillUnitOut(BaseModel):
    call_sign: str
    station: str | None = Field(description="The unit's home station")
    slot: str = Field(description="The capability of the response plan it filled")
    eta_s: float | None = Field(description="The ETA predicted when it was assigned")
    turnout: float | None
    travel: float | None
    diverted: bool = Field(description="Taken off this incident for a more urgent one")


class DrillIncidentOut(BaseModel):
    id: int
    received_at: str = Field(description="Local time, with its offset")
    priority: int
    type_code: str
    type_name: str | None
    municipality: str | None
    address: str | None
    status: str
    disposition: str | None
    processing: float | None
    response: float | None
    on_scene: float | None
    total: float | None
    first_unit: str | None = Field(description="Call sign of the first unit on scene")
    units: list[DrillUnitOut]
    late: bool | None = Field(description="Missed the target asked for; null without one")


class DrillOut(BaseModel):
    count: int = Field(description="All the incidents of the cell, not only this page")
    items: list[DrillIncidentOut]


class TodayP1Out(BaseModel):
    responses: int
    p50: float | None
    p90: float | None
    target_s: float | None
    met: int
    waiting: int = Field(description="Priority-1 incidents of today still open with no unit on scene")


class TodayUnitsOut(BaseModel):
    total: int
    committed: int
    available: int
    out_of_service: int
    on_exercise: int = Field(description="Of the committed, those on an exercise incident now")


class TodayOut(BaseModel):
    since: str
    as_of: str
    calls: int
    open: int
    by_priority: dict[str, int]
    exercise: int = Field(description="Exercise calls today: left out of every other figure")
    p1: TodayP1Out
    units: TodayUnitsOut
