"""What an import tells the officer about a row: why it was rejected, or what it left unchanged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shared.tabular.report import RowError, in_order

__all__ = ["RowError", "RowWarning", "in_order"]


@dataclass(frozen=True)
class RowWarning:
    """A row naming something already stored with another value: the stored value is kept."""

    row: int
    column: str
    value: str
    stored: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
