"""Half-year reporting periods (半年报): the county files its tables for each by 20 June and 21
December (the seed documents' 进度表 and 统计表), and closes the period when it has filed.

A period is named ``2026H1`` (1 January – 30 June) or ``2026H2`` (1 July – 31 December).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

PERIOD_PATTERN = r"^\d{4}H[12]$"
_FORM = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    half: int  # 1 or 2

    @classmethod
    def parse(cls, name: str) -> HalfYear:
        if not _FORM.match(name):
            raise ValueError(f"{name!r} is not a half-year such as 2026H1")
        return cls(int(name[:4]), int(name[5]))

    @classmethod
    def of(cls, day: date) -> HalfYear:
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def name(self) -> str:
        return f"{self.year}H{self.half}"

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.half == 1 else 7, 1)

    @property
    def end(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def due_on(self) -> date:
        """The day the tables are due upward (seed 003: 6月20日, 12月21日)."""
        return date(self.year, 6, 20) if self.half == 1 else date(self.year, 12, 21)

    def next(self) -> HalfYear:
        return HalfYear(self.year, 2) if self.half == 1 else HalfYear(self.year + 1, 1)

    def previous(self) -> HalfYear:
        return HalfYear(self.year, 1) if self.half == 2 else HalfYear(self.year - 1, 2)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.name


Closings = dict[tuple[str, str], datetime]  # (county code, period name) → the moment it closed


def reporting_period(village_code: str, day: date, recorded_at: datetime, closings: Closings) -> HalfYear:
    """The period a fact counts in: the half-year of its own date, unless that period was already
    closed when the fact was recorded (a late entry or a correction); then the first period of
    its county still open at that moment. A filed period is never rewritten."""
    county = village_code[:6]
    period = HalfYear.of(day)
    while (closed := closings.get((county, period.name))) is not None and recorded_at > closed:
        period = period.next()
    return period
