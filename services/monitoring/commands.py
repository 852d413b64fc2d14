"""Monitoring commands: what a caller asks for, validated, and the handlers that carry them out."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

import asyncpg
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.monitoring import keys
from services.monitoring.domain import Household, household_stream
from services.monitoring.personal import (
    MasterKeys,
    citizen_id_problem,
    holds_citizen_id,
    new_household_key,
    seal,
)
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.auth import Principal, ensure_covers
from shared.clock import china_date
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.monitoring import (
    QUARTER_PATTERN,
    YEAR_PATTERN,
    AnnualSurvey,
    AssistanceMeasure,
    Department,
    FlagSource,
    HouseholdStatus,
    LabourAbility,
    Member,
    MonitoredCategory,
    PlannedMeasure,
    QuarterlySurvey,
    Relation,
    RiskType,
    Schooling,
)
from shared.events.envelope import EventData
from shared.eventstore.context import CommandContext
from shared.eventstore.repository import load, save
from shared.eventstore.store import EventStore, EventStoreSession
from shared.ids import uuid7
from shared.regions import DivisionCode, village_code_problem


def _valid_citizen_id(value: str) -> str:
    value = value.upper()
    problem = citizen_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


CitizenId = Annotated[str, AfterValidator(_valid_citizen_id)]


def _no_citizen_id(value: str | None) -> str | None:
    if value is not None and holds_citizen_id(value):
        # Free text is published in events as it is: an ID number in it would travel in clear.
        raise ValueError("free text may not hold a citizen ID number (it would be published in clear)")
    return value


Text = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_no_citizen_id)]
Note = Annotated[str | None, Field(default=None, max_length=1000), AfterValidator(_no_citizen_id)]
Phone = Annotated[str, Field(pattern=r"^[0-9+\- ]{5,20}$")]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MemberIn(_Command):
    name: str = Field(min_length=1, max_length=50)
    id_number: CitizenId = Field(description="18-character citizen ID number (身份证号), GB 11643 checked")
    relation: Relation
    age: int = Field(ge=0, le=130)
    labour: LabourAbility
    disability_grade: int | None = Field(default=None, ge=1, le=4)
    chronic_illness: bool = False
    schooling: Schooling


class _Household(_Command):
    status: HouseholdStatus
    phone: Phone | None = None
    members: list[MemberIn] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _distinct_ids(self) -> _Household:
        numbers = [m.id_number for m in self.members]
        if len(set(numbers)) != len(numbers):
            raise ValueError("each member's id_number is given once")
        return self


class RegisterHousehold(_Household):
    village_code: DivisionCode


class UpdateMembers(_Household):
    """The household's members as they are now (人口自然增减): the whole list."""


class RecordSurvey(_Command):
    period: str = Field(description="`2026Q3` with `quarterly`, `2026` with `annual`")
    surveyed_on: date
    quarterly: QuarterlySurvey | None = None
    annual: AnnualSurvey | None = None

    @model_validator(mode="after")
    def _kind_matches_period(self) -> RecordSurvey:
        if self.quarterly is not None and self.annual is None and re.match(QUARTER_PATTERN, self.period):
            return self
        if self.annual is not None and self.quarterly is None and re.match(YEAR_PATTERN, self.period):
            return self
        raise ValueError("give `quarterly` with a period like 2026Q3, or `annual` with a year like 2026")


class RaiseFlag(_Command):
    source: FlagSource = Field(
        description="self_declared or cadre_visit (department alerts have their own call)"
    )
    risk_types: list[RiskType] = Field(min_length=1)
    flagged_on: date
    urgent: bool = Field(default=False, description="Disaster or accident: help first, steps after")
    note: Note = None


class DepartmentAlert(_Command):
    """A department's screening alert (部门筛查预警), naming the household by a member's ID number."""

    id_number: CitizenId | None = None
    household_id: uuid.UUID | None = None
    department: Department
    risk_types: list[RiskType] = Field(min_length=1)
    alerted_on: date
    urgent: bool = False
    note: Note = None

    @model_validator(mode="after")
    def _one_reference(self) -> DepartmentAlert:
        if (self.id_number is None) == (self.household_id is None):
            raise ValueError("name the household by id_number or by household_id (one of them)")
        return self


