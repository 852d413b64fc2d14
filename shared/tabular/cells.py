"""Reading one spreadsheet cell, the parts every import shares: numbers, dates, the text shown.

XLSX number cells arrive as float; they are read through their shortest decimal spelling
(``repr``), which is what was typed, and never computed with as floats. A reader raises
``CellProblem`` with the rule and a reason the person who made the file can act on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from shared.tabular.reader import Cell

# Year first, as the ISO date or as a zh-CN spreadsheet exports a date cell to CSV (2026/1/5).
_DATE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$|^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,500,000.00


class CellProblem(Exception):
    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule, self.reason = rule, reason


def shown(cell: Cell) -> str:
    """The cell as the person who made the file sees it, for the report."""
    if cell is None:
        return ""
    if isinstance(cell, datetime) and cell.time() == time(0):
        return cell.date().isoformat()
    if isinstance(cell, date | datetime):
        return cell.isoformat()
    if isinstance(cell, float):
        return repr(cell)
    return str(cell).strip()


def normal(cell: Cell) -> str:
    """The text, full-width forms folded (NFKC: ２０２６，３ → 2026,3) and trimmed."""
    return unicodedata.normalize("NFKC", str(cell)).strip()


def read_decimal(cell: Cell) -> Decimal:
    """A number, grouped by thousands or not; never a boolean, a date, NaN or infinity."""
    if isinstance(cell, bool | date | datetime):
        raise CellProblem("value_format", "a number")
    text = repr(cell) if isinstance(cell, float) else normal(cell)
    if "," in text and _GROUPED.match(text):
        text = text.replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellProblem("value_format", "a number") from None
    if not value.is_finite():
        raise CellProblem("value_format", "a number")
    return value


def read_date(cell: Cell) -> date:
    """A date cell, or text as YYYY-MM-DD, YYYY/M/D, YYYY.M.D or YYYY年M月D日."""
    if isinstance(cell, str) and len(cell) == 10 and cell[4] == "-" == cell[7] and cell.isascii():
        try:  # the ISO form, as most files have it: read in C
            return date.fromisoformat(cell)
        except ValueError:
            pass  # and the general reader says why
    if isinstance(cell, datetime):
        if cell.time() != time(0):
            raise CellProblem("value_format", "a date without a time of day")
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float):
        raise CellProblem(
            "value_format", "a date as YYYY-MM-DD (the cell holds a number: format it as a date)"
        )
    match = _DATE.match(normal(cell))
    if not match:
        raise CellProblem("value_format", "a date as YYYY-MM-DD")
    parts = [part for part in match.groups() if part and part.isdigit()]
    try:
        return date(*(int(part) for part in parts))
    except ValueError as exc:
        raise CellProblem("value_format", f"not a calendar date: {exc}") from None
