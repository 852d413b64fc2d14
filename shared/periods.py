"""Reporting periods: half-years (半年报) — the county files its tables for each by 20 June and
21 December (the seed documents' 进度表 and 统计表) — and the quarters of the quarterly surveys.

A half-year is named ``2026H1`` (1 January – 30 June) or ``2026H2`` (1 July – 31 December); a
quarter ``2026Q3``, as monitoring names a quarterly survey's period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

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


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int  # 1–4

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def name(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def start(self) -> date:
        return date(self.year, self.quarter * 3 - 2, 1)

    @property
    def end(self) -> date:
        return self.next().start - timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.quarter == 4 else Quarter(self.year, self.quarter + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def __str__(self) -> str:
        return self.name
