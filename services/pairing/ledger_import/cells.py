"""One cell read as its column's kind: Chinese names, 是/否, dates, whole numbers and yuan.

XLSX number cells arrive as float; they are read through their shortest decimal spelling
(``repr``), which is what the officer typed, and never computed with as floats.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from services.pairing.ledger_import.layout import (
    EXAMPLE_MARK,
    NO_LEADING_LEVEL,
    PATHWAY_SUFFIX,
    Column,
    Kind,
)
from services.pairing.ledger_import.reader import Cell
from shared.tabular.cells import CellProblem, read_date, read_decimal, shown

_SEPARATORS = re.compile(r"[、,;/]")  # after NFKC, which folds ， ； ／ to , ; /
_EXACT_FLOAT = 1e15  # above this a number cell may have lost digits (Excel keeps 15)
_MAX_DIGITS = 9  # people: a ledger line never commits a billion jobs or trainees
_MAX_YUAN_DIGITS = 12  # below a trillion yuan, as the collective incomes (14 digits with 2 decimals)
_YES, _NO = ("是", "true", "yes", "y"), ("否", "false", "no", "n")


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def is_example(cell: Cell) -> bool:
    return isinstance(cell, str) and cell.strip() == EXAMPLE_MARK


def read_cell(column: Column, cell: Cell) -> Any:
    """The cell's value for the command, or None when it is empty (the command's default)."""
    if blank(cell) or column.kind is Kind.ignored:
        return None
    if isinstance(cell, str) and "\x00" in cell:
        # PostgreSQL text holds no U+0000: it would fail every projection of the event.
        raise CellProblem("value_format", "text without the NUL character (U+0000)")
    return _READERS[column.kind](column, cell)


def _text(_: Column, cell: Cell) -> str:
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < _EXACT_FLOAT:
        return str(int(cell))
    return shown(cell)


def _code(_: Column, cell: Cell) -> str:
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
    if isinstance(cell, date | datetime):
        raise CellProblem("value_format", "a code, not a date")
    return unicodedata.normalize("NFKC", str(cell)).strip()


def _enum_value(column: Column, text: str) -> Enum:
    assert column.names is not None
    wanted = unicodedata.normalize("NFKC", text).strip()
    for value, name in column.names.items():
        if wanted in (name, value.value) or wanted.lower() == value.value:
            return value
        if column.kind is Kind.choices and wanted == name + PATHWAY_SUFFIX:
            return value
    raise CellProblem("value_format", f"'{wanted}' is not one of: {'、'.join(column.accepted())}")


def _choice(column: Column, cell: Cell) -> Enum | None:
    text = shown(cell)
    if column.field == ("leading_level",) and text in NO_LEADING_LEVEL:
        return None
    return _enum_value(column, text)


def _choices(column: Column, cell: Cell) -> list[Enum]:
    parts = [p.strip() for p in _SEPARATORS.split(unicodedata.normalize("NFKC", shown(cell)))]
    return [_enum_value(column, part) for part in parts if part]


def _yes_no(_: Column, cell: Cell) -> bool:
    if isinstance(cell, bool):
        return cell
    text = shown(cell).lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise CellProblem("value_format", "是 or 否")


def _integer(_: Column, cell: Cell) -> int:
    value = read_decimal(cell)
    if value != value.to_integral_value():
        raise CellProblem("value_format", "a whole number")
    if value.adjusted() >= _MAX_DIGITS:
        raise CellProblem("value_format", "too large a number")
    return int(value)


def _money(_: Column, cell: Cell) -> Decimal:
    value = read_decimal(cell)
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -2:
        raise CellProblem("value_format", "yuan with at most 2 decimals")
    if value.adjusted() >= _MAX_YUAN_DIGITS:
        raise CellProblem("value_format", "too large an amount of yuan")
    return value.quantize(Decimal("0.01"))


_READERS = {
    Kind.text: _text,
    Kind.code: _code,
    Kind.choice: _choice,
    Kind.choices: _choices,
    Kind.yes_no: _yes_no,
    Kind.date: lambda _, cell: read_date(cell),
    Kind.integer: _integer,
    Kind.money: _money,
}
