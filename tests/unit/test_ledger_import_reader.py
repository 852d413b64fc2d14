"""CSV and XLSX files as numbered rows of cells, and the file-level refusals."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime

import openpyxl
import pytest

from services.pairing.ledger_import import reader
from services.pairing.ledger_import.reader import XLSX_TYPE, FileProblem, Format, detect, read


def xlsx(*rows: list[object]) -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("台账")
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_csv_in_utf8_with_or_without_bom() -> None:
    text = "企业名称,村名称\n企业1,村1\n"
    for data in (text.encode(), b"\xef\xbb\xbf" + text.encode()):
        sheet = read(data, Format.csv)
        assert sheet.headers == ("企业名称", "村名称")
        assert [(r.number, r.cells) for r in sheet.rows] == [(2, ("企业1", "村1"))]


def test_csv_rows_are_numbered_as_a_spreadsheet_shows_them() -> None:
    data = '企业名称,备注\n企业1,"两行\n备注"\n,\n\n企业2,\n'.encode()
    sheet = read(data, Format.csv)
    # The quoted line break stays in its cell; empty rows are skipped but keep their numbers.
    assert [(r.number, r.cells[0]) for r in sheet.rows] == [(2, "企业1"), (5, "企业2")]


def test_csv_not_in_utf8_is_refused_with_how_to_save_it() -> None:
    with pytest.raises(FileProblem) as refused:
        read("企业名称\n企业1\n".encode("gbk"), Format.csv)
    assert refused.value.rule == "ledger_readable" and "CSV UTF-8" in refused.value.reason


def test_xlsx_cells_keep_their_types_and_row_numbers() -> None:
    data = xlsx(
        ["企业名称", "签约日期", "投资额（元）"], ["企业1", datetime(2026, 11, 1), 1500000.5], [], ["企业2"]
    )
    sheet = read(data, Format.xlsx)
    assert sheet.headers == ("企业名称", "签约日期", "投资额（元）")
    assert [(r.number, r.cells) for r in sheet.rows] == [
        (2, ("企业1", datetime(2026, 11, 1), 1500000.5)),
        (4, ("企业2",)),
    ]


def test_trailing_empty_headers_are_dropped() -> None:
    assert read(xlsx(["企业名称", None, "  "], ["企业1"]), Format.xlsx).headers == ("企业名称",)


@pytest.mark.parametrize("data", [b"not a workbook", b"PK\x03\x04broken"])
def test_an_unreadable_xlsx_is_refused(data: bytes) -> None:
    with pytest.raises(FileProblem) as refused:
        read(data, Format.xlsx)
    assert refused.value.rule == "ledger_readable" and refused.value.status == 422


def test_a_file_past_the_row_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "LEDGER", dataclasses.replace(reader.LEDGER, max_rows=3))
    assert len(read(b"a\n1\n2\n3\n", Format.csv).rows) == 3
    with pytest.raises(FileProblem) as refused:
        read(b"a\n1\n2\n3\n4\n", Format.csv)
    assert refused.value.rule == "ledger_row_limit"


@pytest.mark.parametrize(
    ("filename", "content_type", "head", "expected"),
    [
        ("台账.xlsx", "application/octet-stream", b"", Format.xlsx),
        ("TAIZHANG.XLSX", "", b"", Format.xlsx),
        ("upload", XLSX_TYPE, b"", Format.xlsx),
        ("台账.csv", "application/octet-stream", b"", Format.csv),
        ("upload", "text/csv; charset=utf-8", b"", Format.csv),
        ("upload", "application/octet-stream", b"PK\x03\x04", Format.xlsx),
    ],
)
def test_the_format_follows_extension_content_type_or_content(
    filename: str, content_type: str, head: bytes, expected: Format
) -> None:
    assert detect(filename, content_type, head) is expected


@pytest.mark.parametrize(
    ("filename", "head", "reason"),
    [
        ("台账.xls", b"", ".xlsx"),
        ("upload", b"\xd0\xcf\x11\xe0\xa1\xb1", ".xlsx"),
        ("台账.pdf", b"%PDF", ".csv (UTF-8) or .xlsx"),
    ],
)
def test_other_formats_are_refused_as_unsupported(filename: str, head: bytes, reason: str) -> None:
    with pytest.raises(FileProblem) as refused:
        detect(filename, "application/octet-stream", head)
    assert (refused.value.rule, refused.value.status) == ("ledger_file_type", 415)
    assert reason in refused.value.reason
