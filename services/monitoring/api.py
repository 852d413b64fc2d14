"""The monitoring service's HTTP API for commands: households, surveys, flags, the approval steps,
help, risk elimination, follow-ups and erasure. Who may take a step is the domain's rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from services.monitoring.commands import (
    Approve,
    AssignContact,
    Deliberate,
    DeliverAssistance,
    DepartmentAlert,
    Erase,
    Followup,
    MonitoringCommands,
    PlanAssistance,
    ProposeElimination,
    RaiseFlag,
    RecordSurvey,
    RegisterHousehold,
    Reject,
    Review,
    UpdateMembers,
    Verify,
)
from services.monitoring.config import monitoring_config
from services.monitoring.domain import STEP_ROLE, Household
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.clock import china_date
from shared.domain import InvalidInput
from shared.events.catalogue.monitoring import FlagSource, HouseholdFlagged, Stage
from shared.events.envelope import EventData
from shared.eventstore.context import CommandContext
from shared.http.problems import problem_responses
from shared.ids import uuid7
from shared.service import command_context, runtime_of

router = APIRouter(tags=["monitoring"])
Caller = Annotated[Principal, Depends(authenticate)]
Enterer = Annotated[
    Principal, Depends(allow(Role.village_officer, Role.township_officer, Role.county_officer))
]
Alerter = Annotated[Principal, Depends(allow(Role.platform, Role.county_officer))]
Eraser = Annotated[Principal, Depends(allow(Role.county_officer))]

_AUTH = {
    401: "Missing or refused token",
    403: "Role not allowed for this step, or outside the token's region",
}
_STEP = {
    **_AUTH,
    404: "Household not registered",
    409: "Refused by the household's stage or a concurrent change (see `rule`)",
    422: "Invalid body, or dates that contradict the procedure (see `rule`)",
}


class Registered(BaseModel):
    id: str


class FlagRaised(BaseModel):
    flag_id: str
    risk_types: list[str]
    rules: list[str] = Field(default_factory=list, description="For a flag raised by rules: which fired")


class SurveyRecorded(BaseModel):
    household_id: str
    recorded: bool = Field(description="False when the same survey of the period was already on record")
    flag: FlagRaised | None = Field(default=None, description="Set when the survey's findings flagged it")


class StepTaken(BaseModel):
    household_id: str
    stage: str | None = Field(description="The household's stage after the step (null: not in a procedure)")
    events: list[str] = Field(description="The events the step recorded (empty: it changed nothing)")


class AlertReceived(BaseModel):
    household_id: str
    flag_id: str


def commands(request: Request) -> MonitoringCommands:
    runtime = runtime_of(request)
    config = monitoring_config(runtime.settings)
    return MonitoringCommands(
        runtime.store, config.masters, config.lines, config.rules, runtime.settings.county_codes
    )


def _today(ctx: CommandContext) -> date:
    return china_date(ctx.now)


async def _step(
    request: Request,
    principal: Principal,
    household_id: uuid.UUID,
    decide: Callable[[Household, CommandContext], list[EventData]],
) -> StepTaken:
    ctx = command_context(request, principal)
    household, events = await commands(request).act(ctx, principal, household_id, lambda h: decide(h, ctx))
    return _taken(household_id, household, events)


def _taken(household_id: uuid.UUID, household: Household, events: list[EventData]) -> StepTaken:
    return StepTaken(
        household_id=str(household_id),
        stage=household.stage.value if household.stage else None,
        events=[e.event_type for e in events],
    )


@router.post(
    "/households",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register a household and its members",
    responses=problem_responses(
        {
            **_AUTH,
            409: "A member's ID number is on record in another household",
            422: "Invalid body (e.g. an ID number's check character), or a village not served here",
        }
    ),
)
async def register_household(cmd: RegisterHousehold, request: Request, principal: Enterer) -> Registered:
    """Register a rural household (monitoring.household_registered). Names, ID numbers and the
    phone are sealed under the household's own key; ID numbers are indexed by a keyed digest."""
    ensure_covers(principal, cmd.village_code, "village_code")
    household_id = await commands(request).register(command_context(request, principal), cmd)
    return Registered(id=str(household_id))


