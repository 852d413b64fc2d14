"""The monitoring service's HTTP API for reading: households, their surveys and history, what-if.

Every read is limited to the caller's region (a division-code prefix). Lists carry no personal
field; a household's detail unseals names, ID numbers and the phone, masked (``mask_id``) for
every role but ``platform``; after an erasure they read as null with ``erased: true``.
Reads are for the monitoring roles, ``platform`` and ``viewer``: the federation's and
enterprises' accounts have no business with households' personal data (DESIGN §5).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from services.monitoring import queries, risk, whatif
from services.monitoring.commands import CitizenId
from services.monitoring.config import monitoring_config
from services.monitoring.queries import HouseholdFilters
from services.monitoring.risk import RiskRules
from shared.auth import Principal, Role, allow, ensure_covers
from shared.events.catalogue.monitoring import (
    QUARTER_PATTERN,
    AnnualSurvey,
    AssistanceMeasure,
    FlagSource,
    HouseholdStatus,
    LabourAbility,
    MonitoredCategory,
    QuarterlySurvey,
    Relation,
    RiskType,
    Schooling,
    Stage,
)
from shared.http.listing import Paged, paged, scope
from shared.http.problems import Problem, problem_responses
from shared.service import runtime_of

router = APIRouter(tags=["monitoring"])
READERS = (Role.village_officer, Role.township_officer, Role.county_officer, Role.platform, Role.viewer)
Reader = Annotated[Principal, Depends(allow(*READERS))]
WhatIfCaller = Annotated[
    Principal, Depends(allow(Role.county_officer, Role.township_officer, Role.viewer, Role.platform))
]
MAX_QUARTERS = 40
Year = Annotated[int, Field(ge=2000, le=2100)]
LineYuan = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]

_AUTH = {401: "Missing or refused bearer token", 403: "Role not allowed, or outside the caller's region"}
_LIST = problem_responses({**_AUTH, 422: "A filter's value does not fit, or an unknown parameter"})
_ONE = problem_responses({**_AUTH, 404: "No such household"})


# --- shapes ---------------------------------------------------------------------------------


class Flag(BaseModel):
    """The open flag (from flagged until the risk is eliminated or the flag rejected)."""

    flag_id: uuid.UUID
    source: FlagSource
    urgent: bool
    rules: list[str] = Field(description="For a flag raised by rules: those that fired")
    flagged_on: date


class Contact(BaseModel):
    """帮扶联系人: the cadre assigned to help the household."""

    name: str
    unit: str
    phone: str | None
    assigned_on: date


class HouseholdItem(BaseModel):
    household_id: uuid.UUID
    village_code: str
    status: HouseholdStatus
    members: int = Field(description="Number of members")
    stage: Stage | None = Field(description="Null: in no procedure, never monitored")
    flagged: bool = Field(description="In an open procedure (a step of enrolment or elimination is due)")
    flag: Flag | None
    category: MonitoredCategory | None = Field(description="While monitored (cleared at elimination)")
    risk_types: list[RiskType] = Field(
        description="The flag's, then the verified or enrolled ones; after elimination, those eliminated"
    )
    enrolled_on: date | None
    contact_due_on: date | None
    contact: Contact | None
    measures: list[AssistanceMeasure] = Field(description="Measures in the household's assistance plans")
    deliveries: int
    delivered_yuan: Decimal
    eliminated_on: date | None = Field(description="The latest risk elimination")
    times_eliminated: int
    last_followup_on: date | None
    erased: bool = Field(description="Its personal data was erased (crypto-shredding)")


class HouseholdPage(Paged):
    items: list[HouseholdItem]


class MemberDetail(BaseModel):
    member_no: int
    relation: Relation
    age: int
    labour: LabourAbility
    disability_grade: int | None
    chronic_illness: bool
    schooling: Schooling
    name: str | None = Field(description="Null once erased")
    id_number: str | None = Field(
        description="Masked (1506**********1234) except for the platform role; null once erased"
    )


class HouseholdDetail(HouseholdItem):
    head_name: str | None = Field(description="Null once erased")
    phone: str | None = Field(description="Masked (139****0001) except for the platform role")
    member_details: list[MemberDetail]


class IdLookup(BaseModel):
    """In the body, not the URL, so that the number stays out of access logs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id_number: CitizenId


class Found(BaseModel):
    household_id: uuid.UUID


class Survey(BaseModel):
    period: str
    kind: str = Field(description="quarterly or annual")
    surveyed_on: date
    quarterly: QuarterlySurvey | None = None
    annual: AnnualSurvey | None = None


