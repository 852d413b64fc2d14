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


async def test_the_ledger_follows_termination_and_relay(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    async with running(pairing_app(settings)) as pairing, running(reporting_app(settings)) as reporting:
        first, second = [
            (await pairing.post("/enterprises", json=enterprise_body(n), headers=officer)).json()["id"]
            for n in (1, 2)
        ]
        await pairing.post("/villages", json=village_body(1), headers=officer)
        signed = await pairing.post(
            "/agreements", json=agreement_body(first, village_code(1)), headers=officer
        )
        base = f"/villages/{village_code(1)}/agreements/{signed.json()['id']}"
        ended = await pairing.post(
            f"{base}/termination", json={"terminated_on": "2026-11-20", "reason": "停产"}, headers=officer
        )
        assert ended.status_code == 201, ended.text

        async def ledger() -> dict:
            return (await reporting.get(f"/ledgers/villages/{village_code(1)}", headers=officer)).json()

        async def statuses(expected: list[str]) -> bool:
            r = await reporting.get(f"/ledgers/villages/{village_code(1)}", headers=officer)
            return r.status_code == 200 and [a["status"] for a in r.json()["agreements"]] == expected

        await wait_until(lambda: statuses(["needs_relay"]), 10, "the agreement needing a relay")
        assert (await ledger())["totals"]["active_enterprises"] == 0

        relay = {"enterprise_id": second, "signed_on": "2026-12-01", "term_years": 2, "document_ref": "R-1"}
        assert (await pairing.post(f"{base}/relay", json=relay, headers=officer)).status_code == 201
        await wait_until(lambda: statuses(["relayed", "active"]), 10, "the relay in the ledger")
        totals = (await ledger())["totals"]
        assert totals["active_enterprises"] == 1
        assert totals["investment_yuan"] == "1500000.00"  # the commitments were taken over
