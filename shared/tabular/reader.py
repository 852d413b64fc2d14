"""A CSV or XLSX file as a header and numbered rows of raw cells (no column knowledge here).

One reader for every import (the pairing ledger, the provincial survey batch); a ``FileKind``
gives each its limits and the words and rule names its refusals use.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import openpyxl

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_CSV_TYPES = {"text/csv", "application/csv", "text/comma-separated-values"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls

Cell = Any  # str, int, float, bool, datetime or None: what a CSV or XLSX cell holds


@dataclass(frozen=True)
class FileKind:
    """What one import reads: its limits bound a hostile file's cost."""

    rule: str  # refusals are `<rule>_file_type`, `<rule>_readable`, `<rule>_row_limit`, …
    noun: str  # "a ledger file": as refusals name the file
    part: str  # "the ledger": what the multipart field `file` holds
    title: str  # "Ledger": as problem titles begin
    max_rows: int
    max_columns: int  # a sheet may claim 16,384 formatted columns
    max_bytes: int

    @property
    def max_sheet_rows(self) -> int:
        return 10 * self.max_rows  # empty rows included: a sheet's rows are read to find its data


class Format(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


class FileProblem(Exception):
    """The file as a whole cannot be imported (no row is looked at)."""

    def __init__(
        self, rule: str, reason: str, *, status: int = 422, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(reason)
        self.rule, self.reason, self.status = rule, reason, status
        self.errors = errors or []


class Row(NamedTuple):
    number: int  # the spreadsheet row number; the header is row 1
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Sheet:
    headers: tuple[str, ...]
    rows: list[Row]


def detect(kind: FileKind, filename: str, content_type: str, head: bytes) -> Format:
    """By extension or content type; the first bytes settle an upload that names neither."""
    name, media = filename.lower(), content_type.split(";")[0].strip().lower()
    if head.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise FileProblem(
            f"{kind.rule}_file_type", "the old .xls format is not read: save the file as .xlsx", status=415
        )
    if name.endswith(".xlsx") or media == XLSX_TYPE:
        return Format.xlsx
    if name.endswith(".csv") or media in _CSV_TYPES:
        return Format.csv
    if head.startswith(_ZIP_MAGIC):
        return Format.xlsx
    raise FileProblem(
        f"{kind.rule}_file_type",
        f"send a .csv (UTF-8) or .xlsx file, not '{filename or media or 'unnamed'}'",
        status=415,
    )


def read(kind: FileKind, data: bytes, fmt: Format) -> Sheet:
    return _sheet(kind, _csv_rows(kind, data) if fmt is Format.csv else _xlsx_rows(kind, data))


def _csv_rows(kind: FileKind, data: bytes) -> Iterator[tuple[Cell, ...]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"{kind.rule}_readable",
            f"the CSV file is not UTF-8 (byte {exc.start}): save it as 'CSV UTF-8', or send the .xlsx",
        ) from None
    try:
        yield from (tuple(record) for record in csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise FileProblem(f"{kind.rule}_readable", f"the CSV file cannot be read: {exc}") from None


def _xlsx_rows(kind: FileKind, data: bytes) -> Iterator[tuple[Cell, ...]]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises anything from zipfile, XML and its own checks
        raise FileProblem(
            f"{kind.rule}_readable", f"the file is not a readable .xlsx workbook ({exc.__class__.__name__})"
        ) from None
    try:
        if not workbook.worksheets:
            raise FileProblem(f"{kind.rule}_readable", "the workbook has no sheet")
        # Read-only sheets yield an empty tuple for a missing row, so positions are row numbers.
        yield from workbook.worksheets[0].iter_rows(min_row=1, max_col=kind.max_columns, values_only=True)
    finally:
        workbook.close()


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _sheet(kind: FileKind, records: Iterable[tuple[Cell, ...]]) -> Sheet:
    iterator = iter(records)
    header = next(iterator, ())
    headers = tuple("" if _blank(cell) else str(cell).strip() for cell in header)
    while headers and not headers[-1]:
        headers = headers[:-1]
    rows: list[Row] = []
    for number, cells in enumerate(iterator, start=2):
        if number > kind.max_sheet_rows:
            raise FileProblem(
                f"{kind.rule}_row_limit",
                f"the sheet has more than {kind.max_sheet_rows} rows, empty ones included",
            )
        end = len(cells)
        while end and _blank(cells[end - 1]):
            end -= 1  # read-only sheets pad every row to the widest; spreadsheets keep empty rows
        if not end:
            continue
        if len(rows) == kind.max_rows:
            raise FileProblem(
                f"{kind.rule}_row_limit", f"{kind.noun} has at most {kind.max_rows} rows; split it"
            )
        rows.append(Row(number, cells if end == len(cells) else cells[:end]))
    return Sheet(headers, rows)
