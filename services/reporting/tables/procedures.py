"""A household's procedures (识别纳入程序) read from its steps, and the time each step of them took:
shared by the monitoring table (flag to enrolment, enrolment to contact) and the stage-times table.

Pure, and free of the table registry so that both table modules can import it.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.reporting.facts.model import Facts, HouseholdStep
from services.reporting.periods import HalfYear, reporting_period
from shared.settings import STAGE_STEPS

ENROLMENT = "enrolment"
# The steps of the enrolment procedure in order, each ending the wait of the one before it.
ENROLMENT_STEPS = STAGE_STEPS[:4]  # verification, deliberation, township_review, county_approval
CONTACT = STAGE_STEPS[4]
_DECISIONS = frozenset({"verified", "deliberated", "reviewed"})  # with procedure "enrolment"

NOTE_PERIOD = (
    "本期：按事项日期所在半年度计入；某半年度已报送（关账）后才录入或更正的，计入下一个未关账的半年度。"
)
NOTE_MEDIAN = "中位天数：按日期相减的天数取中位数，取整（0.5进位）；无案例时为空。"


@dataclass(frozen=True)
class Procedure:
    """One flag of a household and every step after it up to its next flag (一次识别纳入程序)."""

    flag: HouseholdStep
    steps: tuple[HouseholdStep, ...]  # after the flag, in order
    latest: bool  # the household's last procedure: one still open can only be this one

    @property
    def township_code(self) -> str:
        return self.flag.village_code[:9]

    def first(self, kind: str, after: HouseholdStep | None = None) -> HouseholdStep | None:
        since = after.version if after is not None else self.flag.version
        return next((s for s in self.steps if s.kind == kind and s.version > since), None)

    def decisions(self) -> list[HouseholdStep]:
        """The enrolment steps taken, in order: verified, deliberated, reviewed, then enrolled
        or a rejection (a rejection ends the procedure at the step it waited for)."""
        return [
            s
            for s in self.steps
            if (s.kind in _DECISIONS and s.procedure == ENROLMENT) or s.kind in ("enrolled", "flag_rejected")
        ]

    @property
    def enrolled(self) -> HouseholdStep | None:
        return self.first("enrolled")


def procedures(steps: Iterable[HouseholdStep]) -> list[Procedure]:
    """Every household's procedures. Steps before a household's first flag belong to none."""
    by_household: dict[uuid.UUID, list[HouseholdStep]] = defaultdict(list)
    for step in steps:
        by_household[step.household_id].append(step)
    found: list[Procedure] = []
    for history in by_household.values():
        history.sort(key=lambda s: s.version)
        flags = [i for i, s in enumerate(history) if s.kind == "flagged"]
        for n, i in enumerate(flags):
            end = flags[n + 1] if n + 1 < len(flags) else len(history)
            found.append(Procedure(history[i], tuple(history[i + 1 : end]), latest=n + 1 == len(flags)))
    return found


@dataclass(frozen=True)
class StageCase:
    """The time one step of one procedure took, or has taken so far while it waits."""

    step: str  # verification · deliberation · township_review · county_approval · contact
    township_code: str
    urgent: bool  # the flag took the urgent path (先救助后认定)
    days: int
    ended: HouseholdStep | None  # the step that ended the wait; None while still waiting at facts.today


def stage_cases(facts: Facts) -> list[StageCase]:
    return [case for p in procedures(facts.steps) for case in _cases(p, facts)]


def _cases(procedure: Procedure, facts: Facts) -> Iterator[StageCase]:
    def case(step: str, start: HouseholdStep, end: HouseholdStep | None) -> StageCase:
        until = end.on_date if end is not None else facts.today
        days = max((until - start.on_date).days, 0)
        return StageCase(step, procedure.township_code, procedure.flag.urgent, days, end)

    start = procedure.flag
    decisions = procedure.decisions()
    for i, step in enumerate(ENROLMENT_STEPS):
        if i == len(decisions):
            # a closed procedure always ends in enrolment or rejection: only the latest waits
            if procedure.latest:
                yield case(step, start, None)
            return
        end = decisions[i]
        yield case(step, start, end)
        if end.kind == "flag_rejected":
            return
        start = end
    enrolled = procedure.enrolled
    if enrolled is None:
        return
    contact = procedure.first("contact_assigned")
    if contact is not None:
        # on the urgent path the contact may come before the enrolment: in place when enrolled
        ended = contact if contact.version > enrolled.version else enrolled
        yield case(CONTACT, enrolled, ended)
    elif (eliminated := procedure.first("eliminated", after=enrolled)) is not None:
        yield case(CONTACT, enrolled, eliminated)
    elif procedure.latest:
        yield case(CONTACT, enrolled, None)


def in_period(step: HouseholdStep, facts: Facts, period: HalfYear) -> bool:
    counted = reporting_period(step.village_code, step.on_date, step.recorded_at, facts.closings)
    return counted == period


def median_days(days: Sequence[int]) -> int | None:
    if not days:
        return None
    return int(Decimal(str(statistics.median(days))).quantize(Decimal(1), rounding=ROUND_HALF_UP))
