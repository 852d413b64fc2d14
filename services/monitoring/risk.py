"""Finding risk in surveys (监测预警规则): pure functions of surveys and configuration.

The monitoring line (监测范围) is yuan per person per year, configured per province and year; a
year without a line of its own uses the latest earlier one. Each rule has a name, and a flag
raised by rules names the ones that fired.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.catalogue.monitoring import AnnualSurvey, QuarterlySurvey, RiskType


class RiskRules(BaseModel):
    """Which rules run and their thresholds (``XINGCUN_RISK_RULES`` as JSON; what-if takes the same)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    income_below_line: bool = True
    income_drop: bool = True
    income_drop_share: Decimal = Field(
        default=Decimal("0.3"), gt=0, le=1, description="Flag when income fell by more than this share"
    )
    rigid_expenses: bool = True
    rigid_expense_share: Decimal = Field(
        default=Decimal("0.5"), gt=0, description="Flag when rigid expenses exceed this share of income"
    )
    guarantees: bool = True


class MonitoringLines(BaseModel):
    """监测范围 by province (2-digit code) and year: yuan per person per year."""

    model_config = ConfigDict(frozen=True)

    by_province: dict[str, dict[int, Decimal]] = Field(default_factory=dict)

    def line(self, province: str, year: int) -> Decimal | None:
        years = self.by_province.get(province, {})
        earlier = [y for y in years if y <= year]
        return years[max(earlier)] if earlier else None


RULE_INCOME_BELOW_LINE = "income_below_line"
RULE_INCOME_DROP = "income_drop"
RULE_RIGID_EXPENSES = "rigid_expenses"
RULE_GUARANTEES = "guarantees"

_EXPENSE_RISK = {
    "medical": RiskType.illness,
    "schooling": RiskType.schooling,
    "disaster": RiskType.disaster,
    "accident": RiskType.accident,
}


@dataclass(frozen=True)
class Finding:
    rule: str
    risk_types: tuple[RiskType, ...]
    reason: str


def quarter_year(period: str) -> int:
    return int(period[:4])


def previous_year_quarter(period: str) -> str:
    return f"{int(period[:4]) - 1}{period[4:]}"


def next_quarter(period: str) -> str:
    year, quarter = int(period[:4]), int(period[5])
    return f"{year + 1}Q1" if quarter == 4 else f"{year}Q{quarter + 1}"


def assess_quarter(
    survey: QuarterlySurvey,
    same_quarter_last_year: QuarterlySurvey | None,
    line: Decimal | None,
    rules: RiskRules,
) -> list[Finding]:
    """What a quarterly survey shows against the line and the same quarter a year earlier."""
    findings: list[Finding] = []
    income = survey.per_capita_net_income_yuan
    if rules.income_below_line and line is not None and income < line:
        findings.append(
            Finding(
                RULE_INCOME_BELOW_LINE, (RiskType.income_drop,), f"per-capita income {income} < line {line}"
            )
        )
    if rules.income_drop and same_quarter_last_year is not None:
        before = same_quarter_last_year.per_capita_net_income_yuan
        if before > 0 and (before - income) > before * rules.income_drop_share:
            findings.append(
                Finding(
                    RULE_INCOME_DROP,
                    (RiskType.income_drop,),
                    f"per-capita income fell from {before} to {income} "
                    f"(more than {rules.income_drop_share:%} of a year earlier)",
                )
            )
    if rules.rigid_expenses:
        household_income = income * survey.members
        spent = survey.expenses.total()
        if spent > 0 and spent > household_income * rules.rigid_expense_share:
            causes = tuple(risk for name, risk in _EXPENSE_RISK.items() if getattr(survey.expenses, name) > 0)
            findings.append(
                Finding(
                    RULE_RIGID_EXPENSES,
                    causes,
                    f"rigid expenses {spent} exceed {rules.rigid_expense_share:%} of household income "
                    f"{household_income}",
                )
            )
    return findings


def assess_year(survey: AnnualSurvey, rules: RiskRules) -> list[Finding]:
    """两不愁三保障及饮水安全: each guarantee that does not hold."""
    if not rules.guarantees:
        return []
    missing = [
        (not survey.education_guaranteed, RiskType.schooling, "compulsory education"),
        (not survey.medical_insured_all, RiskType.illness, "basic medical insurance"),
        (not survey.housing_safe, RiskType.housing_safety, "safe housing"),
        (not survey.drinking_water_safe, RiskType.drinking_water_safety, "safe drinking water"),
    ]
    lacking = [(risk, what) for failed, risk, what in missing if failed]
    if not lacking:
        return []
    reason = "not guaranteed: " + ", ".join(what for _, what in lacking)
    return [Finding(RULE_GUARANTEES, tuple(risk for risk, _ in lacking), reason)]


def risk_types_of(findings: list[Finding]) -> list[RiskType]:
    return list(dict.fromkeys(risk for f in findings for risk in f.risk_types)) or [RiskType.other]


def elimination_problem(
    quarterly: Mapping[str, QuarterlySurvey],
    annual: Mapping[int, AnnualSurvey],
    since_quarter: str,
    months: int,
    line_for_year: Mapping[int, Decimal | None],
) -> tuple[str | None, list[str]]:
    """Why the risk cannot be marked eliminated yet (None when it can), and the quarters that show
    income above the line.

    The condition (风险消除标准): the latest ``ceil(months / 3)`` consecutive quarterly surveys,
    all of quarters from ``since_quarter`` (enrolment) on, show per-capita income at or above the
    line; and the latest annual survey shows every guarantee holding.
    """
    needed = -(-months // 3)
    recent = sorted(p for p in quarterly if p >= since_quarter)
    if len(recent) < needed:
        return f"{needed} quarterly surveys since enrolment are needed, {len(recent)} on record", []
    window = recent[-needed:]
    for earlier, later in itertools.pairwise(window):
        if next_quarter(earlier) != later:
            return f"the quarterly surveys are not consecutive ({earlier}, then {later})", []
    for period in window:
        line = line_for_year.get(quarter_year(period))
        income = quarterly[period].per_capita_net_income_yuan
        if line is None:
            return f"no monitoring line is configured for {period[:4]}", []
        if income < line:
            return f"per-capita income {income} in {period} is below the line {line}", []
    if not annual:
        return "an annual survey showing every guarantee is needed", []
    latest = annual[max(annual)]
    lacking = assess_year(latest, RiskRules())
    if lacking:
        return f"the {max(annual)} annual survey shows {lacking[0].reason}", []
    return None, window
