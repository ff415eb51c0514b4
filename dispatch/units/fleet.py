"""The fleet file (docs/fleet.md): the centre's stations, standby posts and units, in TOML.

Pure: reading a file, the checks it makes of itself (kinds, names, call signs, coordinates) and writing one.
What needs the database (the service area, the stations already there) is dispatch.units.fleet_db's."""

import json
import tomllib
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from dispatch.units.kinds import StationKind, UnitKind
from dispatch.units.seed import load_seed_table

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CallSign = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Capability = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _number(value: object) -> object:
    """A TOML number (integer or float), never a string or a boolean that would pass for one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return value


Lon = Annotated[float, BeforeValidator(_number), Field(ge=-180, le=180)]
Lat = Annotated[float, BeforeValidator(_number), Field(ge=-90, le=90)]
STATION_KINDS = ", ".join(k.value for k in StationKind)
UNIT_KINDS = ", ".join(k.value for k in UnitKind)


class FleetError(Exception):
    """A fleet file that cannot be used: every problem found, each naming its place in the file."""

    def __init__(self, problems: list[str], source: str = "the fleet file") -> None:
        self.problems = problems
        self.source = source
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        super().__init__(f"{source}: " + ("; ".join(shown) if len(shown) == 1 else "\n  " + "\n  ".join(shown)))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KindSpec(_Strict):
    """A kind of unit the file declares: what a unit of it can do, and which of the system's kinds it is."""

    capabilities: list[Capability] = Field(min_length=1)
    stored_as: UnitKind | None = Field(default=None, alias="as")


class StationSpec(_Strict):
    name: Name
    kind: StationKind
    lon: Lon
    lat: Lat
    municipality: Name | None = None


class UnitSpec(_Strict):
    call_sign: CallSign
    kind: Name
    station: Name | None = None  # the home station, by name (in the file or already in the database)
    capabilities: list[Capability] | None = None  # the kind's unless given


class Fleet(_Strict):
    """A fleet file as read: its kinds resolved (the file's over seed.toml's) to (system kind, capabilities)."""

    stations: list[StationSpec] = []
    units: list[UnitSpec] = []
    kinds: dict[str, tuple[UnitKind, tuple[str, ...]]] = {}

    def unit_kind(self, unit: UnitSpec) -> UnitKind:
        return self.kinds[unit.kind][0]

    def capabilities(self, unit: UnitSpec) -> list[str]:
        return list(unit.capabilities) if unit.capabilities is not None else list(self.kinds[unit.kind][1])


def default_kinds() -> dict[str, tuple[UnitKind, tuple[str, ...]]]:
    """seed.toml's kinds: the system's six with their capabilities."""
    return {name: (UnitKind(name), tuple(spec["capabilities"])) for name, spec in load_seed_table()["kinds"].items()}


