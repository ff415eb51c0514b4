"""What the health probes answer."""

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str = Field(description="ready, else not_ready (with 503)")
    checks: dict[str, bool | int | str | None] = Field(
        description="postgres, postgis, map_loaded, redis (true when there), postgis_version, road_nodes"
    )
    errors: dict[str, str] = Field(description="What failed, by check")
