"""Project commands: what a caller asks for, validated, and the handlers that carry them out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.pairing.domain import Village, enterprise_stream, village_stream
from services.pairing.projects.domain import Project, project_stream
from shared.events.catalogue.pairing import (
    Asset,
    Funding,
    FundingSource,
    MilestonePlan,
    ProjectMilestoneOverdue,
    ProjectRegistered,
    Share,
)
from shared.events.envelope import EventData
from shared.eventstore.context import CommandContext
from shared.eventstore.repository import load, rebuild, save
from shared.eventstore.store import EventStore
from shared.regions import DivisionCode

Authorize = Callable[[ProjectRegistered], None]
"""Called with the project's registration once it is loaded, before anything is decided."""


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterProject(_Command):
    project_id: uuid.UUID | None = Field(
        default=None, description="Leave out to have one generated; registering an id twice is a 409"
    )
    village_code: DivisionCode
    agreement_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Active pairing agreements of the village it is built under"
    )
    enterprise_ids: list[uuid.UUID] = Field(min_length=1, description="The enterprises building it")
    name: str = Field(min_length=1, max_length=200)
    industry: str = Field(min_length=1, max_length=100)
    budget_yuan: Decimal = Field(gt=0, decimal_places=2)
    funding: list[Funding] = Field(min_length=1, description="By source; sums exactly to the budget")
    shareholding: list[Share] = Field(
        min_length=1, description="Interest linkage (利益联结): sums to exactly 100 percent"
    )
    beneficiary_households: int = Field(ge=0)
    jobs: int = Field(ge=0)
    milestones: list[MilestonePlan] = Field(default_factory=list)


class RecordInvestment(_Command):
    source: FundingSource
    amount_yuan: Decimal = Field(decimal_places=2, description="More than 0")
    invested_on: date
    evidence_ref: str | None = Field(default=None, min_length=1, max_length=200)


class ReachMilestone(_Command):
    reached_on: date
    evidence_ref: str = Field(min_length=1, max_length=200)


class CompleteProject(_Command):
    completed_on: date
    assets: list[Asset] = Field(default_factory=list)


@dataclass(frozen=True)
class ProjectCommands:
    store: EventStore

    async def register(self, ctx: CommandContext, cmd: RegisterProject, project_id: uuid.UUID) -> uuid.UUID:
        stream = project_stream(project_id)
        enterprises = {enterprise_stream(e): e for e in cmd.enterprise_ids}
        async with self.store.session() as s:
            streams = await s.load_many([stream, village_stream(cmd.village_code), *enterprises])
            project = rebuild(Project, streams[stream])
            events = project.register(
                project_id=project_id,
                village=rebuild(Village, streams[village_stream(cmd.village_code)]),
                registered_enterprises={e for name, e in enterprises.items() if streams[name]},
                # Shallow: the domain takes the catalogue's Funding, Share and MilestonePlan models.
                **{name: value for name, value in cmd if name != "project_id"},
            )
            save(s, ctx, stream, project, cmd.village_code, events)
        return project_id

    async def record_investment(
        self, ctx: CommandContext, project_id: uuid.UUID, cmd: RecordInvestment, authorize: Authorize
    ) -> Project:
        return await self._change(
            ctx, project_id, authorize, lambda p: p.record_investment(**cmd.model_dump())
        )

    async def reach_milestone(
        self,
        ctx: CommandContext,
        project_id: uuid.UUID,
        milestone_id: str,
        cmd: ReachMilestone,
        authorize: Authorize,
    ) -> Project:
        return await self._change(
            ctx,
            project_id,
            authorize,
            lambda p: p.reach_milestone(milestone_id=milestone_id, **cmd.model_dump()),
        )

    async def complete(
        self, ctx: CommandContext, project_id: uuid.UUID, cmd: CompleteProject, authorize: Authorize
    ) -> Project:
        return await self._change(
            ctx, project_id, authorize, lambda p: p.complete(completed_on=cmd.completed_on, assets=cmd.assets)
        )

    async def flag_overdue(
        self, ctx: CommandContext, project_id: uuid.UUID, today: date
    ) -> list[ProjectMilestoneOverdue]:
        """What the aggregate agrees is overdue, appended; a concurrent writer raises ConcurrencyConflict."""
        stream = project_stream(project_id)
        async with self.store.session() as s:
            project = await load(s, stream, Project)
            events = project.flag_overdue(today=today)
            if events and project.registered is not None:
                save(s, ctx, stream, project, project.registered.village_code, events)
        return events

    async def _change(
        self,
        ctx: CommandContext,
        project_id: uuid.UUID,
        authorize: Authorize,
        decide: Callable[[Project], Sequence[EventData]],
    ) -> Project:
        """Load, authorise against the village, decide, append; the project as it now stands."""
        stream = project_stream(project_id)
        async with self.store.session() as s:
            project = await load(s, stream, Project)
            registered = project.existing()
            authorize(registered)
            village_code = registered.village_code
            events = decide(project)
            save(s, ctx, stream, project, village_code, events)
        for event in events:
            project.apply(event)
        return project
