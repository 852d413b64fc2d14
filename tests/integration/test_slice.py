"""The slice end to end in one process: sign through the pairing API, read the village ledger."""

from __future__ import annotations

from services.pairing.app import create as pairing_app
from services.reporting.app import create as reporting_app
from shared.auth import Role
from shared.settings import Settings
from tests.support.apps import running, token, wait_until
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code


async def test_signed_agreement_appears_in_the_village_ledger(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    async with running(pairing_app(settings)) as pairing, running(reporting_app(settings)) as reporting:
        enterprise = await pairing.post("/enterprises", json=enterprise_body(1), headers=officer)
        village = await pairing.post("/villages", json=village_body(1), headers=officer)
        assert (enterprise.status_code, village.status_code) == (201, 201)
        signed = await pairing.post(
            "/agreements", json=agreement_body(enterprise.json()["id"], village_code(1)), headers=officer
        )
        assert signed.status_code == 201, signed.text

        async def ledger_has_it() -> bool:
            r = await reporting.get(f"/ledgers/villages/{village_code(1)}", headers=officer)
            return r.status_code == 200 and len(r.json()["agreements"]) == 1

        await wait_until(ledger_has_it, 10, "the agreement in the ledger")
        ledger = (await reporting.get(f"/ledgers/villages/{village_code(1)}", headers=officer)).json()
        row = ledger["agreements"][0]
        assert row["agreement_id"] == signed.json()["id"]
        assert row["enterprise_name"] == "企业1"
        assert row["pathways"] == ["industry", "employment"]
        assert ledger["totals"]["investment_yuan"] == "1500000.00"
        assert ledger["totals"]["jobs"] == 20
        assert ledger["totals"]["active_enterprises"] == 1
