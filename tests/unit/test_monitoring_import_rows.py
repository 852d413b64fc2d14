"""Survey rows of the provincial platform: the header layout, each cell read as its column's kind,
the deployment, region and date checks, the rows that repeat a household and quarter, and what a
chunk of rows makes of the households (no I/O: the decision on aggregates in memory)."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from services.monitoring.domain import Household
from services.monitoring.personal import MasterKeys, unseal
from services.monitoring.platform import reader
from services.monitoring.platform.decide import ChunkDecision, SurveyDecider
from services.monitoring.platform.layout import IMPORT_HEADERS
from services.monitoring.platform.reader import FileProblem, Format, Sheet, read
from services.monitoring.platform.rows import RowsRead, Scope, SurveyRow, read_rows
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.events.catalogue.monitoring import (
    HouseholdFlagged,
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdSurveyed,
    LabourAbility,
    Relation,
    RiskType,
    Schooling,
)
from shared.events.envelope import Actor, Envelope
from shared.eventstore.context import CommandContext
from tests.support.monitoring import citizen_id, village_code

MASTERS = MasterKeys.derive("unit-test-personal-data-key-" + "2" * 32)
TODAY = date(2026, 11, 2)
SCOPE = Scope(frozenset({"150602", "150603"}), lambda code: code.startswith("150602"), TODAY)
HEAD_ID = citizen_id(7, born="19700315")  # 150602 19700315 007 + check
WRONG_CHECK = HEAD_ID[:-1] + ("1" if HEAD_ID[-1] != "1" else "2")


def values(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "村代码": village_code(1),
        "户主姓名": "张三",
        "户主身份证号": HEAD_ID,
        "户类型": "脱贫户",
        "家庭人口": "4",
        "季度": "2026Q3",
        "家庭人均纯收入(元)": "8650.5",
        "医疗自付支出(元)": "3,200",
        "调查日期": "2026-09-28",
        "联系电话": "13900001234",
    }
    row.update(overrides)
    return row


def sheet(*rows: dict[str, Any], headers: list[str] | None = None) -> Sheet:
    headers = headers or IMPORT_HEADERS
    return Sheet(tuple(headers), [(i, tuple(r.get(h) for h in headers)) for i, r in enumerate(rows, start=2)])


def read_sheet(*rows: dict[str, Any], headers: list[str] | None = None, scope: Scope = SCOPE) -> RowsRead:
    return read_rows(sheet(*rows, headers=headers), scope, MASTERS.id_digest)


def only_error(result: RowsRead) -> dict[str, Any]:
    assert result.valid == [] and len(result.errors) == 1, result.errors
    return result.errors[0].as_dict()


def test_a_valid_row_is_a_households_quarterly_survey() -> None:
    result = read_sheet(values())
    assert result.errors == [] and result.count == 1
    row = result.valid[0]
    assert (row.number, row.village_code, row.head_name, row.id_number) == (
        2,
        village_code(1),
        "张三",
        HEAD_ID,
    )
    assert row.digest == MASTERS.id_digest(HEAD_ID)
    assert (row.status, row.period, row.surveyed_on, row.phone) == (
        HouseholdStatus.former_poor,
        "2026Q3",
        date(2026, 9, 28),
        "13900001234",
    )
    survey = row.survey()
    assert survey.members == 4
    assert survey.per_capita_net_income_yuan == Decimal("8650.50")
    assert str(survey.expenses.medical) == "3200.00" and survey.expenses.schooling == Decimal("0.00")
    assert row.head_age == 56  # born 1970-03-15, surveyed 2026-09-28


@pytest.mark.parametrize(
    ("given", "period"),
    [("2026Q1", "2026Q1"), ("2026q2", "2026Q2"), ("2026年第3季度", "2026Q3"), ("2026年第四季度", "2026Q4")],
)
def test_a_quarter_is_read_in_its_accepted_spellings(given: str, period: str) -> None:
    assert read_sheet(values(季度=given, 调查日期="2026-10-30")).valid[0].period == period


@pytest.mark.parametrize(
    ("given", "status"),
    [("一般农户", "ordinary"), ("低收入户", "low_income"), ("former_poor", "former_poor")],
)
def test_household_status_by_its_chinese_name_or_code(given: str, status: str) -> None:
    assert read_sheet(values(户类型=given)).valid[0].status.value == status


def test_headers_may_use_full_width_brackets_and_leave_out_optional_columns() -> None:
    headers = [
        h.replace("(", "（").replace(")", "）") for h in IMPORT_HEADERS if h not in ("联系电话", "备注")
    ]
    row = {k.replace("(", "（").replace(")", "）"): v for k, v in values().items()}
    result = read_sheet(row, headers=headers)
    assert result.errors == [] and result.valid[0].phone is None
    assert result.valid[0].survey().expenses.medical == Decimal("3200.00")


def test_unknown_repeated_and_missing_headers_refuse_the_file() -> None:
    headers = [h for h in IMPORT_HEADERS if h != "季度"] + ["户主电话", "村代码"]
    with pytest.raises(FileProblem) as refused:
        read_sheet(values(), headers=headers)
    assert refused.value.rule == "survey_layout"
    found = {(e["row"], e["column"], e["rule"]) for e in refused.value.errors}
    assert found == {
        (1, "户主电话", "survey_layout"),
        (1, "村代码", "survey_layout"),
        (1, "季度", "survey_layout"),
    }


@pytest.mark.parametrize(
    ("change", "column", "rule"),
    [
        ({"户主身份证号": WRONG_CHECK}, "户主身份证号", "value_valid"),
        ({"户主身份证号": HEAD_ID[:6] + "19701332" + HEAD_ID[14:]}, "户主身份证号", "value_valid"),
        ({"户主身份证号": ""}, "户主身份证号", "required_value"),
        ({"户类型": "贫困户"}, "户类型", "value_format"),
        ({"家庭人口": "-2"}, "家庭人口", "value_valid"),
        ({"家庭人口": "0"}, "家庭人口", "value_valid"),
        ({"家庭人口": "3.5"}, "家庭人口", "value_format"),
        ({"季度": "2026Q5"}, "季度", "value_format"),
        ({"季度": "2026-3"}, "季度", "value_format"),
        ({"家庭人均纯收入(元)": "8650.555"}, "家庭人均纯收入(元)", "value_format"),
        ({"家庭人均纯收入(元)": "八千"}, "家庭人均纯收入(元)", "value_format"),
        ({"家庭人均纯收入(元)": ""}, "家庭人均纯收入(元)", "required_value"),
        ({"医疗自付支出(元)": "-1"}, "医疗自付支出(元)", "value_valid"),
        ({"调查日期": "2026/13/01"}, "调查日期", "value_format"),
        ({"调查日期": "2026-11-03"}, "调查日期", "date_not_in_future"),
        ({"调查日期": "2026-06-30"}, "调查日期", "survey_date_in_period"),
        ({"村代码": "15060210000"}, "村代码", "value_valid"),
        ({"村代码": village_code(1, county="150699")}, "村代码", "village_code_of_this_deployment"),
        ({"村代码": "150602000000"}, "村代码", "village_code_of_this_deployment"),
        ({"村代码": village_code(1, county="150603")}, "村代码", "within_caller_region"),
        ({"户主姓名": "张" * 51}, "户主姓名", "value_valid"),
        ({"联系电话": "电话"}, "联系电话", "value_valid"),
        ({"户主姓名": "张\x00三"}, "户主姓名", "value_format"),
    ],
)
def test_each_bad_cell_is_reported_against_its_column_and_rule(
    change: dict[str, Any], column: str, rule: str
) -> None:
    error = only_error(read_sheet(values(**change)))
    assert (error["row"], error["column"], error["rule"]) == (2, column, rule)
    assert error["reason"] and error["field"]


def test_every_problem_of_a_row_is_reported_and_an_id_number_never_in_clear() -> None:
    result = read_sheet(values(户主身份证号=WRONG_CHECK, 户类型="贫困户", 季度="Q3"))
    assert [e.column for e in result.errors] == ["户主身份证号", "户类型", "季度"]
    shown = result.errors[0].value
    assert shown == WRONG_CHECK[:4] + "*" * 10 + WRONG_CHECK[-4:]
    assert WRONG_CHECK not in repr(result.errors) and WRONG_CHECK[:17] not in repr(result.errors)


def test_a_head_born_after_the_survey_is_refused() -> None:
    born_later = citizen_id(8, born="20261001")
    error = only_error(read_sheet(values(户主身份证号=born_later)))
    assert (error["column"], error["rule"]) == ("户主身份证号", "value_valid")
    assert born_later not in str(error)


def test_one_head_and_quarter_on_two_rows_rejects_both_and_other_quarters_pass() -> None:
    result = read_sheet(
        values(),
        values(户主身份证号=citizen_id(9)),
        values(**{"家庭人均纯收入(元)": "9000"}),
        values(季度="2026Q4", 调查日期="2026-10-30"),
    )
    assert [r.number for r in result.valid] == [3, 5]
    assert [(e.row, e.column, e.rule) for e in result.errors] == [
        (2, "户主身份证号", "once_in_batch"),
        (4, "户主身份证号", "once_in_batch"),
    ]
    assert "rows 2、4" in result.errors[0].reason and HEAD_ID not in result.errors[0].reason


def test_xlsx_cells_dates_numbers_and_an_id_number_stored_as_a_number() -> None:
    workbook = openpyxl.Workbook()
    sheet_ = workbook.active
    assert sheet_ is not None
    sheet_.append(IMPORT_HEADERS)
    first = values(
        家庭人口=4, 调查日期=datetime(2026, 9, 28), **{"家庭人均纯收入(元)": 8650.5, "医疗自付支出(元)": 0.1}
    )
    first["村代码"] = int(village_code(1))
    second = values(户主身份证号=float(citizen_id(10)[:15] + "000"), 调查日期=datetime(2026, 9, 28, 10, 30))
    second["户主身份证号"] = float(second["户主身份证号"])
    for row in (first, second):
        sheet_.append([row.get(h) for h in IMPORT_HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = read_rows(read(buffer.getvalue(), Format.xlsx), SCOPE, MASTERS.id_digest)
    assert [r.number for r in result.valid] == [2]
    survey = result.valid[0].survey()
    assert survey.per_capita_net_income_yuan == Decimal("8650.50") and survey.expenses.medical == Decimal(
        "0.10"
    )
    assert result.valid[0].surveyed_on == date(2026, 9, 28)
    assert {(e.row, e.column, e.rule) for e in result.errors} == {
        (3, "户主身份证号", "value_format"),
        (3, "调查日期", "value_format"),
    }


def _csv(*rows: dict[str, Any], bom: str = "\ufeff") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(IMPORT_HEADERS)
    for row in rows:
        writer.writerow([row.get(h, "") for h in IMPORT_HEADERS])
    writer.writerow([""] * len(IMPORT_HEADERS))  # an empty row is skipped
    return (bom + buffer.getvalue()).encode()


def test_csv_with_or_without_bom_and_a_csv_not_in_utf8() -> None:
    for bom in ("\ufeff", ""):
        parsed = read(_csv(values(), bom=bom), Format.csv)
        assert parsed.headers[0] == "批次内序号" and [n for n, _ in parsed.rows] == [2]
    with pytest.raises(FileProblem) as refused:
        read(_csv(values(), bom="").decode().encode("gbk"), Format.csv)
    assert refused.value.rule == "survey_readable"


def test_file_type_and_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert reader.detect("批次.xlsx", "", b"") is Format.xlsx
    assert reader.detect("", "text/csv", b"") is Format.csv
    with pytest.raises(FileProblem) as refused:
        reader.detect("批次.xls", "", b"")
    assert (refused.value.rule, refused.value.status) == ("survey_file_type", 415)
    monkeypatch.setattr(reader, "SURVEY", dataclasses.replace(reader.SURVEY, max_rows=2))
    with pytest.raises(FileProblem) as limited:
        read(_csv(values(), values(), values()), Format.csv)
    assert limited.value.rule == "survey_row_limit"


# -- the decision on a chunk ---------------------------------------------------------------------

CTX = CommandContext(
    Actor(id="platform-1", role="platform", region_code="15"), datetime(2026, 11, 2, 2, tzinfo=UTC), "c-1"
)
LINES = MonitoringLines(by_province={"15": {2026: Decimal(7900)}})


def decider(batch: str = "P-2026Q3-001", covers: Any = None) -> SurveyDecider:
    return SurveyDecider(CTX, batch, LINES, RiskRules(), covers or (lambda code: True), TODAY)


def survey_row(**overrides: Any) -> SurveyRow:
    result = read_sheet(values(**overrides))
    assert result.errors == [], result.errors
    return result.valid[0]


def appended(decision: ChunkDecision) -> list[tuple[int, list[Envelope]]]:
    """The decision's appends, each stored row read back as the envelope it is."""
    return [
        (expected, [Envelope.model_validate_json(row[7]) for row in rows])
        for expected, rows in decision.appended_rows
    ]