class Surveys(BaseModel):
    household_id: uuid.UUID
    surveys: list[Survey] = Field(description="The latest correction of each period: annual, then quarterly")


class HistoryEntry(BaseModel):
    stream_version: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    data: dict[str, Any] = Field(description="The event's fields without the sealed (personal) ones")


class History(BaseModel):
    household_id: uuid.UUID
    events: list[HistoryEntry]


class WhatIfRequest(BaseModel):
    """A proposed line or rule setting to try on the stored surveys of past quarters."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        default=None, pattern=r"^\d{1,12}$", description="Division-code prefix (default: the caller's)"
    )
    from_period: str = Field(pattern=QUARTER_PATTERN, examples=["2025Q1"])
    to_period: str = Field(pattern=QUARTER_PATTERN, examples=["2026Q3"])
    monitoring_line: LineYuan | None = Field(default=None, description="Yuan per person per year, every year")
    monitoring_lines: dict[Year, LineYuan] | None = Field(
        default=None,
        description="Yuan per person per year for some years; other years keep the configured line",
    )
    rules: dict[str, Any] | None = Field(
        default=None,
        description='RiskRules fields to change (e.g. {"income_drop_share": "0.2"}); the rest as configured',
    )
    limit: int = Field(default=200, ge=1, le=2000, description="Households listed per quarter at most")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            try:
                RiskRules.model_validate(value)
            except ValidationError as exc:
                reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ValueError(f"not a rule setting ({reasons})") from None
        return value

    @model_validator(mode="after")
    def _periods(self) -> WhatIfRequest:
        if self.monitoring_line is not None and self.monitoring_lines is not None:
            raise ValueError("give monitoring_line (every year) or monitoring_lines (by year), not both")
        if self.to_period < self.from_period:
            raise ValueError("to_period is the same quarter as from_period or a later one")
        if len(whatif.quarters(self.from_period, self.to_period)) > MAX_QUARTERS:
            raise ValueError(f"at most {MAX_QUARTERS} quarters at once")
        return self


class WhatIfHousehold(BaseModel):
    household_id: uuid.UUID
    village_code: str
    period: str
    rules: list[str] = Field(description="The rules of the proposal that fired")
    risk_types: list[RiskType]
    flagged_now: bool = Field(description="The configuration in force flags it too")


class WhatIfQuarter(BaseModel):
    period: str
    surveyed: int = Field(description="Households with a quarterly survey of the quarter")
    flagged_proposed: int
    flagged_current: int
    newly_flagged: int = Field(description="Flagged by the proposal, not by the configuration in force")
    no_longer_flagged: int = Field(description="Flagged by the configuration in force, not by the proposal")
    flagged: list[WhatIfHousehold] = Field(description="Households the proposal flags, by id")
    truncated: bool = Field(description="More households were flagged than `limit` lists")


class WhatIfResult(BaseModel):
    region: str
    from_period: str
    to_period: str
    current_rules: RiskRules
    proposed_rules: RiskRules
    monitoring_line: Decimal | None
    monitoring_lines: dict[int, Decimal] | None
    quarters: list[WhatIfQuarter]
    truncated: bool = Field(description="Some quarter lists fewer households than the proposal flags")


# --- endpoints ------------------------------------------------------------------------------


async def _covered(request: Request, principal: Principal, household_id: uuid.UUID) -> None:
    """404 for a household never registered, 403 for one outside the caller's region."""
    region = await queries.household_region(runtime_of(request).store, household_id)
    if region is None:
        raise Problem(404, "Household not found", f"no household {household_id}")
    ensure_covers(principal, region)


@router.get(
    "/households",
    summary="List households with their stage, category, risk types and help",
    response_model=HouseholdPage,
    responses=_LIST,
)
async def list_households(
    request: Request, principal: Reader, filters: Annotated[HouseholdFilters, Query()]
) -> dict[str, Any]:
    """Households of the region by village and id, filtered; no personal field (names, ID numbers
    and phones are in the detail only). Paged: ``{"items", "page", "page_size", "total"}``."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.households(runtime_of(request).engine, filters, region))


@router.post(
    "/households/lookup",
    summary="Find a household by a member's citizen ID number",
    response_model=Found,
    responses=problem_responses(
        {**_AUTH, 404: "No household has a member with this ID number", 422: "Not a valid ID number"}
    ),
)
async def lookup(cmd: IdLookup, request: Request, principal: Reader) -> Found:
    """One probe of the keyed-digest index (the number is not stored in clear anywhere). The
    household must lie in the caller's region."""
    runtime = runtime_of(request)
    masters = monitoring_config(runtime.settings).masters
    household_id = await queries.household_by_digest(runtime.store, masters.id_digest(cmd.id_number))
    if household_id is None:
        raise Problem(404, "Household not found", "no household has a member with this ID number")
    await _covered(request, principal, household_id)
    return Found(household_id=household_id)


