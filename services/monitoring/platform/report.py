"""What an import tells the platform about a rejected row: the pairing ledger import's shape
(row, column, value, reason, rule, field), with citizen ID numbers never shown in clear."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.monitoring.personal import mask_id


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row (or, with row 1, a header). ``rule`` names the rule it breaks."""

    row: int
    column: str | None
    value: str | None
    reason: str
    rule: str
    field: str | None = None  # the API name of the column's value, e.g. head_id_number

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def masked(value: str) -> str:
    """An ID-number cell as a report may show it: ``1506**********0012``; a short one all stars."""
    return mask_id(value) if len(value) > 8 else "*" * len(value)


def in_order(errors: list[RowError], columns: list[str]) -> list[RowError]:
    """By row, then in the layout's column order."""
    position = {header: i for i, header in enumerate(columns)}
    return sorted(errors, key=lambda e: (e.row, position.get(e.column or "", len(position))))
