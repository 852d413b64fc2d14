"""Rows as commands: the header layout, each row's values through the command models (mapped back to
the Chinese columns), the deployment and region, and the problems that span rows."""

from __future__ import annotations

from typing import Any

import pytest

from services.pairing.ledger_import.layout import COLUMNS
from services.pairing.ledger_import.reader import FileProblem, Row, Sheet
from services.pairing.ledger_import.rows import RowsRead, Scope, agreement_id_for, columns_of, read_rows
from shared.events.catalogue.pairing import EnterpriseKind, Mode, Pathway, VillageCategory
from tests.support.pairing import credit_code, village_code

HEADERS = [c.header for c in COLUMNS]
BAD_CHECK = credit_code(2)[:-1] + ("1" if credit_code(2)[-1] != "1" else "2")
SCOPE = Scope(frozenset({"150602", "150603"}), lambda code: code.startswith("150602"))


def values(n: int, village: int = 1, **overrides: Any) -> dict[str, Any]:
    """A valid row for enterprise ``n`` and village ``village``."""
    row = {
        "企业名称": f"企业{n}",
        "统一社会信用代码": credit_code(n),
        "企业类型": "民营企业",
        "企业注册地区县代码": "150602",
        "村名称": f"村{village}",
        "村统计用区划代码": village_code(village),
        "村类别": "重点帮扶村",
        "签约日期": "2026-11-01",
        "协议期限（年）": "3",
        "协议文号": f"XC-{n}-{village}",
        "帮扶途径": "产业、就业",
        "振兴模式": "订单合作",
    }
    row.update(overrides)
    return row


def sheet(*rows: dict[str, Any], headers: list[str] | None = None) -> Sheet:
    headers = headers or HEADERS
    return Sheet(
        tuple(headers),
        tuple(Row(i, tuple(r.get(h) for h in headers)) for i, r in enumerate(rows, start=2)),
    )


def read(*rows: dict[str, Any], headers: list[str] | None = None) -> RowsRead:
    return read_rows(sheet(*rows, headers=headers), SCOPE)


def only_error(result: RowsRead) -> dict[str, Any]:
    assert len(result.errors) == 1, result.errors
    return result.errors[0].as_dict()


def test_a_valid_row_is_the_three_commands() -> None:
    result = read(values(1, **{"投资额（元）": "1,500,000.00", "就业（人）": "20", "是否脱贫村": "是"}))
    assert result.errors == [] and result.count == 1
    row = result.valid[0]
    assert row.number == 2
    assert (
        row.enterprise.credit_code == credit_code(1)
        and row.enterprise.kind is EnterpriseKind.private_enterprise
    )
    assert row.village.category is VillageCategory.key_support and row.village.former_poverty_village
    assert row.agreement.pathways == [Pathway.industry, Pathway.employment]
    assert row.agreement.mode is Mode.order_farming
    assert str(row.agreement.commitments.investment_yuan) == "1500000.00"
    assert row.agreement.commitments.jobs == 20 and row.agreement.commitments.trainees == 0
    assert row.agreement_id == agreement_id_for(credit_code(1), village_code(1), "XC-1-1")


def test_agreement_ids_are_deterministic_and_distinct() -> None:
    one = agreement_id_for(credit_code(1), village_code(1), "XC-1")
    assert one == agreement_id_for(credit_code(1), village_code(1), "XC-1")
    assert one != agreement_id_for(credit_code(1), village_code(1), "XC-2")
    assert one != agreement_id_for(credit_code(2), village_code(1), "XC-1")


def test_optional_columns_may_be_absent() -> None:
    required = [c.header for c in COLUMNS if c.required]
    result = read(values(1), headers=required)
    assert result.errors == []
    assert result.valid[0].enterprise.contact_name is None
    assert result.valid[0].village.former_poverty_village is False


