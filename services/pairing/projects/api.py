"""HTTP API for projects (帮扶项目): register, invest, reach milestones, complete, read, check overdue."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel

from services.pairing.api import Registered
from services.pairing.projects.commands import (
    Authorize,
    CompleteProject,
    ProjectCommands,
    ReachMilestone,
    RecordInvestment,
    RegisterProject,
)
from services.pairing.projects.domain import MilestoneStatus, Project, project_stream
from services.pairing.projects.scheduler import OverdueCheck, check_overdue
from shared.auth import Principal, Role, allow, ensure_covers
from shared.events.catalogue.pairing import Asset, Funding, FundingSource, ProjectRegistered, Share
from shared.eventstore.repository import rebuild
from shared.http.problems import Problem, problem_responses
from shared.ids import uuid7
from shared.service import command_context, runtime_of

router = APIRouter(tags=["projects"])

# The enterprise role is not let in yet: its token names no enterprise, so it cannot be held to
# the projects it builds.
ProjectOfficer = Annotated[Principal, Depends(allow(Role.federation_officer, Role.county_officer))]
Reader = Annotated[Principal, Depends(allow(*Role))]
Checker = Annotated[Principal, Depends(allow(Role.county_officer, Role.platform))]
ProjectWorker = Annotated[
    Principal, Depends(allow(Role.federation_officer, Role.county_officer, Role.enterprise))
]


_CHANGE_PROBLEMS = problem_responses(
    {
        403: "Role not allowed, or the project's village lies outside the token's region",
        404: "No such project (project_must_exist) or milestone (milestone_must_exist)",
        409: "Refused by the project's state, or changed concurrently",
        422: "Invalid body, or a rule of the project refused it (see `rule`)",
    }
)


class Tranche(BaseModel):
    tranche: int
    source: FundingSource
    amount_yuan: Decimal
    invested_on: date
    evidence_ref: str | None


class MilestoneView(BaseModel):
    milestone_id: str
    name: str
    due_on: date
    status: MilestoneStatus
    reached_on: date | None
    evidence_ref: str | None
    overdue_detected_on: date | None  # kept when a milestone is reached after it was flagged


class ProjectView(BaseModel):
    """A project as its stream tells it now."""

    project_id: uuid.UUID
    version: int
    status: Literal["in_progress", "completed"]
    village_code: str
    name: str
    industry: str
    agreement_ids: list[uuid.UUID]
    enterprise_ids: list[uuid.UUID]
    budget_yuan: Decimal
    funding: list[Funding]
    shareholding: list[Share]
    beneficiary_households: int
    jobs: int
    invested_yuan: Decimal
    tranches: list[Tranche]
    milestones: list[MilestoneView]
    completed_on: date | None
    assets: list[Asset]


def project_view(project: Project) -> ProjectView:
    registered = project.existing()
    completed = project.completed
    return ProjectView(
        project_id=registered.project_id,
        version=project.version,
        status="completed" if completed else "in_progress",
        village_code=registered.village_code,
        name=registered.name,
        industry=registered.industry,
        agreement_ids=registered.agreement_ids,
        enterprise_ids=registered.enterprise_ids,
        budget_yuan=registered.budget_yuan,
        funding=registered.funding,
        shareholding=registered.shareholding,
        beneficiary_households=registered.beneficiary_households,
        jobs=registered.jobs,
        invested_yuan=project.invested_yuan,
        tranches=[Tranche(**t.model_dump(exclude={"project_id", "village_code"})) for t in project.tranches],
        milestones=[
            MilestoneView(
                milestone_id=m.plan.milestone_id,
                name=m.plan.name,
                due_on=m.plan.due_on,
                status=m.status,
                reached_on=m.reached.reached_on if m.reached else None,
                evidence_ref=m.reached.evidence_ref if m.reached else None,
                overdue_detected_on=m.overdue.detected_on if m.overdue else None,
            )
            for m in project.milestones.values()
        ],
        completed_on=completed.completed_on if completed else None,
        assets=completed.assets if completed else [],
    )


def commands(request: Request) -> ProjectCommands:
    return ProjectCommands(runtime_of(request).store)


def within_region(principal: Principal) -> Authorize:
    return lambda registered: ensure_covers(principal, registered.village_code, "project_id")


def for_its_enterprises(principal: Principal) -> Authorize:
    """Officers act inside their region; an enterprise's own account only on projects it builds."""

    def authorize(registered: ProjectRegistered) -> None:
        ensure_covers(principal, registered.village_code, "project_id")
        if principal.role is Role.enterprise and principal.enterprise_id not in registered.enterprise_ids:
            raise Problem(
                403,
                "Not your project",
                "an enterprise records investment and milestones of its own projects only",
                errors=[
                    {"field": "project_id", "reason": "the token's enterprise does not build this project"}
                ],
            )

    return authorize


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register a project for a village",
    responses=problem_responses(
        {
            403: "Role not allowed, or the village lies outside the token's region",
            404: "Village, enterprise or active agreement not found",
            409: "A project with this id is already registered",
            422: "Invalid body, or funding/shareholding do not add up (see `rule`)",
        }
    ),
)
async def register_project(cmd: RegisterProject, request: Request, principal: ProjectOfficer) -> Registered:
    """Register a project (项目入库, pairing.project_registered) under pairing agreements of the
    village, or by several enterprises for one village.

    The funding by source must sum exactly to the budget and the shareholding to exactly 100
    percent; the village and every enterprise must be registered, and each agreement must be an
    active agreement of the village signed by one of the project's enterprises.
    """
    ensure_covers(principal, cmd.village_code, "village_code")
    project_id = await commands(request).register(
        command_context(request, principal), cmd, cmd.project_id or uuid7()
    )
    return Registered(id=str(project_id))