@router.put(
    "/households/{household_id}/members",
    response_model=StepTaken,
    summary="Replace the household's members (人口自然增减)",
    responses=problem_responses({**_STEP}),
)
async def update_members(
    household_id: uuid.UUID, cmd: UpdateMembers, request: Request, principal: Enterer
) -> StepTaken:
    """The members as they are now (monitoring.household_members_updated)."""
    ctx = command_context(request, principal)
    household, events = await commands(request).update_members(ctx, principal, household_id, cmd)
    return _taken(household_id, household, events)


@router.post(
    "/households/{household_id}/surveys",
    response_model=SurveyRecorded,
    summary="Record a quarterly or annual survey",
    responses=problem_responses({**_STEP}),
)
async def record_survey(
    household_id: uuid.UUID, cmd: RecordSurvey, request: Request, principal: Enterer
) -> SurveyRecorded:
    """Record a survey (monitoring.household_surveyed). The risk rules run on it: when they find
    risk and the household is in no procedure, it is flagged too (monitoring.household_flagged,
    source `rule`, naming the rules). A survey of a recorded period is a correction; the same
    survey again changes nothing."""
    events = await commands(request).survey(command_context(request, principal), principal, household_id, cmd)
    flag = next((e for e in events if isinstance(e, HouseholdFlagged)), None)
    return SurveyRecorded(
        household_id=str(household_id),
        recorded=bool(events),
        flag=FlagRaised(flag_id=str(flag.flag_id), risk_types=list(flag.risk_types), rules=flag.rules)
        if flag
        else None,
    )


@router.post(
    "/households/{household_id}/flags",
    status_code=status.HTTP_201_CREATED,
    response_model=FlagRaised,
    summary="Flag a household (self-declaration or cadre visit)",
    responses=problem_responses({**_STEP}),
)
async def raise_flag(
    household_id: uuid.UUID, cmd: RaiseFlag, request: Request, principal: Caller
) -> FlagRaised:
    """Flag a household at risk (monitoring.household_flagged): 农户自主申报 or 干部走访排查.
    `urgent` (disaster or accident) lets help be recorded before the approval steps."""
    flag_id = uuid7()
    await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.flag_risk(
            by_role=principal.role,
            flag_id=flag_id,
            source=cmd.source,
            risk_types=cmd.risk_types,
            flagged_on=cmd.flagged_on,
            today=_today(ctx),
            urgent=cmd.urgent,
            note=cmd.note,
        ),
    )
    return FlagRaised(flag_id=str(flag_id), risk_types=[r.value for r in cmd.risk_types])


@router.post(
    "/department-alerts",
    status_code=status.HTTP_201_CREATED,
    response_model=AlertReceived,
    summary="Receive a department's screening alert",
    responses=problem_responses({**_STEP, 404: "No household has a member with this ID number"}),
)
async def department_alert(cmd: DepartmentAlert, request: Request, principal: Alerter) -> AlertReceived:
    """部门筛查预警 from civil affairs, health, medical insurance, housing, education, the disabled
    persons' federation or emergency management: flags the household (source `department_alert`).
    A household already in a procedure answers 409 `one_open_procedure`."""
    handler = commands(request)
    household_id = cmd.household_id or await handler.household_of(cmd.id_number or "")
    flag_id = uuid7()
    await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.flag_risk(
            by_role=principal.role,
            flag_id=flag_id,
            source=FlagSource.department_alert,
            risk_types=cmd.risk_types,
            flagged_on=cmd.alerted_on,
            today=_today(ctx),
            department=cmd.department,
            urgent=cmd.urgent,
            note=cmd.note,
        ),
    )
    return AlertReceived(household_id=str(household_id), flag_id=str(flag_id))


