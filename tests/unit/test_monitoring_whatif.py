"""What-if's pure core: lines a proposal replaces, the comparison quarter, the annual survey a
quarter takes, the counts, and the cap on the lists."""

from __future__ import annotations

import uuid
from decimal import Decimal

from services.monitoring.risk import MonitoringLines, RiskRules
from services.monitoring.whatif import Quarter, Setting, SurveyedHousehold, findings, quarters, run
from shared.events.catalogue.monitoring import AnnualSurvey, QuarterlySurvey, RigidExpenses, RiskType

LINES = MonitoringLines(by_province={"15": {2025: Decimal(7600), 2026: Decimal(7900)}})
CURRENT = Setting(LINES, RiskRules())
VILLAGE = "150602100002"


def quarterly(income: int, members: int = 3, medical: int = 0) -> QuarterlySurvey:
    return QuarterlySurvey(
        members=members,
        per_capita_net_income_yuan=Decimal(income),
        expenses=RigidExpenses(medical=Decimal(medical)),
    )


def annual(**overrides: object) -> AnnualSurvey:
    facts: dict[str, object] = {
        "pension_insured": 2,
        "medical_insured_all": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        **overrides,
    }
    return AnnualSurvey.model_validate(facts)


def household(
    n: int, incomes: dict[str, int], annuals: dict[int, AnnualSurvey] | None = None, village: str = VILLAGE
) -> SurveyedHousehold:
    return SurveyedHousehold(
        uuid.UUID(int=n), village, {p: quarterly(i) for p, i in incomes.items()}, annuals or {}
    )


def counts(q: Quarter) -> tuple[int, int, int, int, int]:
    return (q.surveyed, q.flagged_current, q.flagged_proposed, q.newly_flagged, q.no_longer_flagged)


def test_quarters_run_across_years() -> None:
    assert quarters("2025Q3", "2026Q2") == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert quarters("2026Q1", "2026Q1") == ["2026Q1"]
    assert quarters("2026Q2", "2026Q1") == []


def test_a_proposed_line_replaces_the_configured_one_every_year_or_in_the_years_given() -> None:
    assert CURRENT.line("15", 2026) == Decimal(7900)
    assert CURRENT.line("15", 2027) == Decimal(7900)  # the latest earlier year's
    assert CURRENT.line("44", 2026) is None  # no line for that province
    every = Setting(LINES, RiskRules(), every_year=Decimal(9500))
    assert [every.line("15", y) for y in (2024, 2025, 2026)] == [Decimal(9500)] * 3
    assert every.line("44", 2026) == Decimal(9500)
    some = Setting(LINES, RiskRules(), by_year={2025: Decimal(9000)})
    assert (some.line("15", 2025), some.line("15", 2026)) == (Decimal(9000), Decimal(7900))


def test_a_quarter_compares_with_the_same_quarter_a_year_earlier() -> None:
    h = household(1, {"2025Q2": 20000, "2026Q1": 13000, "2026Q2": 13000})
    assert [f.rule for f in findings(h, "2026Q2", CURRENT)] == ["income_drop"]  # 35 % down
    assert findings(h, "2026Q1", CURRENT) == []  # no 2025Q1 to compare with
    gentler = Setting(LINES, RiskRules(income_drop_share=Decimal("0.4")))
    assert findings(h, "2026Q2", gentler) == []


def test_a_quarter_takes_the_latest_annual_survey_of_its_year_or_before() -> None:
    unsafe_2024 = annual(housing_safe=False)
    fine_2026 = annual()
    h = household(2, {"2025Q4": 9000, "2026Q1": 9000, "2026Q3": 9000}, {2024: unsafe_2024, 2026: fine_2026})
    found = findings(h, "2025Q4", CURRENT)
    assert [(f.rule, f.risk_types) for f in found] == [("guarantees", (RiskType.housing_safety,))]
    assert findings(h, "2026Q3", CURRENT) == []  # the 2026 survey replaced the 2024 one
    early = household(3, {"2023Q4": 9000}, {2024: unsafe_2024})
    assert findings(early, "2023Q4", Setting(LINES, RiskRules())) == []  # a later year's does not count


def test_counts_and_lists_per_quarter() -> None:
    proposed = Setting(LINES, RiskRules(guarantees=False), every_year=Decimal(9500))
    households = [
        household(1, {"2025Q4": 9000, "2026Q1": 9000}),  # newly flagged both quarters
        household(2, {"2025Q4": 7000, "2026Q1": 12000}),  # flagged by both in Q4 only
        household(3, {"2026Q1": 9600}, {2025: annual(drinking_water_safe=False)}),  # no longer flagged
        household(4, {"2025Q3": 1000}),  # outside the quarters asked for
    ]
    q4, q1 = run(households, ["2025Q4", "2026Q1"], CURRENT, proposed, limit=10)
    assert counts(q4) == (2, 1, 2, 1, 0)
    assert counts(q1) == (3, 1, 1, 1, 1)
    assert [(f.household_id.int, f.flagged_now) for f in q4.flagged] == [(1, False), (2, True)]
    first = q4.flagged[0]
    assert (first.period, first.village_code, first.rules, first.risk_types) == (
        "2025Q4",
        VILLAGE,
        ["income_below_line"],
        [RiskType.income_drop],
    )
    assert not q4.truncated and not q1.truncated


def test_findings_of_several_rules_are_named_once_each() -> None:
    h = SurveyedHousehold(
        uuid.UUID(int=9),
        VILLAGE,
        {"2026Q1": quarterly(5000, members=2, medical=8000)},
        {2025: annual(medical_insured_all=False)},
    )
    (quarter,) = run([h], ["2026Q1"], CURRENT, CURRENT, limit=5)
    (flagged,) = quarter.flagged
    assert flagged.rules == ["income_below_line", "rigid_expenses", "guarantees"]
    assert flagged.risk_types == [RiskType.income_drop, RiskType.illness]


def test_lists_are_capped_per_quarter_and_the_counts_stay_whole() -> None:
    households = [household(n, {"2026Q1": 5000}) for n in range(1, 6)]
    (quarter,) = run(households, ["2026Q1"], CURRENT, CURRENT, limit=3)
    assert quarter.flagged_proposed == 5 and quarter.surveyed == 5
    assert [f.household_id.int for f in quarter.flagged] == [1, 2, 3]
    assert quarter.truncated


def test_nothing_surveyed_counts_nothing() -> None:
    (quarter,) = run([], ["2026Q1"], CURRENT, CURRENT, limit=3)
    assert (quarter.surveyed, quarter.flagged_proposed, quarter.flagged, quarter.truncated) == (
        0,
        0,
        [],
        False,
    )
