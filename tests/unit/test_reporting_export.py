"""A reporting table as CSV and as XLSX sheets, read back as a spreadsheet program would."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting.export import (
    DATE_FORMAT,
    PERCENT_FORMAT,
    YUAN_FORMAT,
    csv_bytes,
    sheet_names,
    xlsx_bytes,
)
from services.reporting.tables.table import TOTAL_LABEL, Column, Kind, Table, percent, totals_row

COLUMNS = (
    Column("village", "村（社区）"),
    Column("code", "村代码"),
    Column("agreements", "协议数", Kind.integer, summed=True),
    Column("invested", "已到位投资（元）", Kind.yuan, summed=True),
    Column("rate", "覆盖率（%）", Kind.percent),
    Column("signed_on", "签约日期", Kind.date),
)
ROWS: tuple[dict[str, Any], ...] = (
    {
        "village": "红旗村",
        "code": "150602100001",
        "agreements": 2,
        "invested": Decimal("1234567.80"),
        "rate": percent(7, 8),
        "signed_on": date(2026, 3, 1),
    },
    {
        "village": '=HYPERLINK("http://x")',  # a name a spreadsheet must not run
        "code": "150602100002",
        "agreements": 1,
        "invested": Decimal("0.05"),
        "rate": None,  # no eligible household: no rate
        "signed_on": "2026-04-02",  # as a builder may give it, ISO text
    },
)
NOTES = ("覆盖率＝已绑定户÷符合条件户。",)


def _table(title: str = "帮扶统计表", name: str = "statistics") -> Table:
    return Table(name, title, COLUMNS, ROWS, totals_row(COLUMNS, ROWS), NOTES)


def test_csv_is_headers_rows_and_totals_in_utf8_with_bom() -> None:
    content = csv_bytes(_table())
    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == [c.header for c in COLUMNS]
    assert lines[1] == ["红旗村", "150602100001", "2", "1234567.80", "87.5", "2026-03-01"]
    assert lines[2][0] == '\'=HYPERLINK("http://x")'
    assert lines[2][1:] == ["150602100002", "1", "0.05", "", "2026-04-02"]
    total = sum((r["invested"] for r in ROWS), Decimal(0))
    assert lines[3] == [TOTAL_LABEL, "", "3", f"{total:.2f}", "", ""]
    assert len(lines) == 1 + len(ROWS) + 1  # no title or notes: a rectangle a program reads back


def test_csv_of_a_table_without_totals_or_rows() -> None:
    empty = Table("empty", "空表", COLUMNS, (), None)
    assert list(csv.reader(io.StringIO(csv_bytes(empty).decode("utf-8-sig")))) == [
        [c.header for c in COLUMNS]
    ]


def _sheet(content: bytes, index: int = 0) -> Worksheet:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[index]
    assert isinstance(sheet, Worksheet)
    return sheet


def test_xlsx_sheet_has_title_bold_headers_typed_cells_and_bold_totals() -> None:
    sheet = _sheet(xlsx_bytes([_table()], caption="地区：150602"))
    assert sheet.title == "帮扶统计表"
    assert sheet["A1"].value == "帮扶统计表"
    assert sheet["A2"].value == "地区：150602"
    headers = [cell for cell in sheet[3]]
    assert [c.value for c in headers] == [c.header for c in COLUMNS]
    assert all(c.font.bold for c in headers)
    assert sheet.freeze_panes == "A4"

    first, second, totals = sheet[4], sheet[5], sheet[6]
    assert first[0].value == "红旗村"
    assert first[1].value == "150602100001" and first[1].data_type == "s"  # codes keep their digits
    assert first[2].value == 2
    assert isinstance(first[3].value, int | float) and Decimal(str(first[3].value)) == ROWS[0]["invested"]
    assert first[3].number_format == YUAN_FORMAT
    assert Decimal(str(first[4].value)) == ROWS[0]["rate"] / 100 and first[4].number_format == PERCENT_FORMAT
    assert first[5].value == datetime(2026, 3, 1) and first[5].number_format == DATE_FORMAT
    assert second[0].value == '=HYPERLINK("http://x")' and second[0].data_type == "s"
    assert second[4].value is None
    assert second[5].value == datetime(2026, 4, 2)

    assert totals[0].value == TOTAL_LABEL
    assert totals[2].value == sum(r["agreements"] for r in ROWS)
    assert Decimal(str(totals[3].value)) == sum((r["invested"] for r in ROWS), Decimal(0))
    assert all(c.font.bold for c in totals)
    assert not first[0].font.bold

    assert sheet.cell(row=8, column=1).value == NOTES[0]
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEF"}
    assert all(8 <= w <= 60 for w in widths.values())
    assert widths["D"] >= len("1,234,567.80")  # the widest amount fits


def test_xlsx_has_one_sheet_per_table_with_valid_unique_names() -> None:
    long_title = "双绑覆盖情况（按村）以及一个很长很长很长很长很长很长很长的标题"
    tables = [_table(long_title, "a"), _table(long_title, "b"), _table("进度表", "c")]
    workbook = load_workbook(io.BytesIO(xlsx_bytes(tables)))
    names = workbook.sheetnames
    assert len(names) == 3 and len(set(names)) == 3
    assert all(len(n) <= 31 for n in names)
    assert names[0] == long_title[:31] and names[1].endswith("(2)") and names[2] == "进度表"
    for sheet, table in zip(workbook.worksheets, tables, strict=True):
        assert sheet["A1"].value == table.title  # the full title, even when the sheet name is cut


def test_sheet_names_drop_characters_excel_refuses() -> None:
    assert sheet_names(["进度表[2026/H1]", "a:b*c?", "Sheet", "sheet"]) == [
        "进度表_2026_H1_",
        "a_b_c_",
        "Sheet",
        "sheet(2)",
    ]


def test_xlsx_of_no_table_is_still_a_workbook() -> None:
    assert len(load_workbook(io.BytesIO(xlsx_bytes([]))).sheetnames) == 1
