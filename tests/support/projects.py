"""A paired county for project tests: enterprises, villages and agreements made over HTTP, and
request builders for projects and their investment tranches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.pairing import agreement_body, enterprise_body, village_body, village_code

VILLAGE = village_code(1)


@dataclass(frozen=True)
class Paired:
    """Enterprises 1 and 2; village 1 paired with enterprise 1, village 2 with enterprise 2."""

    enterprises: list[str]
    agreement: str
    other_agreement: str


async def pair(client: httpx.AsyncClient, officer: dict[str, str]) -> Paired:
    enterprises = []
    for n in (1, 2):
        response = await client.post("/enterprises", json=enterprise_body(n), headers=officer)
        assert response.status_code == 201, response.text
        enterprises.append(response.json()["id"])
    agreements = []
    for n, enterprise in zip((1, 2), enterprises, strict=True):
        assert (await client.post("/villages", json=village_body(n), headers=officer)).status_code == 201
        signed = await client.post(
            "/agreements", json=agreement_body(enterprise, village_code(n)), headers=officer
        )
        assert signed.status_code == 201, signed.text
        agreements.append(signed.json()["id"])
    return Paired(enterprises, agreements[0], agreements[1])


def project_body(paired: Paired, **overrides: Any) -> dict[str, Any]:
    return {
        "village_code": VILLAGE,
        "agreement_ids": [paired.agreement],
        "enterprise_ids": paired.enterprises,
        "name": "肉牛养殖基地",
        "industry": "beef cattle",
        "budget_yuan": "5000000.00",
        "funding": [
            {"source": "enterprise", "amount_yuan": "2050000.00"},
            {"source": "connection", "amount_yuan": "1450000.00"},
            {"source": "bank_loan", "amount_yuan": "1500000.00"},
        ],
        "shareholding": [
            {"holder": "village_collective", "percent": "10"},
            {"holder": "village_group", "percent": "10"},
            {"holder": "enterprise", "holder_name": "企业1", "percent": "41"},
            {"holder": "villagers", "percent": "39"},
        ],
        "beneficiary_households": 120,
        "jobs": 35,
        "milestones": [
            {"milestone_id": "design", "name": "设计完成", "due_on": "2027-03-31"},
            {"milestone_id": "built", "name": "牛舍建成", "due_on": "2027-06-30"},
        ],
        **overrides,
    }


def tranche(amount: str, day: str, source: str = "enterprise") -> dict[str, Any]:
    return {"source": source, "amount_yuan": amount, "invested_on": day, "evidence_ref": f"回单-{day}"}