@router.post(
    "/households/{household_id}/verification",
    response_model=StepTaken,
    summary="Verify at home (入户核实), township",
    responses=problem_responses(_STEP),
)
async def verify(household_id: uuid.UUID, cmd: Verify, request: Request, principal: Caller) -> StepTaken:
    """monitoring.household_verified, in the open procedure (enrolment or elimination)."""
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.verify(
            by_role=principal.role,
            verified_on=cmd.verified_on,
            today=_today(ctx),
            risk_types=cmd.risk_types,
            findings=cmd.findings,
        ),
    )


@router.post(
    "/households/{household_id}/deliberation",
    response_model=StepTaken,
    summary="Village deliberation and public notice (民主评议、公示), village",
    responses=problem_responses(_STEP),
)
async def deliberate(
    household_id: uuid.UUID, cmd: Deliberate, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.household_deliberated; the notice lasts `XINGCUN_NOTICE_DAYS` days from `notice_from`."""
    notice_days = runtime_of(request).settings.notice_days
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.deliberate(
            by_role=principal.role,
            deliberated_on=cmd.deliberated_on,
            today=_today(ctx),
            votes_for=cmd.votes_for,
            votes_against=cmd.votes_against,
            notice_from=cmd.notice_from,
            notice_days=notice_days,
        ),
    )


@router.post(
    "/households/{household_id}/review",
    response_model=StepTaken,
    summary="Township review (乡镇审核), after the public notice",
    responses=problem_responses(_STEP),
)
async def review(household_id: uuid.UUID, cmd: Review, request: Request, principal: Caller) -> StepTaken:
    """monitoring.household_reviewed; refused while the public notice runs."""
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.review(
            by_role=principal.role, reviewed_on=cmd.reviewed_on, today=_today(ctx), opinion=cmd.opinion
        ),
    )


@router.post(
    "/households/{household_id}/approval",
    response_model=StepTaken,
    summary="County approval (县级审定): enrolment, or risk elimination",
    responses=problem_responses(_STEP),
)
async def approve(household_id: uuid.UUID, cmd: Approve, request: Request, principal: Caller) -> StepTaken:
    """Enrolment (monitoring.household_enrolled; `category` needed) or, in the elimination
    procedure, monitoring.risk_eliminated."""
    contact_days = runtime_of(request).settings.contact_within_days

    def decide(h: Household, ctx: CommandContext) -> list[EventData]:
        if h.stage is Stage.elimination_reviewed:
            return h.approve_elimination(
                by_role=principal.role, eliminated_on=cmd.approved_on, today=_today(ctx)
            )
        # the role is refused before the body (a wrong role learns nothing of what it lacks)
        if cmd.category is None and h.stage is Stage.reviewed and principal.role is STEP_ROLE[h.stage]:
            raise InvalidInput("enrolment_category", "approving enrolment names the category", "category")
        return h.approve_enrolment(
            by_role=principal.role,
            enrolled_on=cmd.approved_on,
            today=_today(ctx),
            category=cmd.category,  # type: ignore[arg-type]
            risk_types=cmd.risk_types,
            contact_within_days=contact_days,
        )

    return await _step(request, principal, household_id, decide)


@router.post(
    "/households/{household_id}/rejection",
    response_model=StepTaken,
    summary="Reject at the step the case waits for, with the reason",
    responses=problem_responses(_STEP),
)
async def reject(household_id: uuid.UUID, cmd: Reject, request: Request, principal: Caller) -> StepTaken:
    """monitoring.flag_rejected (enrolment) or monitoring.risk_elimination_rejected (elimination),
    by the role of the step the case waits for."""
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.reject(
            by_role=principal.role, rejected_on=cmd.rejected_on, today=_today(ctx), reason=cmd.reason
        ),
    )


@router.post(
    "/households/{household_id}/contact",
    response_model=StepTaken,
    summary="Assign the contact (帮扶联系人)",
    responses=problem_responses(_STEP),
)
async def assign_contact(
    household_id: uuid.UUID, cmd: AssignContact, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.contact_assigned; due within `XINGCUN_CONTACT_WITHIN_DAYS` of enrolment."""
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.assign_contact(
            by_role=principal.role,
            name=cmd.name,
            unit=cmd.unit,
            phone=cmd.phone,
            assigned_on=cmd.assigned_on,
            today=_today(ctx),
        ),
    )


