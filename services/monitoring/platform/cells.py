"""One cell read as its column's kind: codes, names, quarters, dates, whole numbers and yuan.

XLSX number cells arrive as float; they are read through their shortest decimal spelling
(``repr``), which is what was typed, and never computed with as floats. Each reader raises
``CellProblem`` with the rule and a reason the platform's operator can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from services.monitoring.personal import citizen_id_problem
from services.monitoring.platform.layout import STATUS_NAMES, Column, Kind
from services.monitoring.platform.reader import Cell
from shared.events.catalogue.monitoring import HouseholdStatus
from shared.tabular.cells import CellProblem, normal, read_date, read_decimal, shown

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$|^(\d{4})年第([1-4一二三四])季度$")
_QUARTER_DIGIT = {"一": "1", "二": "2", "三": "3", "四": "4"}
_PHONE = re.compile(r"^[0-9+\- ]{5,20}$")
_EXACT_FLOAT = 1e15  # above this a number cell may have lost digits (Excel keeps 15)
_MAX_YUAN_DIGITS = 9  # a household's yuan per person or per year stay below a billion
_MIN_INCOME = Decimal(-1_000_000)
_CENT = Decimal("0.01")
_STATUS = {name: status for status, name in STATUS_NAMES.items()} | {s.value: s for s in HouseholdStatus}


def read_cell(column: Column, cell: Cell) -> Any:
    """The cell's value, or None when it is empty."""
    if type(cell) is str:  # every CSV cell: checked first, a batch has a million of them
        if not cell or cell.isspace():
            return None
        if "\x00" in cell:
            # PostgreSQL text holds no U+0000: it would fail every projection of the event.
            raise CellProblem("value_format", "text without the NUL character (U+0000)")
    elif cell is None:
        return None
    return READERS[column.kind](cell)


def read_code(cell: Cell) -> str:
    """Digits kept as text; a number cell only while it is exact."""
    if isinstance(cell, str):
        return normal(cell)
    if isinstance(cell, bool):
        raise CellProblem("value_format", "a code, not TRUE/FALSE")
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, float):
        if not cell.is_integer() or abs(cell) >= _EXACT_FLOAT:
            raise CellProblem(
                "value_format",
                "stored as a number, which keeps only 15 digits: format the column as text and retype it",
            )
        return str(int(cell))
    raise CellProblem("value_format", "a code, not a date")


def read_village(cell: Cell) -> str:
    code = read_code(cell)
    if len(code) != 12 or not code.isdigit():
        raise CellProblem("value_valid", "a division code has exactly 12 digits")
    return code


def read_text(cell: Cell) -> str:
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < _EXACT_FLOAT:
        return str(int(cell))
    text = shown(cell)
    if len(text) > 50:
        raise CellProblem("value_valid", "at most 50 characters")
    return text


def read_citizen_id(cell: Cell) -> str:
    value = read_code(cell).upper()
    problem = citizen_id_problem(value)
    if problem:
        raise CellProblem("value_valid", problem)
    return value


def read_status(cell: Cell) -> HouseholdStatus:
    text = normal(cell)
    status = _STATUS.get(text) or _STATUS.get(text.lower())
    if status is None:
        raise CellProblem("value_format", f"'{text}' is not one of: {'、'.join(STATUS_NAMES.values())}")
    return status


def read_period(cell: Cell) -> str:
    text = "".join(normal(cell).split()).upper()
    match = _QUARTER.match(text)
    if not match:
        raise CellProblem("value_format", "a quarter as 2026Q3 or 2026年第3季度")
    if match[1]:
        return f"{match[1]}Q{match[2]}"
    return f"{match[3]}Q{_QUARTER_DIGIT.get(match[4], match[4])}"


def read_integer(cell: Cell) -> int:
    if isinstance(cell, str) and len(cell) < 4 and cell.isascii() and cell.isdigit():
        value = int(cell)
        if not 1 <= value <= 50:
            raise CellProblem("value_valid", "a household has 1 to 50 members")
        return value
    return _members(read_decimal(cell))


def _members(value: Decimal) -> int:
    if value != value.to_integral_value():
        raise CellProblem("value_format", "a whole number")
    if not 1 <= value <= 50:
        raise CellProblem("value_valid", "a household has 1 to 50 members")
    return int(value)


def read_yuan(cell: Cell) -> Decimal:
    value = read_decimal(cell)
    if value.adjusted() >= _MAX_YUAN_DIGITS:
        raise CellProblem("value_valid", "too large an amount of yuan")
    cents = value.quantize(_CENT)
    if cents != value:
        raise CellProblem("value_format", "yuan with at most 2 decimals")
    if value < _MIN_INCOME:
        raise CellProblem("value_valid", "not below −1,000,000")
    return cents


def read_yuan_spent(cell: Cell) -> Decimal:
    value = read_yuan(cell)
    if value < 0:
        raise CellProblem("value_valid", "an expense is 0 or more")
    return value


def read_phone(cell: Cell) -> str:
    value = read_code(cell)
    if not _PHONE.match(value):
        raise CellProblem("value_valid", "5–20 digits, + - or spaces")
    return value


READERS: dict[Kind, Callable[[Cell], Any]] = {
    Kind.village_code: read_village,
    Kind.text: read_text,
    Kind.citizen_id: read_citizen_id,
    Kind.status: read_status,
    Kind.integer: read_integer,
    Kind.period: read_period,
    Kind.yuan: read_yuan,
    Kind.yuan_spent: read_yuan_spent,
    Kind.date: read_date,
    Kind.phone: read_phone,
    Kind.ignored: lambda cell: None,
}
