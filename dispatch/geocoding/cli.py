"""`dispatch geocode`: one query, or a file of JSON lines."""

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from dispatch.cli_support import fail, with_errors
from dispatch.config import get_settings
from dispatch.setup import SetupError
from geo.geocoder import Geocoder, build_index

out = Console()
BATCH_FIELDS = ("q", "match", "lat", "lon", "label", "confidence", "candidates")


def _geocoder():
    try:
        return Geocoder(build_index(get_settings().libpq_url))
    except LookupError as exc:
        raise SetupError(str(exc)) from exc


def geocode(
    query: Annotated[str | None, typer.Argument(help="What the caller said")] = None,
    batch: Annotated[Path | None, typer.Option(help='JSON lines {"q": ...}; one JSON line out per line in')] = None,
    limit: Annotated[int, typer.Option(min=1, max=20)] = 5,
) -> None:
    """Geocode a query (best answer and candidates), or every line of a file."""
    if (query is None) == (batch is None):
        raise fail("give either a QUERY or --batch FILE", 2)
    if batch is not None and not batch.is_file():
        raise fail(f"{batch}: no such file", 2)
    geocoder = with_errors(_geocoder)
    if batch is not None:
        errors = _batch(geocoder, batch, limit)
        if errors:
            raise fail(f"{errors} line(s) of {batch} were not JSON objects with a string 'q'", 1)
        return
    result = geocoder.geocode(query, limit)
    out.print(
        f"[bold]{result.match}[/] {result.label or '(nothing found)'}  confidence {result.confidence:.2f}"
        + (f"  at {result.lat:.6f}, {result.lon:.6f}" if result.lat is not None else "")
    )
    if result.in_service_area is False:
        out.print("[yellow]outside the service area[/]")
    table = Table("#", "match", "label", "confidence", "lat", "lon")
    for i, c in enumerate(result.candidates, 1):
        table.add_row(str(i), c.match, c.label, f"{c.confidence:.2f}", f"{c.lat:.6f}", f"{c.lon:.6f}")
    if result.candidates:
        out.print(table)


def _batch(geocoder, path: Path, limit: int) -> int:
    errors = 0
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            try:
                item = orjson.loads(line)
                if not isinstance(item, dict) or not isinstance(item.get("q"), str):
                    raise ValueError
            except (orjson.JSONDecodeError, ValueError):
                errors += 1
                sys.stdout.buffer.write(orjson.dumps({"line": number, "error": 'expected {"q": "..."}'}) + b"\n")
                continue
            result = geocoder.geocode(item["q"], limit).to_dict()
            sys.stdout.buffer.write(orjson.dumps({k: result[k] for k in BATCH_FIELDS}) + b"\n")
    sys.stdout.flush()
    return errors
