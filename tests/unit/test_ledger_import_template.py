"""The template reads back as the layout, and the layout's Chinese names are the catalogue's."""

from __future__ import annotations

import inspect
import io
import re
from enum import Enum
from pathlib import Path

import openpyxl
import pytest

from services.pairing.ledger_import.layout import (
    COLUMNS,
    ENTERPRISE_KINDS,
    MODES,
    PATHWAYS,
    VILLAGE_CATEGORIES,
    display,
)
from services.pairing.ledger_import.reader import Format, read
from services.pairing.ledger_import.rows import Scope, read_rows
from services.pairing.ledger_import.template import template
from shared.events.catalogue import pairing as catalogue
from tests.unit.test_ledger_import_rows import values

SCOPE = Scope(frozenset({"150602"}), lambda code: True)


def test_the_template_has_the_headers_and_an_example_row_that_is_never_imported() -> None:
    data = template("150602")
    sheet = read(data, Format.xlsx)
    assert list(sheet.headers) == [c.header for c in COLUMNS]
    assert len(sheet.rows) == 1 and sheet.rows[0].number == 2
    assert read_rows(sheet, SCOPE).count == 0


def test_the_example_row_is_a_valid_row_once_it_is_no_longer_marked() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template("150602")))
    sheet = workbook.worksheets[0]
    sheet["A2"] = "1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read_rows(read(buffer.getvalue(), Format.xlsx), SCOPE)
    assert result.errors == [] and len(result.valid) == 1
    row = result.valid[0]
    assert row.village.village_code.startswith("150602") and row.enterprise.county_code == "150602"
    assert workbook.sheetnames == ["结对台账", "填写说明"]


def test_a_filled_template_row_reads_like_any_row() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template("150602")))
    sheet = workbook.worksheets[0]
    filled = values(7, 3)
    sheet.append([filled.get(c.header) for c in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read_rows(read(buffer.getvalue(), Format.xlsx), SCOPE)
    assert result.errors == [] and [r.number for r in result.valid] == [3]


def _catalogue_comments(enum: type[Enum]) -> dict[str, str]:
    """The ``value = "value"  # 中文`` lines of ``enum`` in the event catalogue."""
    return dict(re.findall(r'^\s+\w+ = "(\w+)"\s+# (\S+)$', inspect.getsource(enum), flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("names", "enum"),
    [
        (ENTERPRISE_KINDS, catalogue.EnterpriseKind),
        (VILLAGE_CATEGORIES, catalogue.VillageCategory),
        (PATHWAYS, catalogue.Pathway),
        (MODES, catalogue.Mode),
    ],
)
def test_the_chinese_names_are_those_of_the_event_catalogue(names: dict[Enum, str], enum: type[Enum]) -> None:
    comments = _catalogue_comments(enum)
    assert set(names) == set(enum)
    assert {member.value: name for member, name in names.items()} == {
        m.value: comments[m.value] for m in enum
    }


def test_values_are_displayed_as_written_in_the_ledger() -> None:
    by_header = {c.header: c for c in COLUMNS}
    assert (
        display(by_header["帮扶途径"], [catalogue.Pathway.industry, catalogue.Pathway.finance])
        == "产业、金融"
    )
    assert display(by_header["村类别"], "key_support") == "重点帮扶村"
    assert display(by_header["是否脱贫村"], True) == "是"
    assert display(by_header["龙头企业级别"], None) == ""


def test_the_documented_layout_and_example_are_the_real_ones() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "ledger-import.md").read_text(encoding="utf-8")
    documented = re.findall(r"^\| (\S+) \| (yes|no) \|", docs, flags=re.MULTILINE)
    assert documented == [(c.header, "yes" if c.required else "no") for c in COLUMNS]
    example = docs.split("```csv\n", 1)[1].split("```", 1)[0].encode()
    result = read_rows(read(example, Format.csv), SCOPE)
    assert result.errors == [] and len(result.valid) == 2
