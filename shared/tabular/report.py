"""What an import reports of a rejected row: one shape for every import."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row (or, with row 1, a header). ``rule`` names the rule it breaks."""

    row: int
    column: str | None
    value: str | None
    reason: str
    rule: str
    field: str | None = None  # the API name of the column's field, e.g. credit_code

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def in_order(errors: list[RowError], columns: list[str]) -> list[RowError]:
    """By row, then in the layout's column order."""
    position = {header: i for i, header in enumerate(columns)}
    return sorted(errors, key=lambda e: (e.row, position.get(e.column or "", len(position))))
