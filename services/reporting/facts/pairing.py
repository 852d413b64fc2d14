"""The pairing facts (``pairing-facts``): villages, enterprises, agreements, projects and their
milestones and investments, cooperatives and 双绑 bindings, as the pairing events left them.

Each row keeps when each of its facts was recorded (``*_at``), so that a table "as of" a past
moment reads the same rows (``queries.facts``). Every write touches only rows of the event's own
aggregate (an agreement and the one it relays live in the same village stream), so a batch goes
through ``execute_in_steps``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import text

from shared.clock import china_date
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
from shared.messaging.batched_writes import StepwiseProjection, Write

_UPSERT_VILLAGE = text(
    """
    INSERT INTO ledger_villages (village_code, name, category, former_poverty_village, registered_at)
    VALUES (:village_code, :name, :category, :former_poverty_village, :at)
    ON CONFLICT (village_code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
        former_poverty_village = EXCLUDED.former_poverty_village
    """
)
_INCOME = text(
    """
    INSERT INTO ledger_village_incomes (event_id, village_code, year, income_yuan, recorded_at)
    VALUES (:event_id, :village_code, :year, :income_yuan, :at)
    """
)
_UPSERT_ENTERPRISE = text(
    """
    INSERT INTO ledger_enterprises (enterprise_id, name, credit_code, kind, county_code,
        leading_level, registered_at)
    VALUES (:enterprise_id, :name, :credit_code, :kind, :county_code, :leading_level, :at)
    ON CONFLICT (enterprise_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        leading_level = EXCLUDED.leading_level
    """
)
_INSERT_AGREEMENT = text(
    """
    INSERT INTO ledger_agreements (agreement_id, village_code, enterprise_id, signed_on, term_years,
        document_ref, pathways, mode, investment_yuan, jobs, trainees, purchases_yuan,
        donations_yuan, status, signed_event_at, relays_agreement_id)
    VALUES (:agreement_id, :village_code, :enterprise_id, :signed_on, :term_years, :document_ref,
        :pathways, :mode, :investment_yuan, :jobs, :trainees, :purchases_yuan, :donations_yuan,
        'active', :at, :relays_agreement_id)
    """
)
# A terminated agreement needs a relay (接力) until one names it; then it is relayed.
_TERMINATE = text(
    """
    UPDATE ledger_agreements SET
        status = CASE WHEN CAST(:successor AS uuid) IS NULL THEN 'needs_relay' ELSE 'relayed' END,
        terminated_on = :terminated_on, terminated_at = :at, termination_reason = :reason,
        relayed_by = COALESCE(CAST(:successor AS uuid), relayed_by),
        relayed_at = CASE WHEN CAST(:successor AS uuid) IS NULL THEN relayed_at ELSE :at END
    WHERE agreement_id = :agreement_id
    """
)
_RELAYED = text(
    """
    UPDATE ledger_agreements SET status = 'relayed', relayed_by = :agreement_id,
        relayed_at = COALESCE(relayed_at, :at)
    WHERE agreement_id = :relayed
    """
)
_PROJECT = text(
    """
    INSERT INTO ledger_projects (project_id, village_code, agreement_ids, enterprise_ids, name,
        industry, budget_yuan, funding, shareholding, beneficiary_households, jobs, registered_on,
        registered_at)
    VALUES (:project_id, :village_code, :agreement_ids, :enterprise_ids, :name, :industry,
        :budget_yuan, CAST(:funding AS jsonb), CAST(:shareholding AS jsonb),
        :beneficiary_households, :jobs, :registered_on, :at)
    """
)
_MILESTONE = text(
    """
    INSERT INTO ledger_milestones (project_id, milestone_id, position, name, due_on)
    VALUES (:project_id, :milestone_id, :position, :name, :due_on)
    """
)
_REACHED = text(
    """
    UPDATE ledger_milestones SET reached_on = :reached_on, reached_at = :at, evidence_ref = :evidence_ref
    WHERE project_id = :project_id AND milestone_id = :milestone_id
    """
)
_OVERDUE = text(
    """
    UPDATE ledger_milestones SET overdue_detected_on = :detected_on, overdue_at = :at
    WHERE project_id = :project_id AND milestone_id = :milestone_id
    """
)
_INVESTMENT = text(
    """
    INSERT INTO ledger_investments (event_id, project_id, village_code, tranche, source, amount_yuan,
        invested_on, recorded_at)
    VALUES (:event_id, :project_id, :village_code, :tranche, :source, :amount_yuan, :invested_on, :at)
    """
)
_COMPLETED = text(
    """
    UPDATE ledger_projects SET completed_on = :completed_on, completed_at = :at,
        assets = CAST(:assets AS jsonb), assets_value_yuan = :assets_value_yuan
    WHERE project_id = :project_id
    """
)
_COOPERATIVE = text(
    """
    INSERT INTO ledger_cooperatives (cooperative_id, code, name, village_code, leading_industry,
        registered_at)
    VALUES (:cooperative_id, :code, :name, :village_code, :leading_industry, :at)
    ON CONFLICT (cooperative_id) DO NOTHING
    """
)
_BINDING = text(
    """
    INSERT INTO ledger_bindings (binding_id, kind, cooperative_id, village_code, household_id,
        household_village_code, enterprise_id, form, started_on, ends_on, established_at)
    VALUES (:binding_id, :kind, :cooperative_id, :village_code, :household_id,
        :household_village_code, :enterprise_id, :form, :started_on, :ends_on, :at)
    """
)
_BINDING_ENDED = text(
    """
    UPDATE ledger_bindings SET ended_on = :ended_on, ended_at = :at, end_reason = :reason
    WHERE binding_id = :binding_id
    """
)


def _writes(envelope: Envelope, event: EventData) -> list[Write]:
    at = envelope.recorded_at
    match event:
        case VillageRegistered():
            return [(_UPSERT_VILLAGE, {**event.model_dump(mode="json"), "at": at})]
        case VillageIncomeRecorded():
            return [(_INCOME, {**event.model_dump(), "event_id": envelope.event_id, "at": at})]
        case EnterpriseRegistered():
            values = event.model_dump(include={"enterprise_id", "name", "credit_code", "county_code"})
            level = event.leading_level.value if event.leading_level else None
            return [
                (_UPSERT_ENTERPRISE, {**values, "kind": event.kind.value, "leading_level": level, "at": at})
            ]
        case AgreementSigned():
            c = event.commitments
            signed: Write = (
                _INSERT_AGREEMENT,
                {
                    **event.model_dump(exclude={"commitments", "pathways", "mode"}),
                    "pathways": [p.value for p in event.pathways],
                    "mode": event.mode.value,
                    **c.model_dump(),
                    "at": at,
                },
            )
            if event.relays_agreement_id is None:
                return [signed]
            relay = {"relayed": event.relays_agreement_id, "agreement_id": event.agreement_id, "at": at}
            return [(_RELAYED, relay), signed]
        case AgreementTerminated():
            return [
                (
                    _TERMINATE,
                    {
                        "agreement_id": event.agreement_id,
                        "successor": event.successor_agreement_id,
                        "terminated_on": event.terminated_on,
                        "reason": event.reason,
                        "at": at,
                    },
                )
            ]
        case ProjectRegistered():
            return _project_writes(envelope, event)
        case ProjectInvestmentRecorded():
            values = event.model_dump(exclude={"evidence_ref", "source"})
            return [
                (
                    _INVESTMENT,
                    {**values, "source": event.source.value, "event_id": envelope.event_id, "at": at},
                )
            ]
        case ProjectMilestoneReached():
            return [(_REACHED, {**event.model_dump(exclude={"village_code"}), "at": at})]
        case ProjectMilestoneOverdue():
            return [(_OVERDUE, {**event.model_dump(exclude={"village_code", "due_on"}), "at": at})]
        case ProjectCompleted():
            assets = [a.model_dump(mode="json") for a in event.assets]
            return [
                (
                    _COMPLETED,
                    {
                        "project_id": event.project_id,
                        "completed_on": event.completed_on,
                        "assets": json.dumps(assets, ensure_ascii=False),
                        "assets_value_yuan": sum((a.value_yuan for a in event.assets), start=Decimal(0)),
                        "at": at,
                    },
                )
            ]
        case CooperativeRegistered():
            return [(_COOPERATIVE, {**event.model_dump(), "at": at})]
        case BindingEstablished():
            values = event.model_dump(exclude={"kind", "form"})
            return [
                (
                    _BINDING,
                    {
                        **values,
                        "kind": event.kind.value,
                        "form": event.form.value,
                        "village_code": envelope.region_code,
                        "at": at,
                    },
                )
            ]
        case BindingEnded():
            return [(_BINDING_ENDED, {**event.model_dump(exclude={"cooperative_id"}), "at": at})]
    return []


def _project_writes(envelope: Envelope, event: ProjectRegistered) -> list[Write]:
    at = envelope.recorded_at
    project: Write = (
        _PROJECT,
        {
            **event.model_dump(exclude={"funding", "shareholding", "milestones"}),
            "funding": json.dumps([f.model_dump(mode="json") for f in event.funding]),
            "shareholding": json.dumps(
                [s.model_dump(mode="json") for s in event.shareholding], ensure_ascii=False
            ),
            "registered_on": china_date(envelope.occurred_at),
            "at": at,
        },
    )
    milestones: list[Write] = [
        (_MILESTONE, {"project_id": event.project_id, "position": i, **m.model_dump()})
        for i, m in enumerate(event.milestones, start=1)
    ]
    return [project, *milestones]


_HANDLED = frozenset(
    t.event_type
    for t in (
        VillageRegistered,
        VillageIncomeRecorded,
        EnterpriseRegistered,
        AgreementSigned,
        AgreementTerminated,
        ProjectRegistered,
        ProjectInvestmentRecorded,
        ProjectMilestoneReached,
        ProjectMilestoneOverdue,
        ProjectCompleted,
        CooperativeRegistered,
        BindingEstablished,
        BindingEnded,
    )
)


class PairingFacts(StepwiseProjection):
    """Ledgers (台账) and every pairing table are computed from these rows."""

    name = "reporting-pairing-facts"
    tables = (
        "ledger_agreements",
        "ledger_enterprises",
        "ledger_villages",
        "ledger_village_incomes",
        "ledger_projects",
        "ledger_milestones",
        "ledger_investments",
        "ledger_cooperatives",
        "ledger_bindings",
    )

    handled = _HANDLED

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        return _writes(envelope, event)
