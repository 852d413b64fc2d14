"""The monitoring rules (监测预警规则) and lines (监测范围): each threshold's edge, in Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.monitoring import risk
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.events.catalogue.monitoring import AnnualSurvey, QuarterlySurvey, RigidExpenses, RiskType

LINE = Decimal("7900")


def quarter(income: str, members: int = 2, **expenses: str) -> QuarterlySurvey:
    return QuarterlySurvey(
        members=members,
        per_capita_net_income_yuan=Decimal(income),
        expenses=RigidExpenses(**{k: Decimal(v) for k, v in expenses.items()}),
    )


def year(**overrides: object) -> AnnualSurvey:
    facts: dict[str, object] = {
        "pension_insured": 1,
        "medical_insured_all": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        **overrides,
    }
    return AnnualSurvey.model_validate(facts)


def rules_fired(findings: list[risk.Finding]) -> list[str]:
    return [f.rule for f in findings]


# -- income below the line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("income", "fires"), [("7899.99", True), ("7900.00", False), ("7900.01", False), ("-10", True)]
)
def test_income_below_the_line(income: str, fires: bool) -> None:
    findings = risk.assess_quarter(quarter(income), None, LINE, RiskRules())
    assert rules_fired(findings) == (["income_below_line"] if fires else [])
    if fires:
        assert findings[0].risk_types == (RiskType.income_drop,)
        assert income in findings[0].reason and "7900" in findings[0].reason


def test_no_line_no_below_line_finding() -> None:
    assert risk.assess_quarter(quarter("1"), None, None, RiskRules()) == []


def test_the_below_line_rule_can_be_turned_off() -> None:
    assert risk.assess_quarter(quarter("1"), None, LINE, RiskRules(income_below_line=False)) == []


# -- income drop against the same quarter last year --------------------------------------------------


@pytest.mark.parametrize(
    ("before", "now", "share", "fires"),
    [
        ("10000", "7000.00", "0.3", False),  # exactly 30% down: not more than the share
        ("10000", "6999.99", "0.3", True),
        ("10000", "9000.00", "0.1", False),
        ("10000", "8999.99", "0.1", True),
        ("10000", "12000", "0.1", False),  # up, not down
        ("0", "-500", "0.1", False),  # nothing to fall from
        ("-100", "-500", "0.1", False),
    ],
)
def test_income_drop(before: str, now: str, share: str, fires: bool) -> None:
    rules = RiskRules(income_below_line=False, income_drop_share=Decimal(share))
    findings = risk.assess_quarter(quarter(now), quarter(before), LINE, rules)
    assert rules_fired(findings) == (["income_drop"] if fires else [])


def test_income_drop_needs_the_same_quarter_last_year_and_can_be_turned_off() -> None:
    assert risk.assess_quarter(quarter("8000"), None, LINE, RiskRules()) == []
    assert risk.assess_quarter(quarter("8000"), quarter("90000"), LINE, RiskRules(income_drop=False)) == []


# -- rigid expenses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expenses", "fires"),
    [
        ({"medical": "10000.00"}, False),  # household income 2 × 10000; half is 10000: not above
        ({"medical": "10000.01"}, True),
        ({"medical": "5000", "schooling": "5000"}, False),
        ({"medical": "5000", "schooling": "5000.01"}, True),
        ({"disaster": "20000"}, True),
        ({}, False),
    ],
)
def test_rigid_expenses_above_their_share(expenses: dict[str, str], fires: bool) -> None:
    findings = risk.assess_quarter(quarter("10000", **expenses), None, LINE, RiskRules())
    assert rules_fired(findings) == (["rigid_expenses"] if fires else [])


def test_rigid_expenses_name_each_cause() -> None:
    [finding] = risk.assess_quarter(
        quarter("10000", medical="1", schooling="1", disaster="1", accident="20000"), None, LINE, RiskRules()
    )
    assert finding.risk_types == (RiskType.illness, RiskType.schooling, RiskType.disaster, RiskType.accident)
    [finding] = risk.assess_quarter(quarter("10000", schooling="20000"), None, LINE, RiskRules())
    assert finding.risk_types == (RiskType.schooling,)


def test_rigid_expenses_share_is_configurable_and_the_rule_can_be_turned_off() -> None:
    rules = RiskRules(rigid_expense_share=Decimal("0.2"))
    assert rules_fired(risk.assess_quarter(quarter("10000", medical="4000"), None, LINE, rules)) == []
    assert rules_fired(risk.assess_quarter(quarter("10000", medical="4000.01"), None, LINE, rules)) == [
        "rigid_expenses"
    ]
    rules = RiskRules(rigid_expenses=False)
    assert risk.assess_quarter(quarter("10000", medical="90000"), None, LINE, rules) == []


def test_any_rigid_expense_against_no_income_fires() -> None:
    assert rules_fired(risk.assess_quarter(quarter("0", medical="0.01"), None, LINE, RiskRules())) == [
        "income_below_line",
        "rigid_expenses",
    ]
    assert rules_fired(risk.assess_quarter(quarter("-100"), None, None, RiskRules())) == []


# -- guarantees --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lacking", "risk_type", "what"),
    [
        ({"out_of_school": 1}, RiskType.schooling, "compulsory education"),
        ({"medical_insured_all": False}, RiskType.illness, "basic medical insurance"),
        ({"housing_safe": False}, RiskType.housing_safety, "safe housing"),
        ({"drinking_water_safe": False}, RiskType.drinking_water_safety, "safe drinking water"),
    ],
)
def test_each_guarantee(lacking: dict[str, object], risk_type: RiskType, what: str) -> None:
    [finding] = risk.assess_year(year(**lacking), RiskRules())
    assert finding.rule == "guarantees" and finding.risk_types == (risk_type,) and what in finding.reason


def test_all_guarantees_holding_find_nothing_and_the_rule_can_be_turned_off() -> None:
    assert risk.assess_year(year(), RiskRules()) == []
    assert risk.assess_year(year(housing_safe=False), RiskRules(guarantees=False)) == []
    [finding] = risk.assess_year(year(housing_safe=False, drinking_water_safe=False), RiskRules())
    assert finding.risk_types == (RiskType.housing_safety, RiskType.drinking_water_safety)


def test_risk_types_of_findings_once_each_or_other() -> None:
    findings = risk.assess_quarter(quarter("10", medical="1000"), quarter("9000"), LINE, RiskRules())
    assert rules_fired(findings) == ["income_below_line", "income_drop", "rigid_expenses"]
    assert risk.risk_types_of(findings) == [RiskType.income_drop, RiskType.illness]
    assert risk.risk_types_of([]) == [RiskType.other]


# -- configuration -----------------------------------------------------------------------------------


def test_a_line_per_province_and_year_falls_back_to_an_earlier_year() -> None:
    lines = MonitoringLines(by_province={"15": {2024: Decimal(7300), 2026: Decimal(7900)}, "62": {}})
    assert lines.line("15", 2024) == Decimal(7300)
    assert lines.line("15", 2025) == Decimal(7300)  # no 2025 line: the 2024 one
    assert lines.line("15", 2026) == Decimal(7900)
    assert lines.line("15", 2030) == Decimal(7900)
    assert lines.line("15", 2023) is None  # nothing earlier
    assert lines.line("62", 2026) is None and lines.line("11", 2026) is None


def test_lines_read_from_json_keep_decimals() -> None:
    lines = MonitoringLines.model_validate_json('{"by_province": {"15": {"2026": "7900.50"}}}')
    assert lines.line("15", 2026) == Decimal("7900.50")


@pytest.mark.parametrize(
    "bad",
    [
        {"income_drop_share": "0"},
        {"income_drop_share": "1.01"},
        {"income_drop_share": "-0.1"},
        {"rigid_expense_share": "0"},
        {"no_such_rule": True},
    ],
)
def test_rule_settings_are_checked(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RiskRules.model_validate(bad)


def test_rule_settings_defaults() -> None:
    rules = RiskRules()
    assert (rules.income_drop_share, rules.rigid_expense_share) == (Decimal("0.3"), Decimal("0.5"))
    assert rules.income_below_line and rules.income_drop and rules.rigid_expenses and rules.guarantees
    assert RiskRules.model_validate({"income_drop_share": "1"}).income_drop_share == 1


# -- periods and the elimination condition -----------------------------------------------------------


def test_periods() -> None:
    assert risk.quarter_year("2026Q3") == 2026
    assert risk.previous_year_quarter("2026Q3") == "2025Q3"
    assert [risk.next_quarter(p) for p in ("2025Q4", "2026Q1", "2026Q3")] == ["2026Q1", "2026Q2", "2026Q4"]


LINES_BY_YEAR = {2025: Decimal(7600), 2026: Decimal(7900)}


def test_elimination_condition_edges() -> None:
    good = {2025: year()}
    above = {"2025Q4": quarter("7600"), "2026Q1": quarter("7900")}
    assert risk.elimination_problem(above, good, "2025Q4", 6, LINES_BY_YEAR) == (None, ["2025Q4", "2026Q1"])
    # at the line of each quarter's own year
    problem, quarters = risk.elimination_problem(
        {"2025Q4": quarter("7600"), "2026Q1": quarter("7899.99")}, good, "2025Q4", 6, LINES_BY_YEAR
    )
    assert problem and "2026Q1" in problem and quarters == []
    # ceil(months / 3) quarters
    assert risk.elimination_problem(above, good, "2025Q4", 3, LINES_BY_YEAR) == (None, ["2026Q1"])
    assert risk.elimination_problem(above, good, "2025Q4", 4, LINES_BY_YEAR) == (None, ["2025Q4", "2026Q1"])
    problem, _ = risk.elimination_problem(above, good, "2025Q4", 7, LINES_BY_YEAR)
    assert problem == "3 quarterly surveys since enrolment are needed, 2 on record"
    # quarters before the enrolment quarter do not count
    problem, _ = risk.elimination_problem(above, good, "2026Q1", 6, LINES_BY_YEAR)
    assert problem == "2 quarterly surveys since enrolment are needed, 1 on record"
    # no line for a year
    problem, _ = risk.elimination_problem(above, good, "2025Q4", 6, {2026: Decimal(7900)})
    assert problem == "no monitoring line is configured for 2025"
    # the latest annual survey decides
    problem, _ = risk.elimination_problem(above, {}, "2025Q4", 6, LINES_BY_YEAR)
    assert problem == "an annual survey showing every guarantee is needed"
    problem, _ = risk.elimination_problem(
        above, {2024: year(), 2025: year(drinking_water_safe=False)}, "2025Q4", 6, LINES_BY_YEAR
    )
    assert problem is not None and "2025" in problem and "safe drinking water" in problem
    assert risk.elimination_problem(
        above, {2024: year(housing_safe=False), 2025: year()}, "2025Q4", 6, LINES_BY_YEAR
    ) == (None, ["2025Q4", "2026Q1"])


def test_elimination_guarantees_hold_whatever_the_rule_setting() -> None:
    # the flagging rule may be off; the elimination standard still needs every guarantee
    problem, _ = risk.elimination_problem(
        {"2026Q1": quarter("9000"), "2026Q2": quarter("9000")},
        {2025: year(out_of_school=2)},
        "2026Q1",
        6,
        LINES_BY_YEAR,
    )
    assert problem is not None and "compulsory education" in problem