def test_an_unknown_head_makes_a_household_with_the_head_as_its_only_member() -> None:
    decision = decider().decide([survey_row(**{"家庭人均纯收入(元)": "5200"})], {})
    assert (decision.tally.households_created, decision.tally.imported, decision.tally.flagged) == (1, 1, 1)
    [(expected, envelopes)] = appended(decision)
    assert expected == 0 and [e.type for e in envelopes] == [
        HouseholdRegistered.event_type,
        HouseholdSurveyed.event_type,
        HouseholdFlagged.event_type,
    ]
    registered = HouseholdRegistered.model_validate(envelopes[0].data)
    assert registered.batch_id == "P-2026Q3-001" and registered.status is HouseholdStatus.former_poor
    [head] = registered.members
    assert (head.relation, head.age, head.labour, head.schooling) == (
        Relation.head,
        56,
        LabourAbility.ordinary,
        Schooling.junior_secondary,
    )
    key = decision.new_keys[registered.household_id]
    assert unseal(key, registered.household_id, head.sealed) == {"name": "张三", "id_number": HEAD_ID}
    assert unseal(key, registered.household_id, registered.sealed) == {"phone": "13900001234"}
    assert decision.index_rows == [(MASTERS.id_digest(HEAD_ID), registered.household_id, 1)]
    assert HEAD_ID not in "".join(e.model_dump_json() for e in envelopes)
    flagged = HouseholdFlagged.model_validate(envelopes[2].data)
    assert flagged.rules == ["income_below_line"] and flagged.risk_types == [RiskType.income_drop]
    assert all(e.causation_id is None and e.region_code == village_code(1) for e in envelopes)


