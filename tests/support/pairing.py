"""Builders for pairing requests: valid by default, each field overridable."""

from __future__ import annotations

from typing import Any

from services.pairing.credit_code import check_character

COUNTY = "150602"


def credit_code(n: int, county: str = COUNTY) -> str:
    """A valid unified social credit code, distinct for each ``n``."""
    first17 = f"91{county}{n:09d}"
    return first17 + check_character(first17)


def village_code(n: int, county: str = COUNTY) -> str:
    """A valid village code, distinct for each ``n`` (township and village parts never 000)."""
    return f"{county}{100 + n // 999:03d}{n % 999 + 1:03d}"


def enterprise_body(n: int, **overrides: Any) -> dict[str, Any]:
    return {
        "name": f"企业{n}",
        "credit_code": credit_code(n),
        "kind": "private_enterprise",
        "county_code": COUNTY,
        **overrides,
    }


def village_body(n: int, **overrides: Any) -> dict[str, Any]:
    return {"village_code": village_code(n), "name": f"村{n}", "category": "key_support", **overrides}


def agreement_body(enterprise_id: str, village: str, **overrides: Any) -> dict[str, Any]:
    return {
        "enterprise_id": enterprise_id,
        "village_code": village,
        "signed_on": "2026-11-01",
        "term_years": 3,
        "document_ref": "XC-2026-001",
        "pathways": ["industry", "employment"],
        "mode": "order_farming",
        "commitments": {"investment_yuan": "1500000.00", "jobs": 20, "trainees": 5},
        **overrides,
    }
