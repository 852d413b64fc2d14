"""Reporting tables as files: one ``Table`` as CSV, any number of them as one XLSX workbook.

Pure (no I/O): the caller builds the tables and sends the bytes. CSV is a plain rectangle
(headers, rows, the 合计 row) that a program can read back; the workbook is for people: a title,
bold headers, money and percentages as real numbers with formats, the totals in bold, the notes
under each table.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting.tables.table import Column, Kind, Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

YUAN_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "yyyy-mm-dd"
INTEGER_FORMAT = "#,##0"

_SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_NOTE = Font(italic=True, color="555555")
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_HEADER_ROW = 3  # title, caption, then the headers


def csv_bytes(table: Table) -> bytes:
    """UTF-8 with a BOM (so that spreadsheets read the Chinese right): headers, rows, 合计 row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in _body(table):
        writer.writerow([_csv_cell(c, row.get(c.key)) for c in table.columns])
    return "\ufeff".encode() + buffer.getvalue().encode()


def xlsx_bytes(tables: Sequence[Table], caption: str = "") -> bytes:
    """One sheet per table, named by its title; ``caption`` (region, as of, period) under each title."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    names = sheet_names([t.title for t in tables])
    for table, name in zip(tables, names, strict=True):
        _write_sheet(workbook.create_sheet(name), table, caption)
    if not tables:
        workbook.create_sheet("空")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Valid (≤ 31 characters, none of ``[]:*?/\\``) and unique, case-insensitively as Excel wants."""
    names: list[str] = []
    taken: set[str] = set()
    for title in titles:
        base = _SHEET_FORBIDDEN.sub("_", title).strip("'").strip() or "表"
        name = base[:_SHEET_NAME_MAX]
        n = 1
        while name.casefold() in taken:
            n += 1
            suffix = f"({n})"
            name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def _write_sheet(sheet: Worksheet, table: Table, caption: str) -> None:
    columns = table.columns
    sheet.cell(row=1, column=1, value=table.title).font = _TITLE
    if caption:
        sheet.cell(row=2, column=1, value=caption).font = _NOTE
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=_HEADER_ROW, column=index, value=column.header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    widths = [_width(c.header) for c in columns]
    row_number = _HEADER_ROW
    for row in _body(table):
        row_number += 1
        bold = row is table.totals
        for index, column in enumerate(columns, start=1):
            cell = sheet.cell(row=row_number, column=index)
            _set(cell, column, row.get(column.key))
            if bold:
                cell.font = _BOLD
            widths[index - 1] = max(widths[index - 1], _width(_shown(column, row.get(column.key))))
    notes_row = row_number + 2
    for offset, note in enumerate(table.notes):
        cell = sheet.cell(row=notes_row + offset, column=1, value=note)
        cell.data_type = "s"
        cell.font = _NOTE
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = sheet.cell(row=_HEADER_ROW + 1, column=1)


def _body(table: Table) -> list[Mapping[str, Any]]:
    return [*table.rows, *([table.totals] if table.totals is not None else [])]


def _set(cell: Cell, column: Column, value: Any) -> None:
    """The value in its own type (numbers stay numbers, dates dates) with the column's format."""
    if value is None or value == "":
        return
    kind = column.kind
    if kind is Kind.yuan:
        cell.value = _decimal(value)
        cell.number_format = YUAN_FORMAT
    elif kind is Kind.percent:
        cell.value = _decimal(value) / 100
        cell.number_format = PERCENT_FORMAT
    elif kind is Kind.integer and not isinstance(value, str):
        cell.value = int(value)
        cell.number_format = INTEGER_FORMAT
    elif kind is Kind.date:
        cell.value = _day(value)
        cell.number_format = DATE_FORMAT
    else:
        cell.value = str(value)
        cell.data_type = "s"  # never a formula, whatever the text starts with


def _csv_cell(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind is Kind.yuan:
        return f"{_decimal(value):.2f}"
    if column.kind is Kind.percent:
        return f"{_decimal(value):.1f}"
    if column.kind is Kind.date:
        return _day(value).isoformat()
    text = str(value)
    if column.kind is Kind.text and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _shown(column: Column, value: Any) -> str:
    """About what a spreadsheet shows, for the column's width."""
    if value is None or value == "":
        return ""
    if column.kind is Kind.yuan:
        return f"{_decimal(value):,.2f}"
    if column.kind is Kind.percent:
        return f"{_decimal(value):.1f}%"
    return str(value)


def _width(text: str) -> int:
    """Display width in Latin characters: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
