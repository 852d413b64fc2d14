"""The pairing directory: lists of enterprises, villages, agreements, projects and cooperatives,
projected from the pairing service's own stream.

Every write is an upsert or an absolute update, and figures that sum several events (invested
total, milestones reached) are recomputed from the rows they sum: applying an event again, or
replaying the whole stream into empty tables, gives the same rows. Events of different streams
may arrive in any order (an agreement before its enterprise), so a write depends only on rows of
its own stream: a relay and the agreement it relays are both in the village's stream, a binding
follows its cooperative's registration. Names of other streams' things are joined in when read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    BindingEnded,
    BindingEstablished,
    CooperativeRegistered,
    EnterpriseRegistered,
    ProjectCompleted,
    ProjectInvestmentRecorded,
    ProjectMilestoneOverdue,
    ProjectMilestoneReached,
    ProjectRegistered,
    VillageIncomeRecorded,
    VillageRegistered,
)
from shared.events.envelope import Envelope, EventData
from shared.regions import county_region
from shared.service import Consumes

_ENTERPRISE = text(
    """
    INSERT INTO directory_enterprises (enterprise_id, name, credit_code, kind, county_code,
        region_code, leading_level)
    VALUES (:enterprise_id, :name, :credit_code, :kind, :county_code, :region_code, :leading_level)
    ON CONFLICT (enterprise_id) DO UPDATE SET name = EXCLUDED.name, credit_code = EXCLUDED.credit_code,
        kind = EXCLUDED.kind, county_code = EXCLUDED.county_code, region_code = EXCLUDED.region_code,
        leading_level = EXCLUDED.leading_level
    """
)
_VILLAGE = text(
    """
    INSERT INTO directory_villages (village_code, name, category, former_poverty_village)
    VALUES (:village_code, :name, :category, :former_poverty_village)
    ON CONFLICT (village_code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
        former_poverty_village = EXCLUDED.former_poverty_village
    """
)
# A later record of the same year corrects the earlier one (村集体经济收入).
_INCOME = text(
    """
    INSERT INTO directory_village_incomes (village_code, year, income_yuan)
    VALUES (:village_code, :year, :income_yuan)
    ON CONFLICT (village_code, year) DO UPDATE SET income_yuan = EXCLUDED.income_yuan
    """
)
_AGREEMENT = text(
    """
    INSERT INTO directory_agreements (agreement_id, village_code, enterprise_id, signed_on,
        term_years, document_ref, pathways, mode, investment_yuan, jobs, trainees, purchases_yuan,
        donations_yuan, relays_agreement_id)
    VALUES (:agreement_id, :village_code, :enterprise_id, :signed_on, :term_years, :document_ref,
        :pathways, :mode, :investment_yuan, :jobs, :trainees, :purchases_yuan, :donations_yuan,
        :relays_agreement_id)
    ON CONFLICT (agreement_id) DO UPDATE SET village_code = EXCLUDED.village_code,
        enterprise_id = EXCLUDED.enterprise_id, signed_on = EXCLUDED.signed_on,
        term_years = EXCLUDED.term_years, document_ref = EXCLUDED.document_ref,
        pathways = EXCLUDED.pathways, mode = EXCLUDED.mode, investment_yuan = EXCLUDED.investment_yuan,
        jobs = EXCLUDED.jobs, trainees = EXCLUDED.trainees, purchases_yuan = EXCLUDED.purchases_yuan,
        donations_yuan = EXCLUDED.donations_yuan, relays_agreement_id = EXCLUDED.relays_agreement_id
    """
)
# The relay (接力帮扶) names the agreement it takes over; that one is relayed from now on.
_RELAYED = text(
    "UPDATE directory_agreements SET successor_agreement_id = :successor WHERE agreement_id = :relayed"
)
_TERMINATED = text(
    """
    UPDATE directory_agreements SET terminated_on = :terminated_on, termination_reason = :reason,
        successor_agreement_id = coalesce(CAST(:successor_agreement_id AS uuid), successor_agreement_id)
    WHERE agreement_id = :agreement_id
    """
)
_PROJECT = text(
    """
    INSERT INTO directory_projects (project_id, village_code, name, industry, agreement_ids,
        enterprise_ids, budget_yuan, beneficiary_households, jobs, registered_at)
    VALUES (:project_id, :village_code, :name, :industry, CAST(:agreement_ids AS uuid[]),
        CAST(:enterprise_ids AS uuid[]), :budget_yuan, :beneficiary_households, :jobs, :registered_at)
    ON CONFLICT (project_id) DO UPDATE SET village_code = EXCLUDED.village_code, name = EXCLUDED.name,
        industry = EXCLUDED.industry, agreement_ids = EXCLUDED.agreement_ids,
        enterprise_ids = EXCLUDED.enterprise_ids, budget_yuan = EXCLUDED.budget_yuan,
        beneficiary_households = EXCLUDED.beneficiary_households, jobs = EXCLUDED.jobs,
        registered_at = EXCLUDED.registered_at
    """
)
_MILESTONE = text(
    """
    INSERT INTO directory_project_milestones (project_id, milestone_id, name, due_on)
    VALUES (:project_id, :milestone_id, :name, :due_on)
    ON CONFLICT (project_id, milestone_id) DO UPDATE SET name = EXCLUDED.name, due_on = EXCLUDED.due_on
    """
)
_INVESTMENT = text(
    """
    INSERT INTO directory_project_investments (project_id, tranche, source, amount_yuan, invested_on)
    VALUES (:project_id, :tranche, :source, :amount_yuan, :invested_on)
    ON CONFLICT (project_id, tranche) DO UPDATE SET source = EXCLUDED.source,
        amount_yuan = EXCLUDED.amount_yuan, invested_on = EXCLUDED.invested_on
    """
)
_REACHED = text(
    "UPDATE directory_project_milestones SET reached_on = :reached_on "
    "WHERE project_id = :project_id AND milestone_id = :milestone_id"
)
_OVERDUE = text(
    "UPDATE directory_project_milestones SET overdue_since = :detected_on "
    "WHERE project_id = :project_id AND milestone_id = :milestone_id"
)
_COMPLETED = text(
    "UPDATE directory_projects SET completed_on = :completed_on, assets_yuan = :assets_yuan "
    "WHERE project_id = :project_id"
)
# The project's figures, summed again from its rows after every event of the project.
_PROGRESS = text(
    """
    UPDATE directory_projects p SET
        invested_yuan = coalesce(
            (SELECT sum(amount_yuan) FROM directory_project_investments i WHERE i.project_id = p.project_id),
            0),
        milestones_total = m.total, milestones_reached = m.reached, milestones_overdue = m.overdue
    FROM (
        SELECT count(*) AS total,
               count(*) FILTER (WHERE reached_on IS NOT NULL) AS reached,
               count(*) FILTER (WHERE reached_on IS NULL AND overdue_since IS NOT NULL) AS overdue
        FROM directory_project_milestones WHERE project_id = :project_id
    ) m
    WHERE p.project_id = :project_id
    """
)
_COOPERATIVE = text(
    """
    INSERT INTO directory_cooperatives (cooperative_id, code, name, village_code, leading_industry)
    VALUES (:cooperative_id, :code, :name, :village_code, :leading_industry)
    ON CONFLICT (cooperative_id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
        village_code = EXCLUDED.village_code, leading_industry = EXCLUDED.leading_industry
    """
)
# A binding lies in its cooperative's village: the cooperative's stream registered it first.
_BINDING = text(
    """
    INSERT INTO directory_bindings (binding_id, kind, cooperative_id, village_code, household_id,
        household_village_code, enterprise_id, form, started_on, ends_on)
    VALUES (:binding_id, :kind, :cooperative_id,
        coalesce((SELECT village_code FROM directory_cooperatives WHERE cooperative_id = :cooperative_id),
                 :region_code),
        :household_id, :household_village_code, :enterprise_id, :form, :started_on, :ends_on)
    ON CONFLICT (binding_id) DO UPDATE SET kind = EXCLUDED.kind, cooperative_id = EXCLUDED.cooperative_id,
        village_code = EXCLUDED.village_code, household_id = EXCLUDED.household_id,
        household_village_code = EXCLUDED.household_village_code, enterprise_id = EXCLUDED.enterprise_id,
        form = EXCLUDED.form, started_on = EXCLUDED.started_on, ends_on = EXCLUDED.ends_on
    """
)
_BINDING_ENDED = text(
    "UPDATE directory_bindings SET ended_on = :ended_on, end_reason = :reason WHERE binding_id = :binding_id"
)

Apply = Callable[[AsyncConnection, Envelope, Any], Awaitable[None]]


async def _enterprise(conn: AsyncConnection, envelope: Envelope, event: EnterpriseRegistered) -> None:
    row = event.model_dump(mode="json", exclude={"contact_name", "contact_phone"})
    await conn.execute(_ENTERPRISE, {**row, "region_code": county_region(event.county_code)})


async def _village(conn: AsyncConnection, envelope: Envelope, event: VillageRegistered) -> None:
    await conn.execute(_VILLAGE, event.model_dump(mode="json"))


async def _income(conn: AsyncConnection, envelope: Envelope, event: VillageIncomeRecorded) -> None:
    await conn.execute(_INCOME, event.model_dump())


async def _signed(conn: AsyncConnection, envelope: Envelope, event: AgreementSigned) -> None:
    row = event.model_dump(exclude={"commitments", "pathways", "mode"})
    await conn.execute(
        _AGREEMENT,
        {
            **row,
            **event.commitments.model_dump(),
            "pathways": [p.value for p in event.pathways],
            "mode": event.mode.value,
        },
    )
    if event.relays_agreement_id is not None:
        await conn.execute(_RELAYED, {"successor": event.agreement_id, "relayed": event.relays_agreement_id})


async def _terminated(conn: AsyncConnection, envelope: Envelope, event: AgreementTerminated) -> None:
    await conn.execute(_TERMINATED, event.model_dump(exclude={"enterprise_id", "village_code"}))


async def _project(conn: AsyncConnection, envelope: Envelope, event: ProjectRegistered) -> None:
    row = event.model_dump(exclude={"funding", "shareholding", "milestones"})
    await conn.execute(_PROJECT, {**row, "registered_at": envelope.recorded_at})
    for milestone in event.milestones:
        await conn.execute(_MILESTONE, {"project_id": event.project_id, **milestone.model_dump()})
    await conn.execute(_PROGRESS, {"project_id": event.project_id})


async def _investment(conn: AsyncConnection, envelope: Envelope, event: ProjectInvestmentRecorded) -> None:
    await conn.execute(_INVESTMENT, {**event.model_dump(exclude={"source"}), "source": event.source.value})
    await conn.execute(_PROGRESS, {"project_id": event.project_id})


async def _reached(conn: AsyncConnection, envelope: Envelope, event: ProjectMilestoneReached) -> None:
    await conn.execute(_REACHED, event.model_dump())
    await conn.execute(_PROGRESS, {"project_id": event.project_id})


async def _overdue(conn: AsyncConnection, envelope: Envelope, event: ProjectMilestoneOverdue) -> None:
    await conn.execute(_OVERDUE, event.model_dump())
    await conn.execute(_PROGRESS, {"project_id": event.project_id})


async def _completed(conn: AsyncConnection, envelope: Envelope, event: ProjectCompleted) -> None:
    assets = sum((asset.value_yuan for asset in event.assets), start=Decimal(0))
    await conn.execute(
        _COMPLETED,
        {"project_id": event.project_id, "completed_on": event.completed_on, "assets_yuan": assets},
    )


async def _cooperative(conn: AsyncConnection, envelope: Envelope, event: CooperativeRegistered) -> None:
    await conn.execute(_COOPERATIVE, event.model_dump())


async def _binding(conn: AsyncConnection, envelope: Envelope, event: BindingEstablished) -> None:
    row = event.model_dump(exclude={"kind", "form"})
    await conn.execute(
        _BINDING,
        {**row, "kind": event.kind.value, "form": event.form.value, "region_code": envelope.region_code},
    )


async def _binding_ended(conn: AsyncConnection, envelope: Envelope, event: BindingEnded) -> None:
    await conn.execute(_BINDING_ENDED, event.model_dump(exclude={"cooperative_id"}))


_APPLY: dict[str, Apply] = {
    EnterpriseRegistered.event_type: _enterprise,
    VillageRegistered.event_type: _village,
    VillageIncomeRecorded.event_type: _income,
    AgreementSigned.event_type: _signed,
    AgreementTerminated.event_type: _terminated,
    ProjectRegistered.event_type: _project,
    ProjectInvestmentRecorded.event_type: _investment,
    ProjectMilestoneReached.event_type: _reached,
    ProjectMilestoneOverdue.event_type: _overdue,
    ProjectCompleted.event_type: _completed,
    CooperativeRegistered.event_type: _cooperative,
    BindingEstablished.event_type: _binding,
    BindingEnded.event_type: _binding_ended,
}


class Directory:
    """The directory read model (名录): one projection of every pairing event."""

    name = "pairing-directory"
    tables = (
        "directory_enterprises",
        "directory_villages",
        "directory_village_incomes",
        "directory_agreements",
        "directory_projects",
        "directory_project_milestones",
        "directory_project_investments",
        "directory_cooperatives",
        "directory_bindings",
    )

    def handles(self, event_type: str) -> bool:
        return event_type in _APPLY

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        await _APPLY[envelope.type](conn, envelope, event)


PROJECTIONS: dict[str, Consumes] = {Directory.name: Consumes("pairing", Directory)}