def _reason(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{where} is missing"
    if kind == "extra_forbidden":
        return f"unknown field {where}"
    if kind in ("float_type", "float_parsing", "value_error") and where in ("lon", "lat"):
        return f"{where} is not a number ({error['input']!r})"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{where} {error['input']} is out of range ({'-180 to 180' if where == 'lon' else '-90 to 90'})"
    if kind == "enum" and where == "kind":
        return f"unknown kind {error['input']!r} (one of {STATION_KINDS})"
    if kind == "enum" and where == "as":
        return f"as {error['input']!r} is not a kind of the system (one of {UNIT_KINDS})"
    return f"{where}: {error['msg'].lower()}"


def _label(what: str, index: int, entry: object, key: str) -> str:
    """How an error names its entry: unit "Engine 1", station 3 "Erottaja" (or station 3, without a name)."""
    name = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(name, str):
        return f"{what} {index}"
    return f'{what} "{name}"' if what == "unit" else f'{what} {index} "{name}"'


def _entries(raw: dict, key: str, model: type[_Strict], what: str, problems: list[str]) -> list:
    entries = raw.get(key, [])
    if not isinstance(entries, list):
        problems.append(f"{key} must be an array of tables, each headed {key} in double brackets")
        return []
    parsed = []
    for index, entry in enumerate(entries, start=1):
        try:
            parsed.append(model.model_validate(entry))
        except ValidationError as exc:
            label = _label(what, index, entry, "call_sign" if what == "unit" else "name")
            problems += [f"{label}: {_reason(error)}" for error in exc.errors()]
    return parsed


def _kinds(raw: dict, problems: list[str]) -> dict[str, tuple[UnitKind, tuple[str, ...]]]:
    kinds = default_kinds()
    declared = raw.get("kinds", {})
    if not isinstance(declared, dict):
        problems.append("kinds must be a table of kinds, e.g. kinds.first_response")
        return kinds
    for name, entry in declared.items():
        try:
            spec = KindSpec.model_validate(entry)
        except ValidationError as exc:
            problems += [f'kind "{name}": {_reason(error)}' for error in exc.errors()]
            continue
        stored = spec.stored_as or (UnitKind(name) if name in UnitKind.__members__ else None)
        if stored is None:
            problems.append(
                f'kind "{name}": not a kind of the system: say which it is, e.g. as = "engine" ({UNIT_KINDS})'
            )
            continue
        kinds[name] = (stored, tuple(spec.capabilities))
    return kinds


def _duplicates(values: list[str]) -> list[str]:
    counts = Counter(v.casefold() for v in values)
    return sorted({v for v in values if counts[v.casefold()] > 1})


def _check(fleet: Fleet, problems: list[str]) -> None:
    for name in _duplicates([s.name for s in fleet.stations]):
        places = [str(i) for i, s in enumerate(fleet.stations, start=1) if s.name.casefold() == name.casefold()]
        problems.append(f'duplicate station name "{name}" (stations {", ".join(places)})')
    for call_sign in _duplicates([u.call_sign for u in fleet.units]):
        problems.append(f'duplicate call sign "{call_sign}" (call signs name one unit each)')
    for unit in fleet.units:
        if unit.kind not in fleet.kinds:
            problems.append(f'unit "{unit.call_sign}": unknown kind "{unit.kind}" (one of {", ".join(fleet.kinds)})')


def parse(text: str, source: str = "the fleet file") -> Fleet:
    """A fleet from the text of a file; FleetError lists every problem found."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetError([f"not TOML: {exc}"], source) from None
    problems: list[str] = []
    unknown = sorted(set(raw) - {"kinds", "stations", "units"})
    if unknown:
        problems.append(f"unknown table {', '.join(unknown)} (a fleet file holds kinds, stations and units)")
    kinds = _kinds(raw, problems)
    stations = _entries(raw, "stations", StationSpec, "station", problems)
    units = _entries(raw, "units", UnitSpec, "unit", problems)
    fleet = Fleet(stations=stations, units=units, kinds=kinds)
    _check(fleet, problems)
    if problems:
        raise FleetError(problems, source)
    return fleet


def read(path: Path) -> Fleet:
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise FleetError(["no such file"], str(path)) from None
    except IsADirectoryError:
        raise FleetError(["not a file"], str(path)) from None
    except UnicodeDecodeError:
        raise FleetError(["not TOML: the file is not UTF-8 text"], str(path)) from None
    return parse(text, str(path))


def _str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _num(value: float) -> str:
    return repr(round(float(value), 7))


HEADER = """# A fleet file (docs/fleet.md): the centre's stations and standby posts, and the units homed at them.
# `dispatch units import FILE` writes it to the database; `dispatch units export` writes the database as one.
"""


def dump(fleet: Fleet, header: str = HEADER) -> str:
    """The file of a fleet: stations then units, in their order; a unit's capabilities only where they are not its
    kind's (seed.toml's), so that export, import and export again give the same text."""
    defaults = default_kinds()
    lines = [header.rstrip("\n")]
    for name, (system, declared) in fleet.kinds.items():  # the file's own kinds, as it declared them
        if name not in defaults:
            lines += ["", f"[kinds.{_str(name)}]", f"as = {_str(system.value)}"]
            lines.append(f"capabilities = [{', '.join(_str(c) for c in declared)}]")
    for station in fleet.stations:
        lines += ["", "[[stations]]", f"name = {_str(station.name)}", f"kind = {_str(station.kind.value)}"]
        lines += [f"lon = {_num(station.lon)}", f"lat = {_num(station.lat)}"]
        if station.municipality is not None:
            lines.append(f"municipality = {_str(station.municipality)}")
    for unit in fleet.units:
        lines += ["", "[[units]]", f"call_sign = {_str(unit.call_sign)}", f"kind = {_str(unit.kind)}"]
        if unit.station is not None:
            lines.append(f"station = {_str(unit.station)}")
        capabilities = fleet.capabilities(unit)
        if unit.kind not in defaults or list(defaults[unit.kind][1]) != capabilities:
            lines.append(f"capabilities = [{', '.join(_str(c) for c in capabilities)}]")
    return "\n".join(lines) + "\n"
