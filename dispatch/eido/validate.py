"""An EIDO from outside, checked before anything is written: JSON within bounds, the version this service reads,
the standard's components (dispatch.eido.schema), unique `$id`s, every `$ref` naming one of them and every
PIDF-LO position a point on the earth.

The request body is bounded by the edge (DISPATCH_MAX_BODY_BYTES, 413); here the nesting is, before any model
sees the document, so a hostile one costs one bounded walk. Every refusal is InvalidEido (422): it lists every
error found (the first MAX_ERRORS), each naming its field, so a sender fixes its EIDO in one round.
"""

from typing import Any

import orjson
from pydantic import ValidationError

from dispatch.eido import pidf
from dispatch.eido.schema import EIDO_VERSION, Eido
from dispatch.errors import InvalidInput

# The standard's own nesting is at most 7 deep (the EIDO, a component, its NIEM person, a name, a name text);
# anything much deeper is not an EIDO.
MAX_DEPTH = 16
MAX_ERRORS = 20  # listed in one answer; the detail says how many more there were

Loc = tuple[str | int, ...]
Error = tuple[Loc, str, str]  # where, what is wrong, the kind of error (pydantic's type, or one of these)


class InvalidEido(InvalidInput):
    """The errors of one EIDO, as the API's other 422s list theirs (`errors`: loc, msg, type), each with its
    `field` written as a path; `field` of the problem is the first one's."""

    code, title = "invalid_eido", "Invalid or unsupported EIDO"

    def __init__(self, *errors: Error) -> None:
        listed = errors[:MAX_ERRORS]
        detail = "; ".join(f"{path(loc)}: {msg}" for loc, msg, _ in listed)
        if len(errors) > MAX_ERRORS:
            detail += f"; and {len(errors) - MAX_ERRORS} more errors"
        self.field = path(listed[0][0])
        self.errors: list[dict[str, Any]] = [
            {"loc": list(loc), "field": path(loc), "msg": msg, "type": kind} for loc, msg, kind in listed
        ]
        super().__init__(detail, extra={"field": self.field, "errors": self.errors})


def path(loc: Loc) -> str:
    """('callComponent', 0, 'callStartTimestamp') as callComponent[0].callStartTimestamp."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _too_deep(document: Any) -> list[Error]:
    errors: list[Error] = []
    stack: list[tuple[Any, int, Loc]] = [(document, 1, ())]
    while stack and len(errors) <= MAX_ERRORS:
        value, depth, loc = stack.pop()
        if depth > MAX_DEPTH:
            errors.append((loc, f"nested more than {MAX_DEPTH} deep", "too_deep"))
        elif isinstance(value, dict):
            stack.extend((v, depth + 1, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, (*loc, i)) for i, v in enumerate(value))
    return errors


def _references(document: Any) -> list[Error]:
    """A `$id` given twice, and a `$ref` naming no `$id`, anywhere in the document, in the document's order."""
    ids: set[str] = set()
    errors: list[Error] = []
    refs: list[tuple[str, Loc]] = []
    stack: list[tuple[Any, Loc]] = [(document, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("$id"), str):
                if value["$id"] in ids:
                    said = f"'{value['$id'][:80]}' is the $id of another component"
                    errors.append(((*loc, "$id"), said, "duplicate_id"))
                ids.add(value["$id"])
            if isinstance(value.get("$ref"), str):
                refs.append((value["$ref"], (*loc, "$ref")))
            stack.extend((v, (*loc, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in reversed(list(enumerate(value))))
    errors += [
        (loc, f"'{ref[:80]}' names no component of this EIDO", "unknown_ref") for ref, loc in refs if ref not in ids
    ]
    return errors


def _positions(document: dict[str, Any]) -> list[Error]:
    """A PIDF-LO whose `gml:pos` is no point (not two numbers, a latitude past 90…): refused, not read as none."""
    errors: list[Error] = []
    locations = document.get("locationComponent")
    for i, location in enumerate(locations if isinstance(locations, list) else []):
        by_value = location.get("locationByValue") if isinstance(location, dict) else None
        if isinstance(by_value, str):
            try:
                pidf.position(by_value)
            except pidf.InvalidPosition as exc:
                errors.append((("locationComponent", i, "locationByValue"), str(exc), "invalid_position"))
    return errors


def _version(version: Any) -> str | None:
    if version == EIDO_VERSION and isinstance(version, str):
        return None
    if version is None:
        shown = "missing"
    elif isinstance(version, int | float) and not isinstance(version, bool):
        shown = f'must be the string "{EIDO_VERSION}", not the number {version}'
    else:
        shown = f"{str(version)[:20]!r} is not supported"
    return f"{shown} (this service reads EIDO version {EIDO_VERSION})"


def parse(body: bytes) -> Eido:
    """The EIDO in a request body or a file, or InvalidEido listing what is wrong."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:  # orjson refuses nesting past 1,024 here too
        raise InvalidEido(((), f"not JSON: {exc}", "json_invalid")) from None
    if not isinstance(document, dict):
        raise InvalidEido(((), "an EIDO is a JSON object", "not_an_object"))
    too_deep = _too_deep(document)
    if too_deep:  # no model reads such a document
        raise InvalidEido(*too_deep)
    # Another version's document is not read as this one's: its other errors would only be noise.
    wrong_version = _version(document.get("eidoVersion"))
    if wrong_version:
        raise InvalidEido((("eidoVersion",), wrong_version, "eido_version"))
    errors: list[Error] = []
    try:
        eido = Eido.model_validate(document)
    except ValidationError as exc:
        errors = [
            (tuple(e["loc"]), e["msg"], e["type"])
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    errors += _references(document) + _positions(document)
    if errors:
        raise InvalidEido(*errors)
    return eido