@router.post(
    "/households/{household_id}/assistance-plans",
    response_model=StepTaken,
    status_code=status.HTTP_201_CREATED,
    summary="Record an assistance plan by risk type",
    responses=problem_responses(_STEP),
)
async def plan_assistance(
    household_id: uuid.UUID, cmd: PlanAssistance, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.assistance_planned."""
    plan_id = uuid7()
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.plan_assistance(
            by_role=principal.role,
            plan_id=plan_id,
            planned_on=cmd.planned_on,
            today=_today(ctx),
            measures=cmd.measures,
        ),
    )


@router.post(
    "/households/{household_id}/assistance-deliveries",
    response_model=StepTaken,
    status_code=status.HTTP_201_CREATED,
    summary="Record assistance delivered",
    responses=problem_responses(_STEP),
)
async def deliver_assistance(
    household_id: uuid.UUID, cmd: DeliverAssistance, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.assistance_delivered; the measure must be in one of the household's plans."""
    delivery_id = uuid7()
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.deliver_assistance(
            by_role=principal.role,
            delivery_id=delivery_id,
            measure=cmd.measure,
            delivered_on=cmd.delivered_on,
            today=_today(ctx),
            description=cmd.description,
            amount_yuan=cmd.amount_yuan,
        ),
    )


@router.post(
    "/households/{household_id}/elimination-proposal",
    response_model=StepTaken,
    summary="Propose risk elimination (村提出名单), village",
    responses=problem_responses(_STEP),
)
async def propose_elimination(
    household_id: uuid.UUID, cmd: ProposeElimination, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.risk_elimination_proposed, when income stayed above the line for
    `XINGCUN_ELIMINATION_MONTHS` and every guarantee holds (409 `elimination_conditions` says why not)."""
    settings = runtime_of(request).settings
    lines = monitoring_config(settings).lines
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.propose_elimination(
            by_role=principal.role,
            proposed_on=cmd.proposed_on,
            today=_today(ctx),
            months=settings.elimination_months,
            lines=lines,
            note=cmd.note,
        ),
    )


@router.post(
    "/households/{household_id}/followups",
    response_model=StepTaken,
    status_code=status.HTTP_201_CREATED,
    summary="Record a follow-up visit after elimination (跟踪回访)",
    responses=problem_responses(_STEP),
)
async def record_followup(
    household_id: uuid.UUID, cmd: Followup, request: Request, principal: Caller
) -> StepTaken:
    """monitoring.followup_recorded. A visit that finds the risk back is followed by a flag."""
    return await _step(
        request,
        principal,
        household_id,
        lambda h, ctx: h.record_followup(
            by_role=principal.role,
            visited_on=cmd.visited_on,
            today=_today(ctx),
            stable=cmd.stable,
            note=cmd.note,
        ),
    )


@router.post(
    "/households/{household_id}/erasure",
    response_model=StepTaken,
    summary="Erase the household's personal data (crypto-shredding)",
    responses=problem_responses({**_AUTH, 404: "Household not registered"}),
)
async def erase(household_id: uuid.UUID, cmd: Erase, request: Request, principal: Eraser) -> StepTaken:
    """Destroy the household's key (monitoring.personal_data_erased): names, ID numbers and the
    phone become unreadable in every event, replay and export; every statistic stays the same."""
    ctx = command_context(request, principal)
    household, events = await commands(request).erase(ctx, principal, household_id, cmd)
    return _taken(household_id, household, events)
