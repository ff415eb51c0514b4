"""What the area-coverage rule counts: the free units of each (area, capability). Pure, as the core is."""

from collections.abc import Iterable
from typing import Protocol

from dispatch.statuses import FREE_UNIT


class _Countable(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def area(self) -> str | None: ...
    @property
    def capabilities(self) -> frozenset[str]: ...


def free_counts(units: Iterable[_Countable]) -> dict[tuple[str | None, str], int]:
    """The free units of each (area, capability): what the area-coverage rule counts. Anything with `status`,
    `area` and `capabilities` will do (the board's units as they are, without converting a thousand)."""
    counts: dict[tuple[str | None, str], int] = {}
    for unit in units:
        if unit.status in FREE_UNIT:
            for capability in unit.capabilities:
                key = (unit.area, capability)
                counts[key] = counts.get(key, 0) + 1
    return counts