def test_the_same_batch_and_quarter_again_is_unchanged_and_another_quarter_is_recorded() -> None:
    first = decider().decide([survey_row()], {})
    household = first.created[MASTERS.id_digest(HEAD_ID)]
    known = {MASTERS.id_digest(HEAD_ID): household}
    again = decider().decide([survey_row(**{"家庭人均纯收入(元)": "9999"})], known)
    assert (again.tally.unchanged, again.tally.imported, again.appended_rows) == (1, 0, [])
    later = decider("P-2026Q4-001").decide([survey_row(季度="2026Q4", 调查日期="2026-10-30")], known)
    [(expected, envelopes)] = appended(later)
    assert expected == 2 and [e.stream_version for e in envelopes] == [3]
    assert later.tally.households_created == 0


def test_a_stored_household_in_another_village_or_outside_the_region_refuses_the_row() -> None:
    household = decider().decide([survey_row()], {}).created[MASTERS.id_digest(HEAD_ID)]
    known = {MASTERS.id_digest(HEAD_ID): household}
    moved = decider("B-2").decide([survey_row(村代码=village_code(2))], known)
    assert [(e.column, e.rule) for e in moved.errors] == [("村代码", "household_village")]
    outside = decider("B-3", covers=lambda code: code.startswith("150603")).decide(
        [survey_row()], dict(known)
    )
    assert [(e.column, e.rule) for e in outside.errors] == [("户主身份证号", "within_caller_region")]
    assert HEAD_ID not in repr(outside.errors) and moved.appended_rows == [] == outside.appended_rows


def test_two_quarters_of_a_new_household_in_one_chunk_are_one_stream() -> None:
    rows = [survey_row(), survey_row(季度="2026Q4", 调查日期="2026-10-30")]
    decision = decider().decide(rows, {})
    assert decision.tally.households_created == 1 and decision.tally.imported == 2
    [(expected, envelopes)] = appended(decision)
    assert expected == 0 and [e.stream_version for e in envelopes] == [1, 2, 3]
    assert isinstance(decision.created[rows[0].digest], Household)
    assert uuid.UUID(envelopes[0].stream_id.removeprefix("household-")) in decision.new_keys
