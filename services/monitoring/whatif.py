"""What-if (规则试算): which households a proposed monitoring line or rule setting would have
flagged in past quarters, beside what the configuration in force finds. Pure: no I/O, no flag.

A quarter's findings for a household are those of its quarterly survey (against the same quarter
a year earlier, as the service does when a survey is recorded) and those of its latest annual
survey of that year or an earlier one. A household counts as surveyed in a quarter when it has a
quarterly survey of that quarter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.monitoring import risk
from services.monitoring.risk import Finding, MonitoringLines, RiskRules
from shared.events.catalogue.monitoring import AnnualSurvey, QuarterlySurvey, RiskType


@dataclass(frozen=True)
class Setting:
    """A monitoring line for each province and year, and the rules: the configured lines unless
    ``every_year`` (one line for every year) or ``by_year`` (lines for some years) replace them."""

    lines: MonitoringLines
    rules: RiskRules
    every_year: Decimal | None = None
    by_year: Mapping[int, Decimal] = field(default_factory=dict)

    def line(self, province: str, year: int) -> Decimal | None:
        if self.every_year is not None:
            return self.every_year
        if year in self.by_year:
            return self.by_year[year]
        return self.lines.line(province, year)


@dataclass(frozen=True)
class SurveyedHousehold:
    """A household's stored surveys (the latest correction of each period)."""

    household_id: uuid.UUID
    village_code: str
    quarterly: Mapping[str, QuarterlySurvey]
    annual: Mapping[int, AnnualSurvey]


@dataclass(frozen=True)
class Flagged:
    household_id: uuid.UUID
    village_code: str
    period: str
    rules: list[str]
    risk_types: list[RiskType]
    flagged_now: bool  # the configuration in force flags it too


@dataclass
class Quarter:
    period: str
    surveyed: int = 0
    flagged_proposed: int = 0
    flagged_current: int = 0
    newly_flagged: int = 0  # by the proposal, not by the configuration in force
    no_longer_flagged: int = 0  # by the configuration in force, not by the proposal
    flagged: list[Flagged] = field(default_factory=list)
    truncated: bool = False


def quarters(first: str, last: str) -> list[str]:
    """The quarters from ``first`` to ``last``, both included (empty when ``last`` is earlier)."""
    periods: list[str] = []
    period = first
    while period <= last:
        periods.append(period)
        period = risk.next_quarter(period)
    return periods


def findings(household: SurveyedHousehold, period: str, setting: Setting) -> list[Finding]:
    """What ``setting`` finds for the household in ``period`` (a quarter it was surveyed in)."""
    year = risk.quarter_year(period)
    found = risk.assess_quarter(
        household.quarterly[period],
        household.quarterly.get(risk.previous_year_quarter(period)),
        setting.line(household.village_code[:2], year),
        setting.rules,
    )
    years = [y for y in household.annual if y <= year]
    if years:
        found += risk.assess_year(household.annual[max(years)], setting.rules)
    return found


class WhatIf:
    """Counts per quarter, fed one household at a time; each quarter lists at most ``limit``
    households the proposal flags (``truncated`` when there were more)."""

    def __init__(self, periods: Iterable[str], current: Setting, proposed: Setting, limit: int) -> None:
        self.current, self.proposed, self.limit = current, proposed, limit
        self.quarters = {period: Quarter(period) for period in periods}

    def add(self, household: SurveyedHousehold) -> None:
        for period, quarter in self.quarters.items():
            if period not in household.quarterly:
                continue
            quarter.surveyed += 1
            now = findings(household, period, self.current)
            proposed = findings(household, period, self.proposed)
            quarter.flagged_current += bool(now)
            quarter.flagged_proposed += bool(proposed)
            quarter.newly_flagged += bool(proposed) and not now
            quarter.no_longer_flagged += bool(now) and not proposed
            if not proposed:
                continue
            if len(quarter.flagged) >= self.limit:
                quarter.truncated = True
                continue
            quarter.flagged.append(
                Flagged(
                    household_id=household.household_id,
                    village_code=household.village_code,
                    period=period,
                    rules=list(dict.fromkeys(f.rule for f in proposed)),
                    risk_types=risk.risk_types_of(proposed),
                    flagged_now=bool(now),
                )
            )

    def result(self) -> list[Quarter]:
        return list(self.quarters.values())


def run(
    households: Iterable[SurveyedHousehold],
    periods: Iterable[str],
    current: Setting,
    proposed: Setting,
    limit: int,
) -> list[Quarter]:
    """The what-if over ``households`` for ``periods``, in one call."""
    whatif = WhatIf(periods, current, proposed, limit)
    for household in households:
        whatif.add(household)
    return whatif.result()
