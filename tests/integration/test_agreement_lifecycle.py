"""Termination, relay and collective income through the pairing API, on real PostgreSQL and NATS."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from services.pairing.app import create as pairing_app
from services.pairing.domain import village_stream
from shared.auth import Role
from shared.settings import Settings
from tests.support.apps import running, token
from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

VILLAGE = village_code(1)


async def setup(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[list[str], str]:
    enterprises = []
    for n in (1, 2, 3):
        response = await client.post("/enterprises", json=enterprise_body(n), headers=headers)
        assert response.status_code == 201, response.text
        enterprises.append(response.json()["id"])
    assert (await client.post("/villages", json=village_body(1), headers=headers)).status_code == 201
    signed = await client.post("/agreements", json=agreement_body(enterprises[0], VILLAGE), headers=headers)
    assert signed.status_code == 201, signed.text
    return enterprises, signed.json()["id"]


def relay_body(enterprise_id: str) -> dict[str, Any]:
    return {
        "enterprise_id": enterprise_id,
        "signed_on": "2026-12-01",
        "term_years": 2,
        "document_ref": "XC-R1",
    }


async def stream_types(app: Any) -> list[str]:
    return [e.type.split(".")[1] for e in await app.state.runtime.store.load(village_stream(VILLAGE))]


async def test_terminate_then_relay_later(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        enterprises, agreement = await setup(client, officer)
        base = f"/villages/{VILLAGE}/agreements/{agreement}"

        early = await client.post(f"{base}/relay", json=relay_body(enterprises[1]), headers=officer)
        assert early.status_code == 409 and early.json()["rule"] == "relay_follows_termination"

        ended = await client.post(
            f"{base}/termination", json={"terminated_on": "2026-11-20", "reason": "企业停产"}, headers=officer
        )
        assert ended.status_code == 201, ended.text
        assert ended.json() == {
            "agreement_id": agreement,
            "status": "needs_relay",
            "relay_agreement_id": None,
        }

        same = await client.post(f"{base}/relay", json=relay_body(enterprises[0]), headers=officer)
        assert same.status_code == 409 and same.json()["rule"] == "relay_by_another_enterprise"
        assert same.json()["errors"] == [{"field": "enterprise_id", "reason": same.json()["detail"]}]
        before = await client.post(
            f"{base}/relay", json={**relay_body(enterprises[1]), "signed_on": "2026-11-01"}, headers=officer
        )
        assert before.status_code == 422 and before.json()["rule"] == "relay_signed_after_termination"

        relay = await client.post(f"{base}/relay", json=relay_body(enterprises[1]), headers=officer)
        assert relay.status_code == 201, relay.text
        again = await client.post(f"{base}/relay", json=relay_body(enterprises[2]), headers=officer)
        assert again.status_code == 409 and again.json()["rule"] == "relayed_once"

        stored = await app.state.runtime.store.load(village_stream(VILLAGE))
        assert [e.type for e in stored][-2:] == ["pairing.agreement_terminated", "pairing.agreement_signed"]
        signed = stored[-1].data
        assert signed["relays_agreement_id"] == agreement
        assert signed["agreement_id"] == relay.json()["id"]
        assert signed["commitments"]["investment_yuan"] == "1500000.00"  # taken over
        assert signed["pathways"] == ["industry", "employment"]


async def test_terminate_with_relay_in_one_request_and_refusals_write_nothing(settings: Settings) -> None:
    officer = token(settings, Role.county_officer, "150602")
    app = pairing_app(settings)
    async with running(app) as client:
        enterprises, agreement = await setup(client, officer)
        base = f"/villages/{VILLAGE}/agreements/{agreement}"
        written = await stream_types(app)

        refusals = [
            ({"terminated_on": "2026-10-01", "reason": "x"}, 422, "terminated_after_signing"),
            (
                {
                    "terminated_on": "2026-11-20",
                    "reason": "x",
                    "relay": relay_body(str(uuid.uuid4())),
                },
                404,
                "enterprise_must_exist",
            ),
        ]
        for body, status, rule in refusals:
            response = await client.post(f"{base}/termination", json=body, headers=officer)
            assert (response.status_code, response.json()["rule"]) == (status, rule), response.text
        missing = await client.post(
            f"/villages/{VILLAGE}/agreements/{enterprises[0]}/termination",
            json={"terminated_on": "2026-11-20", "reason": "x"},
            headers=officer,
        )
        assert missing.status_code == 404 and missing.json()["rule"] == "agreement_must_exist"
        invalid = await client.post(f"{base}/termination", json={"reason": ""}, headers=officer)
        assert invalid.status_code == 422
        assert {e["field"] for e in invalid.json()["errors"]} == {"terminated_on", "reason"}
        assert await stream_types(app) == written

        both = await client.post(
            f"{base}/termination",
            json={
                "terminated_on": "2026-11-20",
                "reason": "企业转产",
                "relay": {**relay_body(enterprises[2]), "commitments": {"jobs": 4}},
            },
            headers=officer,
        )
        assert both.status_code == 201, both.text
        assert both.json()["status"] == "relayed"
        stored = await app.state.runtime.store.load(village_stream(VILLAGE))
        terminated, signed = stored[-2].data, stored[-1].data
        assert (
            terminated["successor_agreement_id"]
            == both.json()["relay_agreement_id"]
            == signed["agreement_id"]
        )
        assert signed["commitments"]["jobs"] == 4 and signed["commitments"]["investment_yuan"] == "0"

        outside = token(settings, Role.county_officer, "150603")
        response = await client.post(
            f"{base}/termination", json={"terminated_on": "2026-11-20", "reason": "x"}, headers=outside
        )
        assert response.status_code == 403


async def test_village_codes_and_collective_income(settings: Settings) -> None:
    officer = token(settings, Role.federation_officer, "15")
    app = pairing_app(settings)
    async with running(app) as client:
        for code, reason in [
            ("150603101001", "not served by this deployment"),
            ("150602000001", "not 000"),
            ("150602101000", "not 000"),
        ]:
            response = await client.post(
                "/villages", json={**village_body(1), "village_code": code}, headers=officer
            )
            assert response.status_code == 422, response.text
            assert response.json()["rule"] == "village_code_of_this_deployment"
            assert response.json()["errors"][0]["field"] == "village_code"
            assert reason in response.json()["errors"][0]["reason"]

        body = {**village_body(1), "collective_incomes": [{"year": 2024, "income_yuan": "90000.50"}]}
        assert (await client.post("/villages", json=body, headers=officer)).status_code == 201
        twice = {**village_body(2), "collective_incomes": [{"year": 2024, "income_yuan": "1"}] * 2}
        response = await client.post("/villages", json=twice, headers=officer)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "collective_incomes"

        url = f"/villages/{VILLAGE}/incomes"
        first = await client.post(url, json={"year": 2025, "income_yuan": "120000.00"}, headers=officer)
        same = await client.post(url, json={"year": 2025, "income_yuan": "120000.00"}, headers=officer)
        fixed = await client.post(url, json={"year": 2025, "income_yuan": "125000.00"}, headers=officer)
        assert [r.json()["changed"] for r in (first, same, fixed)] == [True, False, True]
        negative = await client.post(url, json={"year": 2025, "income_yuan": "-1"}, headers=officer)
        assert negative.status_code == 422 and negative.json()["errors"][0]["field"] == "income_yuan"
        unknown = await client.post(
            f"/villages/{village_code(5)}/incomes", json={"year": 2025, "income_yuan": "1"}, headers=officer
        )
        assert unknown.status_code == 404 and unknown.json()["rule"] == "village_must_exist"

        stored = await app.state.runtime.store.load(village_stream(VILLAGE))
        incomes = [(e.data["year"], e.data["income_yuan"]) for e in stored[1:]]
        assert incomes == [(2024, "90000.50"), (2025, "120000.00"), (2025, "125000.00")]
