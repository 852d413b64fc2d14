"""The XLSX template an officer starts from: the headers, one example row and the instructions."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from services.pairing.credit_code import check_character
from services.pairing.ledger_import.layout import COLUMNS, EXAMPLE_MARK, Column, Kind

_ROWS_WITH_LISTS = 10_000  # rows that get the drop-down lists of the choice columns
_BOLD = Font(bold=True)


def example_values(county: str) -> dict[str, str]:
    """A valid example row for a village and an enterprise of ``county``."""
    first17 = f"91{county}MA01XC0EX"
    examples = {column.header: column.example for column in COLUMNS}
    examples.update(
        {
            "序号": EXAMPLE_MARK,
            "统一社会信用代码": first17 + check_character(first17),
            "企业注册地区县代码": county,
            "村统计用区划代码": f"{county}100001",
            "备注": "示例行不会导入，填写前可删除",
        }
    )
    return examples


def template(county: str) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "结对台账"
    examples = example_values(county)
    sheet.append([column.header for column in COLUMNS])
    sheet.append([examples[column.header] for column in COLUMNS])
    for position, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(position)
        sheet.cell(1, position).font = _BOLD
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(12, 2 * len(column.header) + 4)
        if column.kind is not Kind.date:
            # Text cells keep codes whole: as numbers Excel would keep 15 digits of 18.
            dimension.number_format = "@"
            sheet.cell(2, position).number_format = "@"
        if column.kind in (Kind.choice, Kind.yes_no):
            _drop_down(sheet, column, letter)
    sheet.freeze_panes = "A2"
    _instructions(workbook, examples)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _drop_down(sheet: Worksheet, column: Column, letter: str) -> None:
    names = column.accepted() if column.kind is Kind.choice else ["是", "否"]
    validation = DataValidation(
        type="list",
        formula1='"' + ",".join(names) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="warning",
        error="、".join(names),
    )
    sheet.add_data_validation(validation)
    validation.add(f"{letter}2:{letter}{_ROWS_WITH_LISTS}")


def _instructions(workbook: Workbook, examples: dict[str, str]) -> None:
    sheet = workbook.create_sheet("填写说明")
    sheet.append(["列名", "必填", "说明 (description)", "可填写的值 (accepted values)", "示例"])
    for position in range(1, 6):
        sheet.cell(1, position).font = _BOLD
    for column in COLUMNS:
        accepted = "、".join(column.accepted())
        if column.kind is Kind.yes_no:
            accepted = "是、否"
        required = "是" if column.required else "否"
        sheet.append([column.header, required, column.description, accepted, examples[column.header]])
    for letter, width in zip("ABCDE", (20, 6, 70, 60, 24), strict=True):
        sheet.column_dimensions[letter].width = width
