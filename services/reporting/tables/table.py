"""One shape for every reporting table: its Chinese title and headers, its rows and its totals row.

The API answers a ``Table`` as JSON; the same value becomes a CSV file or an XLSX sheet
(``services/reporting/export.py``), so every table exports the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
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
    key: tuple[str, ...] = ()  # the columns naming a row, where the first column alone does not

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values: money and percentages as decimal strings (never floats), dates ISO."""
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "header": c.header, "kind": c.kind.value} for c in self.columns],
            "rows": [plain(r) for r in self.rows],
            "totals": plain(self.totals) if self.totals is not None else None,
            "notes": list(self.notes),
            "key": list(self.key),
        }


def plain(value: Any) -> Any:
    """``value`` in JSON's own types, the same way every time (a filed table is hashed in this form)."""
    match value:
        case bool() | int() | str() | None:
            return value
        case Decimal():
            return str(value)
        case datetime() | date():
            return value.isoformat()
        case uuid.UUID():
            return str(value)
        case Enum():
            return plain(value.value)
        case float():
            raise TypeError("a table holds no floats (money is Decimal)")
        case Mapping():
            return {str(k): plain(v) for k, v in value.items()}
        case list() | tuple():
            return [plain(v) for v in value]
    raise TypeError(f"a table cannot hold a {type(value).__name__}")


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
