"""Which half-year a reporting fact counts in (the periods themselves: ``shared/periods.py``)."""

from __future__ import annotations

from datetime import date, datetime

from shared.periods import PERIOD_PATTERN, HalfYear

__all__ = ["PERIOD_PATTERN", "Closings", "HalfYear", "reporting_period"]

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