@router.get(
    "/households/{household_id}",
    summary="One household, with its members' names and ID numbers",
    response_model=HouseholdDetail,
    responses=_ONE,
)
async def get_household(household_id: uuid.UUID, request: Request, principal: Reader) -> dict[str, Any]:
    """The household as the read model has it, and its personal fields unsealed: the head's
    name, each member's name and ID number (masked unless the caller is ``platform``), the phone
    (likewise). After an erasure they are null and ``erased`` is true."""
    await _covered(request, principal, household_id)
    runtime = runtime_of(request)
    row = await queries.household(runtime.engine, household_id)
    if row is None:
        raise Problem(404, "Household not found", f"household {household_id} is not in the read model yet")
    masters = monitoring_config(runtime.settings).masters
    person = await queries.personal(
        runtime.store, masters, household_id, in_full=principal.role is Role.platform
    )
    return {
        **row,
        "erased": row["erased"] or person.erased,
        "head_name": person.head_name,
        "phone": person.phone,
        "member_details": person.members,
    }


@router.get(
    "/households/{household_id}/surveys",
    summary="The household's surveys, the latest correction of each period",
    response_model=Surveys,
    responses=_ONE,
)
async def household_surveys(household_id: uuid.UUID, request: Request, principal: Reader) -> dict[str, Any]:
    """Surveys hold no personal field: members, incomes, expenses, guarantees."""
    await _covered(request, principal, household_id)
    found = await queries.surveys(runtime_of(request).engine, household_id)
    return {"household_id": household_id, "surveys": found}


@router.get(
    "/households/{household_id}/history",
    summary="The household's events as a timeline, without personal fields",
    response_model=History,
    responses=_ONE,
)
async def household_history(household_id: uuid.UUID, request: Request, principal: Reader) -> dict[str, Any]:
    """Every event of the household in order: type, when, the actor's role, and its fields
    without the sealed ones (names, ID numbers and the phone never leave here)."""
    await _covered(request, principal, household_id)
    return {
        "household_id": household_id,
        "events": await queries.history(runtime_of(request).store, household_id),
    }


def _assess(run: whatif.WhatIf, batch: list[queries.StoredSurveys]) -> None:
    for stored in batch:
        run.add(queries.surveyed_household(stored))


@router.post(
    "/risk-rules/what-if",
    summary="Try a proposed monitoring line or rule setting on past quarters' surveys",
    response_model=WhatIfResult,
    responses=problem_responses(
        {**_AUTH, 422: "Invalid periods, line or rule setting (or both kinds of line)"}
    ),
)
async def what_if(body: WhatIfRequest, request: Request, principal: WhatIfCaller) -> dict[str, Any]:
    """For each quarter from ``from_period`` to ``to_period``: households surveyed, how many the
    proposal and the configuration in force flag, and the households the proposal flags (up to
    ``limit`` per quarter). Each quarterly survey is compared with the line of its year and the
    same quarter a year earlier; the latest annual survey of that year or before adds the
    guarantees. Nothing is written and no flag is raised."""
    region = scope(principal, body.region)
    runtime = runtime_of(request)
    config = monitoring_config(runtime.settings)
    proposed_rules = RiskRules.model_validate({**config.rules.model_dump(), **(body.rules or {})})
    current = whatif.Setting(config.lines, config.rules)
    proposed = whatif.Setting(
        config.lines, proposed_rules, body.monitoring_line, dict(body.monitoring_lines or {})
    )
    run = whatif.WhatIf(whatif.quarters(body.from_period, body.to_period), current, proposed, body.limit)
    first = risk.previous_year_quarter(body.from_period)  # the comparison quarter of the first one
    async for batch in queries.survey_batches(runtime.engine, region, first, body.to_period):
        # Parsing and assessing a county's surveys takes seconds: off the event loop, which
        # serves the relay, the consumers and other requests meanwhile.
        await asyncio.to_thread(_assess, run, batch)
    quarters = run.result()
    return {
        "region": region,
        "from_period": body.from_period,
        "to_period": body.to_period,
        "current_rules": config.rules,
        "proposed_rules": proposed_rules,
        "monitoring_line": body.monitoring_line,
        "monitoring_lines": body.monitoring_lines,
        "quarters": [dataclasses.asdict(q) for q in quarters],
        "truncated": any(q.truncated for q in quarters),
    }
