"""One shape for every reporting table: its Chinese title and headers, its rows and its totals row.

The API answers a ``Table`` as JSON; the same value becomes a CSV file or an XLSX sheet
(``services/reporting/export.py``), so every table exports the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    text = "text"
    integer = "integer"
    yuan = "yuan"  # Decimal, two places
    percent = "percent"  # Decimal percent, one place (e.g. 87.5); None when the base is zero
    date = "date"


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # Chinese, as the county's forms name it
    kind: Kind = Kind.text
    summed: bool = False  # added up in the totals row


@dataclass(frozen=True)
class Table:
    name: str  # the table's id in URLs, e.g. "statistics"
    title: str  # e.g. "帮扶统计表"
    columns: tuple[Column, ...]
    rows: tuple[Mapping[str, Any], ...]
    totals: Mapping[str, Any] | None = None  # the 合计 row, or None for a table without one
    notes: tuple[str, ...] = field(default=())  # how a figure is defined, shown under the table

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "header": c.header, "kind": c.kind.value} for c in self.columns],
            "rows": [dict(r) for r in self.rows],
            "totals": dict(self.totals) if self.totals is not None else None,
            "notes": list(self.notes),
        }


TOTAL_LABEL = "合计"


def totals_row(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The 合计 row: each summed column added up; the first column says 合计."""
    rows = list(rows)
    total: dict[str, Any] = {columns[0].key: TOTAL_LABEL}
    for column in columns:
        if column.summed:
            zero: Any = Decimal(0) if column.kind is Kind.yuan else 0
            total[column.key] = sum((r.get(column.key) or zero for r in rows), start=zero)
    return total


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part`` of ``whole`` in percent, one decimal place; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
