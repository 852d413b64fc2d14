"""Reminders found from time, not from an event (pure): what is due, for today's date in China.

- ``report_deadline``: a county's half-year tables, from ``report_days_before`` days before the
  due date (20 June, 21 December) until it, while the county has not closed the period.
- ``contact_overdue``: a monitored household without a contact assigned since the flag that led
  to its enrolment (on the urgent path the contact comes first), once the day monitoring set for
  it at enrolment (``contact_due_on``) has passed.
- ``surveys_due``: the monitored households of a township without a survey this quarter, from
  ``survey_days_before`` days before the quarter ends; one reminder per township, with the count.

Each due item has one id (``Due.reminder_id``), so it is raised once however often it is found.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import date, timedelta

from shared.events.catalogue.notification import ReminderDue, ReminderKind
from shared.periods import HalfYear, Quarter
from shared.settings import Settings

_NAMESPACE = uuid.UUID("0b6f2f4e-6a53-5e1c-8d7a-3c2e9b41f5a0")


@dataclass(frozen=True)
class ReminderOptions:
    report_days_before: int
    survey_days_before: int

    @classmethod
    def of(cls, settings: Settings) -> ReminderOptions:
        return cls(
            report_days_before=settings.reminder_report_days_before,
            survey_days_before=settings.reminder_survey_days_before,
        )


@dataclass(frozen=True)
class WatchedHousehold:
    household_id: uuid.UUID
    region_code: str
    flagged_on: date | None
    enrolled_on: date | None
    contact_due_on: date | None
    contact_assigned_on: date | None
    last_quarter: str | None


@dataclass(frozen=True)
class Due:
    kind: ReminderKind
    item: str
    region_code: str  # 12 digits
    due_on: date
    count: int | None = None

    @property
    def reminder_id(self) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, f"{self.kind.value}/{self.item}")

    def event(self, raised_on: date) -> ReminderDue:
        return ReminderDue(
            reminder_id=self.reminder_id,
            kind=self.kind,
            item=self.item,
            due_on=self.due_on,
            raised_on=raised_on,
            count=self.count,
        )


def _padded(prefix: str) -> str:
    return prefix.ljust(12, "0")


def report_deadlines(
    counties: Iterable[str], closed: Set[tuple[str, str]], today: date, days_before: int
) -> list[Due]:
    period = HalfYear.of(today)
    if not period.due_on - timedelta(days=days_before) <= today <= period.due_on:
        return []
    return [
        Due(ReminderKind.report_deadline, f"{county}:{period.name}", _padded(county), period.due_on)
        for county in sorted(set(counties))
        if (county, period.name) not in closed
    ]


def contacts_overdue(households: Iterable[WatchedHousehold], today: date) -> list[Due]:
    found = []
    for h in households:
        if h.enrolled_on is None or h.contact_due_on is None:
            continue
        since = h.flagged_on or h.enrolled_on
        assigned = h.contact_assigned_on is not None and h.contact_assigned_on >= since
        due_on = h.contact_due_on
        if not assigned and today > due_on:
            item = f"{h.household_id}:{h.enrolled_on.isoformat()}"
            found.append(Due(ReminderKind.contact_overdue, item, h.region_code, due_on))
    return found


def surveys_due(households: Iterable[WatchedHousehold], today: date, days_before: int) -> list[Due]:
    quarter = Quarter.of(today)
    if (quarter.end - today).days > days_before:
        return []
    missing = Counter(h.region_code[:9] for h in households if (h.last_quarter or "") < quarter.name)
    return [
        Due(ReminderKind.surveys_due, f"{township}:{quarter.name}", _padded(township), quarter.end, count)
        for township, count in sorted(missing.items())
    ]


def due_reminders(
    counties: Iterable[str],
    closed: Set[tuple[str, str]],
    monitored: list[WatchedHousehold],
    today: date,
    options: ReminderOptions,
) -> list[Due]:
    """Every reminder due today; ``monitored``: the households under monitoring now."""
    return [
        *report_deadlines(counties, closed, today, options.report_days_before),
        *contacts_overdue(monitored, today),
        *surveys_due(monitored, today, options.survey_days_before),
    ]
