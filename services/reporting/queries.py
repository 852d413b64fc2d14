"""Reads of the reporting read models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_VILLAGE = text(
    "SELECT village_code, name, category, former_poverty_village FROM ledger_villages "
    "WHERE village_code = :code"
)
_AGREEMENTS = text(
    """
    SELECT a.agreement_id, a.enterprise_id, e.name AS enterprise_name, a.signed_on, a.term_years,
           a.document_ref, a.pathways, a.mode, a.investment_yuan, a.jobs, a.trainees,
           a.purchases_yuan, a.donations_yuan, a.status
    FROM ledger_agreements a LEFT JOIN ledger_enterprises e USING (enterprise_id)
    WHERE a.village_code = :code
    ORDER BY a.signed_on, a.agreement_id
    """
)
_SUMMED = ("investment_yuan", "jobs", "trainees", "purchases_yuan", "donations_yuan")


async def village_ledger(engine: AsyncEngine, village_code: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        village = (await conn.execute(_VILLAGE, {"code": village_code})).mappings().first()
        if village is None:
            return None
        agreements = [dict(r) for r in (await conn.execute(_AGREEMENTS, {"code": village_code})).mappings()]
    active = [a for a in agreements if a["status"] == "active"]
    totals: dict[str, Any] = {
        key: sum((a[key] for a in active), Decimal(0) if key.endswith("_yuan") else 0) for key in _SUMMED
    }
    totals["agreements"] = len(agreements)
    totals["active_enterprises"] = len({a["enterprise_id"] for a in active})
    return {"village": dict(village), "agreements": agreements, "totals": totals}