def test_headers_in_half_width_or_with_spaces_name_the_same_columns() -> None:
    headers = [h.replace("（", "(").replace("）", ")") for h in HEADERS]
    headers[headers.index("企业名称")] = " 企业 名称 "
    row = values(1)
    renamed = {h2: row.get(h1) for h1, h2 in zip(HEADERS, headers, strict=True)}
    assert read(renamed, headers=headers).errors == []


def test_unknown_missing_or_repeated_headers_refuse_the_file() -> None:
    headers = [h for h in HEADERS if h not in ("签约日期", "振兴模式")] + ["负责人", "村名称"]
    with pytest.raises(FileProblem) as refused:
        columns_of(tuple(headers))
    assert refused.value.rule == "ledger_layout" and refused.value.status == 422
    problems = {(e["column"], e["reason"].split(";")[0]) for e in refused.value.errors}
    assert problems == {
        ("负责人", "unknown column"),
        ("村名称", "this column appears twice"),
        ("签约日期", "required column missing"),
        ("振兴模式", "required column missing"),
    }
    assert all(e["row"] == 1 and e["rule"] == "ledger_layout" for e in refused.value.errors)


def test_the_templates_example_row_is_not_read() -> None:
    result = read(values(1, **{"序号": "示例"}), values(2, **{"序号": "1"}))
    assert result.count == 1 and [r.number for r in result.valid] == [3]


@pytest.mark.parametrize(
    ("overrides", "column", "field", "rule", "reason"),
    [
        ({"企业名称": ""}, "企业名称", "name", "required_value", "cannot be empty"),
        ({"企业名称": "企" * 201}, "企业名称", "name", "value_valid", "at most 200 characters"),
        (
            {"统一社会信用代码": BAD_CHECK},
            "统一社会信用代码",
            "credit_code",
            "value_valid",
            "check character",
        ),
        ({"统一社会信用代码": "12345"}, "统一社会信用代码", "credit_code", "value_valid", "18 characters"),
        ({"企业类型": "外资企业"}, "企业类型", "kind", "value_format", "is not one of"),
        ({"企业注册地区县代码": "15060"}, "企业注册地区县代码", "county_code", "value_valid", "6 digits"),
        ({"联系人": "张" * 51}, "联系人", "contact_name", "value_valid", "at most 50 characters"),
        ({"联系电话": "call me"}, "联系电话", "contact_phone", "value_valid", "should match pattern"),
        ({"龙头企业级别": "乡级"}, "龙头企业级别", "leading_level", "value_format", "is not one of"),
        ({"村名称": ""}, "村名称", "name", "required_value", "cannot be empty"),
        ({"村统计用区划代码": "15060210000"}, "村统计用区划代码", "village_code", "value_valid", "12 digits"),
        ({"村类别": "贫困村"}, "村类别", "category", "value_format", "is not one of"),
        ({"是否脱贫村": "不详"}, "是否脱贫村", "former_poverty_village", "value_format", "是 or 否"),
        ({"签约日期": "01.11.2026"}, "签约日期", "signed_on", "value_format", "YYYY-MM-DD"),
        ({"协议期限（年）": "11"}, "协议期限（年）", "term_years", "value_valid", "less than or equal to 10"),
        (
            {"协议期限（年）": "0"},
            "协议期限（年）",
            "term_years",
            "value_valid",
            "greater than or equal to 1",
        ),
        ({"协议文号": " "}, "协议文号", "document_ref", "required_value", "cannot be empty"),
        ({"帮扶途径": "产业、产业帮扶"}, "帮扶途径", "pathways", "value_valid", "each pathway is named once"),
        ({"帮扶途径": "、"}, "帮扶途径", "pathways", "value_valid", "at least 1 item"),
        ({"振兴模式": "其他"}, "振兴模式", "mode", "value_format", "is not one of"),
        (
            {"投资额（元）": "-1"},
            "投资额（元）",
            "commitments.investment_yuan",
            "value_valid",
            "greater than or equal to 0",
        ),
        (
            {"投资额（元）": "1.001"},
            "投资额（元）",
            "commitments.investment_yuan",
            "value_format",
            "at most 2 decimals",
        ),
        ({"就业（人）": "-3"}, "就业（人）", "commitments.jobs", "value_valid", "greater than or equal to 0"),
        ({"培训（人）": "1.5"}, "培训（人）", "commitments.trainees", "value_format", "a whole number"),
        (
            {"消费帮扶（元）": "很多"},
            "消费帮扶（元）",
            "commitments.purchases_yuan",
            "value_format",
            "a number",
        ),
        (
            {"捐赠（元）": "-0.01"},
            "捐赠（元）",
            "commitments.donations_yuan",
            "value_valid",
            "greater than or equal to 0",
        ),
    ],
)
def test_each_bad_value_is_reported_against_its_column(
    overrides: dict[str, Any], column: str, field: str, rule: str, reason: str
) -> None:
    result = read(values(1), values(2, **overrides))
    assert [r.number for r in result.valid] == [2]
    error = only_error(result)
    assert (error["row"], error["column"], error["field"], error["rule"]) == (3, column, field, rule)
    assert error["value"] == str(overrides[column]).strip()
    assert reason in error["reason"]


