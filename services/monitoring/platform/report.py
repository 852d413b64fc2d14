"""What an import tells the platform about a rejected row: the pairing ledger import's shape
(row, column, value, reason, rule, field), with citizen ID numbers never shown in clear."""

from __future__ import annotations

from services.monitoring.personal import mask_id
from shared.tabular.report import RowError, in_order

__all__ = ["RowError", "in_order", "masked"]


def masked(value: str) -> str:
    """An ID-number cell as a report may show it: ``1506**********0012``; a short one all stars."""
    return mask_id(value) if len(value) > 8 else "*" * len(value)
