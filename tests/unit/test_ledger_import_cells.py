"""Reading one ledger cell as its column's kind: each kind of bad value, and the forms accepted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.pairing.ledger_import.cells import CellProblem, read_cell, shown
from services.pairing.ledger_import.layout import BY_HEADER, normalise_header
from shared.events.catalogue.pairing import EnterpriseKind, LeadingLevel, Mode, Pathway


def column(header: str) -> Any:
    return BY_HEADER[normalise_header(header)]


@pytest.mark.parametrize(
    ("header", "cell", "expected"),
    [
        ("企业名称", "  某某公司 ", "某某公司"),
        ("企业名称", 12.0, "12"),
        ("村统计用区划代码", 150602100001, "150602100001"),
        ("村统计用区划代码", 1.50602100001e11, "150602100001"),
        ("企业注册地区县代码", "１５０６０２", "150602"),  # full-width digits
        ("联系电话", 13800000000, "13800000000"),
        ("企业类型", "民营企业", EnterpriseKind.private_enterprise),
        ("企业类型", " 商会 ", EnterpriseKind.chamber_of_commerce),
        ("企业类型", "state_owned", EnterpriseKind.state_owned),
        ("企业类型", "STATE_OWNED", EnterpriseKind.state_owned),
        ("龙头企业级别", "省级", LeadingLevel.provincial),
        ("龙头企业级别", "无", None),
        ("龙头企业级别", "", None),
        ("振兴模式", "产业链下沉", Mode.chain_relocation),
        ("帮扶途径", "产业、就业", [Pathway.industry, Pathway.employment]),
        (
            "帮扶途径",
            "产业，就业；消费/科技",
            [Pathway.industry, Pathway.employment, Pathway.consumption, Pathway.technology],
        ),
        ("帮扶途径", "产业帮扶,就业帮扶;", [Pathway.industry, Pathway.employment]),
        ("帮扶途径", "industry; finance", [Pathway.industry, Pathway.finance]),
        ("是否脱贫村", "是", True),
        ("是否脱贫村", "否", False),
        ("是否脱贫村", True, True),
        ("是否脱贫村", "FALSE", False),
        ("签约日期", "2026-11-01", date(2026, 11, 1)),
        ("签约日期", "2026-1-5", date(2026, 1, 5)),
        ("签约日期", "2026/1/5", date(2026, 1, 5)),
        ("签约日期", "2026.01.05", date(2026, 1, 5)),
        ("签约日期", "2026年1月5日", date(2026, 1, 5)),
        ("签约日期", datetime(2026, 11, 1), date(2026, 11, 1)),
        ("签约日期", date(2026, 11, 1), date(2026, 11, 1)),
        ("协议期限（年）", "3", 3),
        ("协议期限（年）", 3.0, 3),
        ("协议期限（年）", "3.0", 3),
        ("投资额（元）", "1500000.00", Decimal("1500000.00")),
        ("投资额（元）", "1,500,000.5", Decimal("1500000.50")),
        ("投资额（元）", 0.1, Decimal("0.10")),  # the float 0.1 is read as the 0.1 typed
        ("投资额（元）", 1234567.89, Decimal("1234567.89")),
        ("投资额（元）", "100.5500", Decimal("100.55")),
        ("投资额（元）", 1500000, Decimal("1500000.00")),
        ("投资额（元）", "-5", Decimal("-5.00")),  # the command model refuses it (value_valid)
        ("投资额（元）", None, None),
    ],
)
def test_accepted_forms(header: str, cell: Any, expected: Any) -> None:
    value = read_cell(column(header), cell)
    assert value == expected
    if isinstance(expected, Decimal):
        assert isinstance(value, Decimal) and value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("header", "cell", "reason"),
    [
        ("统一社会信用代码", 9.11506020000001e17, "keeps only 15 digits"),
        ("村统计用区划代码", 1.5e3 + 0.5, "keeps only 15 digits"),
        ("村统计用区划代码", True, "not TRUE/FALSE"),
        ("村统计用区划代码", datetime(2026, 1, 1), "not a date"),
        (
            "企业类型",
            "外资企业",
            "'外资企业' is not one of: 民营企业、商会、国有企业、科研院所、农业龙头企业、合作社",
        ),
        ("龙头企业级别", "乡级", "is not one of: 国家级、省级、市级、县级"),
        ("村类别", "重点村", "is not one of: 示范村、重点帮扶村、整体推进村"),
        ("帮扶途径", "产业、旅游", "'旅游' is not one of"),
        ("振兴模式", "帮扶", "is not one of"),
        ("是否脱贫村", "也许", "是 or 否"),
        ("签约日期", "11/01/2026", "YYYY-MM-DD"),
        ("签约日期", "2026-11/01", "YYYY-MM-DD"),
        ("签约日期", "2026-11-01 08:00", "YYYY-MM-DD"),
        ("签约日期", "2026-02-30", "not a calendar date"),
        ("签约日期", 46000, "the cell holds a number"),
        ("签约日期", datetime(2026, 11, 1, 9, 30), "without a time of day"),
        ("协议期限（年）", "三年", "a number"),
        ("协议期限（年）", "2.5", "a whole number"),
        ("就业（人）", 2.5, "a whole number"),
        ("就业（人）", "1e12", "too large"),
        ("培训（人）", True, "a number"),
        ("投资额（元）", "100.555", "at most 2 decimals"),
        ("投资额（元）", 100.555, "at most 2 decimals"),
        ("投资额（元）", 0.1 + 0.2, "at most 2 decimals"),  # a formula's float residue is not money
        ("投资额（元）", "¥100", "a number"),
        ("投资额（元）", "NaN", "a number"),
        ("投资额（元）", "1e15", "too large"),
        ("消费帮扶（元）", datetime(2026, 1, 1), "a number"),
        ("企业名称", "某某\x00公司", "NUL character"),
    ],
)
def test_bad_values_are_refused_with_a_reason(header: str, cell: Any, reason: str) -> None:
    with pytest.raises(CellProblem) as refused:
        read_cell(column(header), cell)
    assert refused.value.rule == "value_format"
    assert reason in refused.value.reason


def test_cells_are_shown_as_the_officer_typed_them() -> None:
    assert shown(datetime(2026, 11, 1)) == "2026-11-01"
    assert shown(datetime(2026, 11, 1, 9, 30)) == "2026-11-01T09:30:00"
    assert shown(0.1) == "0.1"
    assert shown(None) == ""
    assert shown("  村 ") == "村"
