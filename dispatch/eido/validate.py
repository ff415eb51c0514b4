"""An EIDO from outside, checked before anything is written: JSON within bounds, the version this service reads,
the standard's components (dispatch.eido.schema), unique `$id`s and every `$ref` naming one of them.

The request body is bounded by the edge (DISPATCH_MAX_BODY_BYTES, 413); here the nesting is, before any model
sees the document, so a hostile one costs one bounded walk. Every refusal is InvalidEido (422) naming the field.
"""

from typing import Any

import orjson
from pydantic import ValidationError

from dispatch.eido.schema import EIDO_VERSION, Eido
from dispatch.errors import InvalidInput

# The standard's own nesting is at most 7 deep (the EIDO, a component, its NIEM person, a name, a name text);
# anything much deeper is not an EIDO.
MAX_DEPTH = 16


class InvalidEido(InvalidInput):
    code, title = "invalid_eido", "Invalid or unsupported EIDO"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", extra={"field": field})
        self.field = field


def path(loc: tuple[Any, ...]) -> str:
    """('callComponent', 0, 'callStartTimestamp') as callComponent[0].callStartTimestamp."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _check_depth(document: Any) -> None:
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(document, 1, ())]
    while stack:
        value, depth, loc = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidEido(path(loc), f"nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, (*loc, i)) for i, v in enumerate(value))


def _references(document: Any) -> tuple[dict[str, tuple[Any, ...]], list[tuple[str, tuple[Any, ...]]]]:
    """Every `$id` (where it is) and every `$ref` (and where), anywhere in the document."""
    ids: dict[str, tuple[Any, ...]] = {}
    refs: list[tuple[str, tuple[Any, ...]]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        value, loc = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("$id"), str):
                if value["$id"] in ids:
                    raise InvalidEido(path((*loc, "$id")), f"'{value['$id'][:80]}' is the $id of another component")
                ids[value["$id"]] = loc
            if isinstance(value.get("$ref"), str):
                refs.append((value["$ref"], (*loc, "$ref")))
            stack.extend((v, (*loc, k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in enumerate(value))
    return ids, sorted(refs, key=lambda r: str(r[1]))


def parse(body: bytes) -> Eido:
    """The EIDO in a request body or a file, or InvalidEido naming what is wrong."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:  # orjson refuses nesting past 1,024 here too
        raise InvalidEido("(document)", f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidEido("(document)", "an EIDO is a JSON object")
    _check_depth(document)
    version = document.get("eidoVersion")
    if version != EIDO_VERSION:
        shown = "missing" if version is None else f"{str(version)[:20]!r} is not supported"
        raise InvalidEido("eidoVersion", f"{shown} (this service reads EIDO version {EIDO_VERSION})")
    try:
        eido = Eido.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_context=False, include_input=False)[0]
        raise InvalidEido(path(first["loc"]), first["msg"]) from None
    ids, refs = _references(document)
    for ref, loc in refs:
        if ref not in ids:
            raise InvalidEido(path(loc), f"'{ref[:80]}' names no component of this EIDO")
    return eido