@router.post(
    "/projects/{project_id}/investments",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectView,
    summary="Record a tranche of investment",
    responses=_CHANGE_PROBLEMS,
)
async def record_investment(
    project_id: uuid.UUID, cmd: RecordInvestment, request: Request, principal: ProjectWorker
) -> ProjectView:
    """Record one tranche of investment (资金到位, pairing.project_investment_recorded); tranches
    are numbered 1, 2, 3, … in the order recorded. Refused once the project is completed."""
    project = await commands(request).record_investment(
        command_context(request, principal), project_id, cmd, for_its_enterprises(principal)
    )
    return project_view(project)


@router.post(
    "/projects/{project_id}/milestones/{milestone_id}/reached",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectView,
    summary="Record that a milestone was reached",
    responses=_CHANGE_PROBLEMS,
)
async def reach_milestone(
    project_id: uuid.UUID, milestone_id: str, cmd: ReachMilestone, request: Request, principal: ProjectWorker
) -> ProjectView:
    """Record a milestone as reached (pairing.project_milestone_reached), with its evidence; once
    per milestone, and still recorded after it was flagged overdue."""
    project = await commands(request).reach_milestone(
        command_context(request, principal), project_id, milestone_id, cmd, for_its_enterprises(principal)
    )
    return project_view(project)


@router.post(
    "/projects/{project_id}/completion",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectView,
    summary="Complete a project and hand over its assets",
    responses=_CHANGE_PROBLEMS,
)
async def complete_project(
    project_id: uuid.UUID, cmd: CompleteProject, request: Request, principal: ProjectOfficer
) -> ProjectView:
    """Complete and accept a project (pairing.project_completed), naming the assets it leaves
    (经营性/公益性/到户类资产), to whom each is handed and when. Once; no investment after it."""
    project = await commands(request).complete(
        command_context(request, principal), project_id, cmd, within_region(principal)
    )
    return project_view(project)


@router.get(
    "/projects/{project_id}",
    response_model=ProjectView,
    summary="A project's current state",
    responses=problem_responses(
        {
            403: "The project's village lies outside the token's region",
            404: "No such project",
        }
    ),
)
async def get_project(project_id: uuid.UUID, request: Request, principal: Reader) -> ProjectView:
    """The project rebuilt from its stream (strongly consistent): budget, funding, shareholding,
    investment, milestones (planned / reached / overdue), completion and assets. Any role may read
    the projects of villages inside its region."""
    project = rebuild(Project, await runtime_of(request).store.load(project_stream(project_id)))
    ensure_covers(principal, project.existing().village_code, "project_id")
    return project_view(project)


@router.post(
    "/projects/overdue-check",
    response_model=OverdueCheck,
    summary="Flag overdue milestones now",
    responses=problem_responses({403: "Role not allowed"}),
)
async def run_overdue_check(request: Request, principal: Checker) -> OverdueCheck:
    """Run the milestone check now, in the caller's region, instead of waiting for the scheduler
    (every `XINGCUN_MILESTONE_CHECK_INTERVAL_S` seconds). Flags each milestone whose due date
    (China time) has passed unmet, once (pairing.project_milestone_overdue); returns what this run
    flagged, so a second run right after returns none."""
    ctx = command_context(request, principal)
    return await check_overdue(
        runtime_of(request), region=principal.region, actor=ctx.actor, correlation_id=ctx.correlation_id
    )