def test_every_problem_of_a_row_is_reported_once() -> None:
    result = read(values(1, **{"统一社会信用代码": "", "村统计用区划代码": "1", "签约日期": "tomorrow"}))
    assert sorted(e.column or "" for e in result.errors) == sorted(
        ["统一社会信用代码", "村统计用区划代码", "签约日期"]
    )
    assert result.valid == []


def test_villages_outside_the_deployment_or_the_callers_region_are_refused() -> None:
    outside = values(1, 1, **{"村统计用区划代码": village_code(1, county="150699")})
    elsewhere = values(2, 2, **{"村统计用区划代码": village_code(2, county="150603")})
    county_code = values(3, 3, **{"村统计用区划代码": "150602000000"})
    result = read(outside, elsewhere, county_code)
    found = {(e.row, e.rule) for e in result.errors}
    assert found == {
        (2, "village_code_of_this_deployment"),
        (3, "within_caller_region"),
        (4, "village_code_of_this_deployment"),
    }
    assert {e.column for e in result.errors} == {"村统计用区划代码"} and result.valid == []


def test_an_enterprise_with_different_data_on_a_later_row_is_refused_there() -> None:
    result = read(values(1, 1), values(1, 2, **{"企业名称": "另一个名字", "企业类型": "商会"}))
    assert [r.number for r in result.valid] == [2]
    assert {(e.row, e.column, e.rule) for e in result.errors} == {
        (3, "企业名称", "enterprise_consistent"),
        (3, "企业类型", "enterprise_consistent"),
    }
    name = next(e for e in result.errors if e.column == "企业名称")
    assert name.value == "另一个名字" and "'企业1' on row 2" in name.reason and credit_code(1) in name.reason


def test_a_village_with_different_data_on_a_later_row_is_refused_there() -> None:
    result = read(values(1, 1), values(2, 1, **{"村类别": "示范村"}), values(3, 1))
    assert [r.number for r in result.valid] == [2, 4]
    error = only_error(result)
    assert (error["row"], error["column"], error["rule"]) == (3, "村类别", "village_consistent")
    assert "'重点帮扶村' on row 2" in error["reason"]


def test_the_same_agreement_twice_is_refused_on_its_second_row() -> None:
    result = read(values(1, 1), values(2, 1), values(1, 1))
    error = only_error(result)
    assert (error["row"], error["column"], error["rule"]) == (4, "协议文号", "agreement_once_in_file")
    assert "row 2" in error["reason"]


def test_rows_naming_the_same_enterprise_and_village_alike_are_fine() -> None:
    rows = [values(1, v) for v in range(1, 4)] + [values(n, 1) for n in range(2, 4)]
    assert read(*rows).errors == []
