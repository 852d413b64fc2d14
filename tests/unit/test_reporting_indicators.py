"""The indicators sheet (主要指标): computed indicators from hand-built facts, entered values by
region and year."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from services.reporting.facts.model import (
    Facts,
    Household,
    HouseholdStep,
    IndicatorEntry,
    Survey,
    VillageIncome,
)
from services.reporting.periods import HalfYear
from services.reporting.tables.indicators import BY_CODE, COMPUTE, INDICATORS, indicators
from services.reporting.tables.registry import TABLES, Options
from services.reporting.tables.table import percent

YEAR = 2026
TODAY = date(YEAR, 7, 1)
COUNTY = "150602"
TOWNSHIP = COUNTY + "001"
VILLAGE = TOWNSHIP + "001"


def household(status: str = "former_poor", stage: str | None = None) -> Household:
    return Household(uuid.uuid4(), VILLAGE, status, 3, 1, stage, None, (), 0, False)


def enrolled(h: Household, on: date) -> HouseholdStep:
    return HouseholdStep(
        h.household_id, VILLAGE, 5, "enrolled", on, datetime(on.year, on.month, on.day, tzinfo=UTC),
        h.status, "monitored", "marginal_at_risk", (), None, False, False, None, None, None, None, None,
    )  # fmt: skip


def annual(h: Household, year: int, **answers: object) -> Survey:
    fields: dict[str, object] = {
        "members": None, "per_capita_income_yuan": None, "rigid_expenses_yuan": None,
        "medical_insured_all": None, "housing_safe": None, "drinking_water_safe": None,
        "children_of_compulsory_age": None, "out_of_school": None, "labourers": None, "employed": None,
    }  # fmt: skip
    fields.update(answers)
    return Survey(h.household_id, VILLAGE, str(year), date(year, 10, 1), **fields)  # type: ignore[arg-type]


def q4(h: Household, year: int, income: str, members: int) -> Survey:
    return replace(
        annual(h, year), period=f"{year}Q4", per_capita_income_yuan=Decimal(income), members=members
    )


def facts(region: str = COUNTY, **values: object) -> Facts:
    return Facts(region=region, as_of=datetime(YEAR, 7, 1, 4, tzinfo=UTC), today=TODAY, **values)  # type: ignore[arg-type]


def options() -> Options:
    return Options(period=HalfYear.of(TODAY))


def test_the_twenty_indicators_of_the_plan() -> None:
    assert [i.number for i in INDICATORS] == list(range(1, 21))
    assert {i.number for i in INDICATORS if i.computed} == {1, 2, 5, 6, 7, 18, 20}
    assert set(COMPUTE) == {i.code for i in INDICATORS if i.computed}
    assert (BY_CODE["medical_insurance_rate"].baseline, BY_CODE["medical_insurance_rate"].target) == (
        "95.2",
        "96",
    )
    assert not BY_CODE["waste_treatment_rate"].binding and BY_CODE["former_poor_income_growth_rate"].binding


def test_return_to_poverty_counts_former_poor_and_low_income_enrolled_this_year() -> None:
    former = [household() for _ in range(4)]
    low = household("low_income")
    ordinary = household("ordinary")
    steps = (
        enrolled(former[0], date(YEAR, 3, 1)),
        enrolled(former[1], date(YEAR - 1, 11, 1)),  # last year's
        enrolled(ordinary, date(YEAR, 2, 1)),  # not of the population
    )
    value = COMPUTE["return_to_poverty_rate"](facts(households=(*former, low, ordinary), steps=steps), YEAR)
    assert value.current == percent(1, len(former) + 1)


def test_medical_insurance_takes_each_households_latest_annual_survey_up_to_the_year() -> None:
    a, b, c, d = household(), household("ordinary"), household(), household()
    surveys = (
        annual(a, YEAR - 1, medical_insured_all=False),
        annual(a, YEAR, medical_insured_all=True),
        annual(b, YEAR, medical_insured_all=False),
        annual(c, YEAR - 1, medical_insured_all=True),
        annual(c, YEAR + 1, medical_insured_all=False),  # after the year: not seen
        q4(d, YEAR, "9000", 2),  # a quarterly survey says nothing about insurance
    )
    value = COMPUTE["medical_insurance_rate"](facts(households=(a, b, c, d), surveys=surveys), YEAR)
    assert value.current == percent(2, 3)


def test_schooling_housing_and_water_of_former_poor_and_monitored_households() -> None:
    former, monitored, ordinary = household(), household("ordinary", "monitored"), household("ordinary")
    eliminated = household("ordinary", "eliminated")
    surveys = (
        annual(former, YEAR, children_of_compulsory_age=3, out_of_school=1, housing_safe=True,
               drinking_water_safe=False),
        annual(monitored, YEAR, children_of_compulsory_age=2, out_of_school=0, housing_safe=False,
               drinking_water_safe=False),
        annual(ordinary, YEAR, children_of_compulsory_age=4, out_of_school=4, housing_safe=False,
               drinking_water_safe=False),
        annual(eliminated, YEAR, children_of_compulsory_age=1, out_of_school=1, housing_safe=False,
               drinking_water_safe=False),
    )  # fmt: skip
    given = facts(households=(former, monitored, ordinary, eliminated), surveys=surveys)
    assert COMPUTE["dropout_rate"](given, YEAR).current == percent(1 + 0, 3 + 2)
    assert COMPUTE["housing_safety_rate"](given, YEAR).current == percent(1, 2)
    assert COMPUTE["drinking_water_safety_rate"](given, YEAR).current == percent(0, 2)


def test_collective_income_shares_of_the_latest_year_recorded() -> None:
    incomes = [("001", 160_000), ("002", 250_000), ("003", 600_000), ("004", 100_000)]
    recorded = (
        *(VillageIncome(TOWNSHIP + v, YEAR - 1, Decimal(yuan)) for v, yuan in incomes),
        VillageIncome(TOWNSHIP + "001", YEAR - 2, Decimal(10)),  # an older year
        VillageIncome(TOWNSHIP + "001", YEAR + 1, Decimal(10)),  # after the year
    )
    value = COMPUTE["village_collective_income"](facts(incomes=recorded), YEAR)
    shares = [percent(sum(1 for _, y in incomes if y >= t * 10_000), len(incomes)) for t in (15, 20, 50)]
    assert (
        value.current == f"15万元以上占比{shares[0]}%；20万元以上占比{shares[1]}%；50万元以上占比{shares[2]}%"
    )
    assert f"{YEAR - 1}年" in value.note


def test_former_poor_income_growth_over_households_surveyed_in_both_fourth_quarters() -> None:
    a, b, newcomer, ordinary = household(), household(), household(), household("ordinary")
    surveys = (
        q4(a, YEAR - 1, "10000", 2), q4(a, YEAR, "12000", 2),
        q4(b, YEAR - 1, "5000", 4), q4(b, YEAR, "6000", 4),
        q4(newcomer, YEAR, "1000", 5),  # surveyed once: not in the comparison
        q4(ordinary, YEAR - 1, "1000", 1), q4(ordinary, YEAR, "90000", 1),
    )  # fmt: skip
    value = COMPUTE["former_poor_income_growth_rate"](
        facts(households=(a, b, newcomer, ordinary), surveys=surveys), YEAR
    )
    before = (Decimal(10000) * 2 + Decimal(5000) * 4) / 6
    after = (Decimal(12000) * 2 + Decimal(6000) * 4) / 6
    assert value.current == percent(after - before, before)
    assert (
        COMPUTE["former_poor_income_growth_rate"](facts(households=(a,), surveys=surveys[1:2]), YEAR).current
        is None
    )


def entry(region: str, code: str, year: int, **values: str) -> IndicatorEntry:
    amounts = {k: Decimal(values[k]) if k in values else None for k in ("baseline", "target", "current")}
    return IndicatorEntry(region, code, year, note=values.get("note"), **amounts)  # type: ignore[arg-type]


def test_entered_values_the_regions_own_before_an_enclosing_regions() -> None:
    entries = (
        entry(COUNTY, "gdp_growth_rate", YEAR, current="5.1", note="统计局"),
        entry(TOWNSHIP, "gdp_growth_rate", YEAR, current="6.0"),
        entry(COUNTY, "gdp_growth_rate", YEAR - 1, current="3.3", baseline="2.0"),
        entry(COUNTY, "tap_water_rate", YEAR - 1, current="97.9"),  # last year's value is not this year's
        entry(COUNTY, "medical_insurance_rate", YEAR, target="97"),  # a computed one's target
    )

    def rows(region: str) -> dict[str, dict[str, object]]:
        return {
            str(r["code"]): dict(r)
            for r in indicators(facts(region, indicator_entries=entries), options()).rows
        }

    county, township = rows(COUNTY), rows(TOWNSHIP)
    assert (county["gdp_growth_rate"]["current"], county["gdp_growth_rate"]["source"]) == (
        "5.1",
        f"填报（{COUNTY}）",
    )
    assert county["gdp_growth_rate"]["note"] == "统计局"
    assert county["gdp_growth_rate"]["baseline"] == "2"  # entered last year, holds until replaced
    assert county["gdp_growth_rate"]["target"] == BY_CODE["gdp_growth_rate"].target
    assert (township["gdp_growth_rate"]["current"], township["gdp_growth_rate"]["source"]) == (
        "6",
        f"填报（{TOWNSHIP}）",
    )
    assert (county["tap_water_rate"]["current"], county["tap_water_rate"]["source"]) == (None, "待填报")
    assert county["medical_insurance_rate"]["target"] == "97"
    assert county["medical_insurance_rate"]["source"] == "系统计算"
    assert rows("15")["gdp_growth_rate"]["current"] is None  # a county's value is not its province's


def test_the_sheet_has_the_plans_columns_and_is_filed() -> None:
    sheet = TABLES["indicators"].build(facts(), options())
    assert TABLES["indicators"].filed
    assert [c.header for c in sheet.columns][:7] == [
        "序号",
        "指标名称",
        "基础值",
        "目标值",
        "当前值",
        "属性",
        "来源",
    ]
    assert [r["number"] for r in sheet.rows] == list(range(1, 21))
    first = sheet.rows[0]
    assert (first["name"], first["baseline"], first["binding"]) == (
        "低收入人口返贫致贫率（%）",
        "0",
        "约束性",
    )
    assert (
        sheet.rows[17]["current"] is None
        and sheet.rows[17]["target"] == BY_CODE["village_collective_income"].target
    )