class Verify(_Command):
    verified_on: date
    risk_types: list[RiskType] = Field(default_factory=list, description="The risks found (enrolment)")
    findings: Text


class Deliberate(_Command):
    deliberated_on: date
    votes_for: int = Field(ge=0)
    votes_against: int = Field(ge=0)
    notice_from: date = Field(description="First day of the public notice (公示)")


class Review(_Command):
    reviewed_on: date
    opinion: Text


class Approve(_Command):
    approved_on: date
    category: MonitoredCategory | None = Field(default=None, description="Needed when approving enrolment")
    risk_types: list[RiskType] | None = Field(default=None, description="Default: the verified ones")


class Reject(_Command):
    rejected_on: date
    reason: Text


class AssignContact(_Command):
    name: str = Field(min_length=1, max_length=50)
    unit: str = Field(min_length=1, max_length=200, description="The contact's work unit")
    phone: Phone | None = None
    assigned_on: date


class PlanAssistance(_Command):
    planned_on: date
    measures: list[PlannedMeasure] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _descriptions_without_ids(self) -> PlanAssistance:
        for number, measure in enumerate(self.measures):
            if holds_citizen_id(measure.description):
                raise ValueError(f"measures.{number}.description may not hold a citizen ID number")
        return self


class DeliverAssistance(_Command):
    measure: AssistanceMeasure
    delivered_on: date
    description: Text
    amount_yuan: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class ProposeElimination(_Command):
    proposed_on: date
    note: Note = None


class Followup(_Command):
    visited_on: date
    stable: bool
    note: Text


class Erase(_Command):
    reason: Text


def sealed_members(key: bytes, household_id: uuid.UUID, members: list[MemberIn]) -> list[Member]:
    return [
        Member(
            member_no=no,
            relation=m.relation,
            age=m.age,
            labour=m.labour,
            disability_grade=m.disability_grade,
            chronic_illness=m.chronic_illness,
            schooling=m.schooling,
            sealed=seal(key, household_id, {"name": m.name, "id_number": m.id_number}),
        )
        for no, m in enumerate(members, start=1)
    ]


Decide = Callable[[Household], list[EventData]]


