"""Projects (帮扶项目): the Project aggregate checks named rules and returns events (no I/O, no clock)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.pairing.domain import Village
from shared.aggregate import Aggregate
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    Asset,
    Funding,
    FundingSource,
    MilestonePlan,
    ProjectCompleted,
    ProjectInvestmentRecorded,
    ProjectMilestoneOverdue,
    ProjectMilestoneReached,
    ProjectRegistered,
    Share,
)
from shared.events.envelope import EventData

HUNDRED_PERCENT = Decimal(100)


def project_stream(project_id: uuid.UUID) -> str:
    return f"project-{project_id}"


# Everything a project's stream can hold, and nothing else: a consumer filtered to these gets
# whole project streams.
PROJECT_EVENT_TYPES = tuple(
    e.event_type
    for e in (
        ProjectRegistered,
        ProjectInvestmentRecorded,
        ProjectMilestoneReached,
        ProjectMilestoneOverdue,
        ProjectCompleted,
    )
)


class MilestoneStatus(StrEnum):
    planned = "planned"
    reached = "reached"
    overdue = "overdue"


@dataclass
class Milestone:
    """A planned milestone (节点) and what happened to it."""

    plan: MilestonePlan
    reached: ProjectMilestoneReached | None = None
    overdue: ProjectMilestoneOverdue | None = None

    @property
    def status(self) -> MilestoneStatus:
        # Reached wins: a milestone met late keeps its overdue record but counts as reached.
        if self.reached is not None:
            return MilestoneStatus.reached
        if self.overdue is not None:
            return MilestoneStatus.overdue
        return MilestoneStatus.planned


class Project(Aggregate):
    """A project built for a village by one or more enterprises. Stream ``project-<project_id>``."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: ProjectRegistered | None = None
        self.milestones: dict[str, Milestone] = {}
        self.tranches: list[ProjectInvestmentRecorded] = []
        self.completed: ProjectCompleted | None = None

    @property
    def invested_yuan(self) -> Decimal:
        return sum((t.amount_yuan for t in self.tranches), Decimal("0.00"))

    def existing(self) -> ProjectRegistered:
        """What registered the project; refuses when it is not registered."""
        if self.registered is None:
            raise NotFound("project_must_exist", "no project with this id is registered", "project_id")
        return self.registered

    def when(self, event: EventData) -> None:
        if isinstance(event, ProjectRegistered):
            self.registered = event
            self.milestones = {m.milestone_id: Milestone(m) for m in event.milestones}
        elif isinstance(event, ProjectInvestmentRecorded):
            self.tranches.append(event)
        elif isinstance(event, ProjectMilestoneReached):
            self.milestones[event.milestone_id].reached = event
        elif isinstance(event, ProjectMilestoneOverdue):
            self.milestones[event.milestone_id].overdue = event
        elif isinstance(event, ProjectCompleted):
            self.completed = event

    # -- registering ----------------------------------------------------------------------------

    def register(
        self,
        *,
        project_id: uuid.UUID,
        village_code: str,
        village: Village,
        registered_enterprises: Collection[uuid.UUID],
        agreement_ids: Sequence[uuid.UUID],
        enterprise_ids: Sequence[uuid.UUID],
        name: str,
        industry: str,
        budget_yuan: Decimal,
        funding: Sequence[Funding],
        shareholding: Sequence[Share],
        beneficiary_households: int,
        jobs: int,
        milestones: Sequence[MilestonePlan],
    ) -> list[EventData]:
        """Register the project (项目入库). ``village`` is the village's aggregate and
        ``registered_enterprises`` those of ``enterprise_ids`` whose stream exists."""
        if self.registered is not None:
            raise StateConflict(
                "project_registered_once", f"project {project_id} is already registered", "project_id"
            )
        _named_once(enterprise_ids, "enterprise_named_once", "enterprise_ids", "enterprise")
        _named_once(agreement_ids, "agreement_named_once", "agreement_ids", "agreement")
        _named_once(
            [m.milestone_id for m in milestones],
            "milestone_ids_distinct",
            "milestones",
            "milestone id",
            suffix=".milestone_id",
        )
        _named_once([f.source for f in funding], "funding_source_named_once", "funding", "source", ".source")
        funded = sum((f.amount_yuan for f in funding), Decimal(0))
        if funded != budget_yuan:
            raise InvalidInput(
                "funding_sums_to_budget",
                f"the funding by source sums to {funded} yuan, not to the budget of {budget_yuan} yuan",
                "funding",
            )
        shares = sum((s.percent for s in shareholding), Decimal(0))
        if shares != HUNDRED_PERCENT:
            raise InvalidInput(
                "shareholding_sums_to_100",
                f"the shareholding sums to {shares} percent, not to exactly 100",
                "shareholding",
            )
        if village.registered is None:
            raise NotFound("village_must_exist", f"village {village_code} is not registered", "village_code")
        for i, enterprise_id in enumerate(enterprise_ids):
            if enterprise_id not in registered_enterprises:
                raise NotFound(
                    "enterprise_must_exist",
                    f"no enterprise {enterprise_id} is registered",
                    f"enterprise_ids.{i}",
                )
        for i, agreement_id in enumerate(agreement_ids):
            partner = village.active.get(agreement_id)
            if partner is None:
                raise NotFound(
                    "agreement_must_be_active_in_village",
                    f"agreement {agreement_id} is not an active pairing agreement of village {village_code}",
                    f"agreement_ids.{i}",
                )
            if partner not in enterprise_ids:
                raise InvalidInput(
                    "agreement_enterprise_takes_part",
                    f"agreement {agreement_id} was signed by enterprise {partner}, "
                    "which is not among the project's enterprises",
                    f"agreement_ids.{i}",
                )
        return [
            ProjectRegistered(
                project_id=project_id,
                village_code=village_code,
                agreement_ids=list(agreement_ids),
                enterprise_ids=list(enterprise_ids),
                name=name,
                industry=industry,
                budget_yuan=budget_yuan,
                funding=list(funding),
                shareholding=list(shareholding),
                beneficiary_households=beneficiary_households,
                jobs=jobs,
                milestones=list(milestones),
            )
        ]

    # -- changing -------------------------------------------------------------------------------

    def record_investment(
        self, *, source: FundingSource, amount_yuan: Decimal, invested_on: date, evidence_ref: str | None
    ) -> list[EventData]:
        """Record one tranche of investment (资金到位); tranches are numbered 1, 2, 3, …"""
        registered = self.existing()
        if amount_yuan <= 0:
            raise InvalidInput(
                "investment_amount_positive", "a tranche puts in more than 0 yuan", "amount_yuan"
            )
        if self.completed is not None:
            raise StateConflict(
                "no_investment_after_completion",
                f"the project was completed on {self.completed.completed_on}",
                "project_id",
            )
        return [
            ProjectInvestmentRecorded(
                project_id=registered.project_id,
                village_code=registered.village_code,
                tranche=len(self.tranches) + 1,
                source=source,
                amount_yuan=amount_yuan,
                invested_on=invested_on,
                evidence_ref=evidence_ref,
            )
        ]

    def reach_milestone(self, *, milestone_id: str, reached_on: date, evidence_ref: str) -> list[EventData]:
        """Record that a milestone was reached, late or not."""
        registered = self.existing()
        milestone = self.milestones.get(milestone_id)
        if milestone is None:
            raise NotFound(
                "milestone_must_exist", f"the project has no milestone {milestone_id!r}", "milestone_id"
            )
        if milestone.reached is not None:
            raise StateConflict(
                "milestone_reached_once",
                f"milestone {milestone_id!r} was already reached on {milestone.reached.reached_on}",
                "milestone_id",
            )
        return [
            ProjectMilestoneReached(
                project_id=registered.project_id,
                village_code=registered.village_code,
                milestone_id=milestone_id,
                reached_on=reached_on,
                evidence_ref=evidence_ref,
            )
        ]

    def flag_overdue(self, *, today: date) -> list[ProjectMilestoneOverdue]:
        """The milestones whose due date passed before ``today``, unmet and not yet flagged.

        Never refuses: the scheduler asks again and again, and only the first answer has events.
        A completed project has nothing overdue.
        """
        if self.registered is None or self.completed is not None:
            return []
        registered = self.registered
        return [
            ProjectMilestoneOverdue(
                project_id=registered.project_id,
                village_code=registered.village_code,
                milestone_id=m.plan.milestone_id,
                due_on=m.plan.due_on,
                detected_on=today,
            )
            for m in self.milestones.values()
            if m.status is MilestoneStatus.planned and m.plan.due_on < today
        ]

    def complete(self, *, completed_on: date, assets: Sequence[Asset]) -> list[EventData]:
        """Complete and accept the project, recording the assets it leaves (项目资产) and their owners."""
        registered = self.existing()
        if self.completed is not None:
            raise StateConflict(
                "project_completed_once",
                f"the project was already completed on {self.completed.completed_on}",
                "project_id",
            )
        for i, asset in enumerate(assets):
            if asset.handed_over_on is not None and asset.handed_over_on < completed_on:
                raise InvalidInput(
                    "handover_not_before_completion",
                    f"an asset cannot be handed over ({asset.handed_over_on}) before the project "
                    f"is completed ({completed_on})",
                    f"assets.{i}.handed_over_on",
                )
        return [
            ProjectCompleted(
                project_id=registered.project_id,
                village_code=registered.village_code,
                completed_on=completed_on,
                assets=list(assets),
            )
        ]


def _named_once(values: Sequence[Hashable], rule: str, field: str, what: str, suffix: str = "") -> None:
    seen: set[Hashable] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise InvalidInput(rule, f"{what} {value} is named more than once", f"{field}.{i}{suffix}")
        seen.add(value)
