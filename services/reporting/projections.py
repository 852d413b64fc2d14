"""Reporting read models, each a projection fed by events (rebuildable from the streams)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    EnterpriseRegistered,
    VillageRegistered,
)
from shared.events.envelope import Envelope, EventData

_UPSERT_VILLAGE = text(
    """
    INSERT INTO ledger_villages (village_code, name, category, former_poverty_village)
    VALUES (:village_code, :name, :category, :former_poverty_village)
    ON CONFLICT (village_code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
        former_poverty_village = EXCLUDED.former_poverty_village
    """
)
_UPSERT_ENTERPRISE = text(
    """
    INSERT INTO ledger_enterprises (enterprise_id, name, credit_code, kind, county_code)
    VALUES (:enterprise_id, :name, :credit_code, :kind, :county_code)
    ON CONFLICT (enterprise_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind
    """
)
_INSERT_AGREEMENT = text(
    """
    INSERT INTO ledger_agreements (agreement_id, village_code, enterprise_id, signed_on, term_years,
        document_ref, pathways, mode, investment_yuan, jobs, trainees, purchases_yuan,
        donations_yuan, status, signed_event_at)
    VALUES (:agreement_id, :village_code, :enterprise_id, :signed_on, :term_years, :document_ref,
        :pathways, :mode, :investment_yuan, :jobs, :trainees, :purchases_yuan, :donations_yuan,
        'active', :recorded_at)
    """
)

# A terminated agreement needs a relay (接力) until one names it; then it is relayed.
_TERMINATE = text(
    "UPDATE ledger_agreements SET status = CASE WHEN CAST(:successor AS uuid) IS NULL "
    "THEN 'needs_relay' ELSE 'relayed' END WHERE agreement_id = :agreement_id"
)
_RELAYED = text("UPDATE ledger_agreements SET status = 'relayed' WHERE agreement_id = :relayed")


class VillageLedger:
    """The village ledger (村级台账): each village, its enterprises and agreements."""

    name = "reporting-village-ledger"
    tables = ("ledger_agreements", "ledger_enterprises", "ledger_villages")
    _types = frozenset(
        {
            EnterpriseRegistered.event_type,
            VillageRegistered.event_type,
            AgreementSigned.event_type,
            AgreementTerminated.event_type,
        }
    )

    def handles(self, event_type: str) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        if isinstance(event, VillageRegistered):
            await conn.execute(_UPSERT_VILLAGE, event.model_dump(mode="json"))
        elif isinstance(event, EnterpriseRegistered):
            await conn.execute(_UPSERT_ENTERPRISE, event.model_dump())
        elif isinstance(event, AgreementTerminated):
            await conn.execute(
                _TERMINATE, {"agreement_id": event.agreement_id, "successor": event.successor_agreement_id}
            )
        elif isinstance(event, AgreementSigned):
            if event.relays_agreement_id is not None:
                await conn.execute(_RELAYED, {"relayed": event.relays_agreement_id})
            c = event.commitments
            await conn.execute(
                _INSERT_AGREEMENT,
                {
                    **event.model_dump(exclude={"commitments", "pathways", "mode", "relays_agreement_id"}),
                    "pathways": [p.value for p in event.pathways],
                    "mode": event.mode.value,
                    "investment_yuan": c.investment_yuan,
                    "jobs": c.jobs,
                    "trainees": c.trainees,
                    "purchases_yuan": c.purchases_yuan,
                    "donations_yuan": c.donations_yuan,
                    "recorded_at": envelope.recorded_at,
                },
            )