@dataclass(frozen=True)
class MonitoringCommands:
    store: EventStore
    masters: MasterKeys
    lines: MonitoringLines
    rules: RiskRules
    counties: frozenset[str] = frozenset()

    async def register(self, ctx: CommandContext, cmd: RegisterHousehold) -> uuid.UUID:
        problem = village_code_problem(cmd.village_code, self.counties)
        if problem:
            raise InvalidInput("village_code_of_this_deployment", problem, "village_code")
        household_id = uuid7()
        digests = {no: self.masters.id_digest(m.id_number) for no, m in enumerate(cmd.members, start=1)}
        key = new_household_key()
        async with self._indexing() as s:
            await self._refuse_held_elsewhere(s.conn, digests, household_id)
            household = Household()
            events = household.register(
                household_id=household_id,
                village_code=cmd.village_code,
                status=cmd.status,
                members=sealed_members(key, household_id, cmd.members),
                sealed=seal(key, household_id, {"phone": cmd.phone}),
            )
            save(s, ctx, household_stream(household_id), household, cmd.village_code, events)
            await keys.store_keys(s.conn, self.masters, {household_id: key})
            await keys.index_many(s.conn, [(d, household_id, no) for no, d in digests.items()])
        return household_id

    async def update_members(
        self, ctx: CommandContext, principal: Principal, household_id: uuid.UUID, cmd: UpdateMembers
    ) -> tuple[Household, list[EventData]]:
        digests = {no: self.masters.id_digest(m.id_number) for no, m in enumerate(cmd.members, start=1)}
        async with self._indexing() as s:
            household = await self._load(s, principal, household_id)
            key = (await keys.fetch_keys(s.conn, self.masters, [household_id])).get(household_id)
            if key is None:
                raise StateConflict("personal_data_erased", "this household's personal data was erased")
            await self._refuse_held_elsewhere(s.conn, digests, household_id)
            events = household.update_members(
                members=sealed_members(key, household_id, cmd.members),
                status=cmd.status,
                sealed=seal(key, household_id, {"phone": cmd.phone}),
            )
            save(s, ctx, household_stream(household_id), household, household.village_code, events)
            await keys.index_members(s.conn, household_id, digests)
        return household, events

    async def act(
        self, ctx: CommandContext, principal: Principal, household_id: uuid.UUID, decide: Decide
    ) -> tuple[Household, list[EventData]]:
        """Load the household, let ``decide`` choose the events, append them; the household as the
        events left it, and the events."""
        async with self.store.session() as s:
            household = await self._load(s, principal, household_id)
            events = decide(household)
            save(s, ctx, household_stream(household_id), household, household.village_code, events)
        for event in events:
            household.apply(event)
        return household, events

    async def survey(
        self, ctx: CommandContext, principal: Principal, household_id: uuid.UUID, cmd: RecordSurvey
    ) -> list[EventData]:
        _, events = await self.act(
            ctx,
            principal,
            household_id,
            lambda h: h.survey(
                survey_id=uuid7(),
                flag_id=uuid7(),
                period=cmd.period,
                surveyed_on=cmd.surveyed_on,
                quarterly=cmd.quarterly,
                annual=cmd.annual,
                lines=self.lines,
                rules=self.rules,
                today=china_date(ctx.now),
            ),
        )
        return events

    async def household_of(self, id_number: str) -> uuid.UUID:
        async with self.store.pool.acquire() as conn:
            found = await keys.find_households(conn, [self.masters.id_digest(id_number)])
        if not found:
            raise NotFound(
                "household_registered", "no household has a member with this ID number", "id_number"
            )
        return next(iter(found.values()))

    async def erase(
        self, ctx: CommandContext, principal: Principal, household_id: uuid.UUID, cmd: Erase
    ) -> tuple[Household, list[EventData]]:
        """Destroy the household's key (and its ID index rows) with the event (none if already erased)."""
        async with self._indexing() as s:
            household = await self._load(s, principal, household_id)
            events = household.erase(erased_on=china_date(ctx.now), reason=cmd.reason)
            save(s, ctx, household_stream(household_id), household, household.village_code, events)
            await keys.shred(s.conn, household_id)
        return household, events

    # -- helpers ---------------------------------------------------------------------------------

    @asynccontextmanager
    async def _indexing(self) -> AsyncIterator[EventStoreSession]:
        """A session whose key and index writes commit with its events, or not at all; a race lost
        on the ID index is the same clear 409 as a number found on record."""
        try:
            async with self.store.session(transaction=True) as s:
                yield s
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name != "person_index_pkey":
                raise
            raise StateConflict(
                "citizen_id_in_one_household",
                "a member's ID number was registered in another household at the same moment",
                "members",
            ) from None

    async def _load(self, s: EventStoreSession, principal: Principal, household_id: uuid.UUID) -> Household:
        household = await load(s, household_stream(household_id), Household)
        if not household.registered:
            raise NotFound("household_registered", f"no household {household_id}")
        ensure_covers(principal, household.village_code)
        return household

    async def _refuse_held_elsewhere(
        self, conn: asyncpg.Connection, digests: dict[int, bytes], household_id: uuid.UUID
    ) -> None:
        found = await keys.find_households(conn, list(digests.values()))
        for no, digest in digests.items():
            other = found.get(digest)
            if other is not None and other != household_id:
                raise StateConflict(
                    "citizen_id_in_one_household",
                    f"member {no}'s ID number is on record in household {other}",
                    f"members.{no - 1}.id_number",
                )
