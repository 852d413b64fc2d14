"""Time comes in from outside the domain; tests pass a clock they can move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

CHINA = timezone(timedelta(hours=8), "CST")


def china_date(moment: datetime) -> date:
    """The calendar date in China at ``moment`` (an aware datetime): what "today" means to an officer."""
    return moment.astimezone(CHINA).date()


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: for tests, and for replaying a day's schedule."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("a clock tells aware UTC time")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
