"""The targets compliance is measured against: a TOML file, validated, with a message that says what is wrong."""

import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from dispatch.errors import DispatchError

BUNDLED_TARGETS = Path(__file__).with_name("targets.toml")
CAPABILITIES = ("engine", "ladder", "rescue", "tanker", "ambulance", "police")


class Interval(StrEnum):
    processing = "processing"  # received → first unit dispatched (incident)
    turnout = "turnout"  # unit dispatched → unit en route (unit)
    travel = "travel"  # unit en route → unit on scene (unit)
    response = "response"  # received → first unit on scene (incident)
    on_scene = "on_scene"  # first unit on scene → last unit cleared (incident)
    total = "total"  # received → closed (incident)


UNIT_INTERVALS = (Interval.turnout, Interval.travel)
INTERVAL_TITLES = {
    Interval.processing: "call processing (received → first unit dispatched)",
    Interval.turnout: "turnout (unit dispatched → unit en route)",
    Interval.travel: "travel (unit en route → unit on scene)",
    Interval.response: "response (received → first unit on scene)",
    Interval.on_scene: "on scene (first unit on scene → last unit cleared)",
    Interval.total: "total (received → closed)",
}


class TargetsError(DispatchError):
    status, code, title = 500, "bad_targets", "Bad report targets"


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    interval: Interval
    seconds: float = Field(gt=0, le=86_400)
    fraction: float = Field(gt=0, le=1)
    priorities: list[Annotated[int, Field(ge=1, le=4)]] | None = None
    capabilities: list[str] | None = None
    first_unit: bool = False
    source: Annotated[str, StringConstraints(min_length=1, max_length=300)]

    @model_validator(mode="after")
    def _fits_interval(self) -> "Target":
        unit_level = self.interval in UNIT_INTERVALS
        if self.capabilities is not None:
            if not unit_level:
                raise ValueError(f"capabilities apply to unit intervals (turnout, travel), not {self.interval}")
            if unknown := sorted(set(self.capabilities) - set(CAPABILITIES)):
                raise ValueError(f"unknown capability {unknown[0]!r} (known: {', '.join(CAPABILITIES)})")
        if self.first_unit and self.interval != Interval.travel:
            raise ValueError("first_unit applies to the travel interval only")
        return self


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "Targets":
        keys = [t.key for t in self.target]
        if dupes := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"target key {dupes[0]!r} appears more than once")
        return self

    def __iter__(self):
        return iter(self.target)


def load_targets(path: Path | None = None) -> Targets:
    path = path or BUNDLED_TARGETS
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetsError(f"report targets file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TargetsError(f"report targets file {path} is not readable TOML: {exc}") from None
    try:
        return Targets.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise TargetsError(f"report targets file {path}: {problems}") from None


@lru_cache(maxsize=8)
def targets_at(path: Path | None) -> Targets:
    return load_targets(path)
