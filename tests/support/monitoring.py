"""Builders for monitoring requests: valid by default, each field overridable."""

from __future__ import annotations

from typing import Any

from services.monitoring.personal import check_character
from tests.support.pairing import COUNTY, village_code

__all__ = ["COUNTY", "annual_survey", "citizen_id", "household_body", "quarterly_survey", "village_code"]


def citizen_id(n: int, county: str = COUNTY, born: str = "19700101") -> str:
    """A valid 18-character citizen ID number (GB 11643), distinct for each ``n`` below 1,000,000."""
    first17 = f"{county}{born}{n % 1000:03d}"
    if n >= 1000:  # vary the birth date too, so that a million numbers stay distinct
        day = 1 + (n // 1000) % 28
        month = 1 + (n // 28_000) % 12
        year = 1940 + (n // 336_000) % 60
        first17 = f"{county}{year:04d}{month:02d}{day:02d}{n % 1000:03d}"
    return first17 + check_character(first17)


def household_body(n: int, village: str | None = None, members: int = 3, **overrides: Any) -> dict[str, Any]:
    people = [
        {
            "name": f"户主{n}",
            "id_number": citizen_id(n * 10),
            "relation": "head",
            "age": 52,
            "labour": "ordinary",
            "schooling": "junior_secondary",
        }
    ]
    for k in range(1, members):
        people.append(
            {
                "name": f"成员{n}-{k}",
                "id_number": citizen_id(n * 10 + k),
                "relation": "child" if k > 1 else "spouse",
                "age": 12 if k > 1 else 50,
                "labour": "none" if k > 1 else "weak",
                "schooling": "compulsory_in_school" if k > 1 else "primary",
                "chronic_illness": k == 1,
            }
        )
    return {
        "village_code": village or village_code(1),
        "status": "former_poor",
        "phone": f"1390000{n:04d}",
        "members": people,
        **overrides,
    }


def quarterly_survey(period: str, income: int | str, members: int = 3, **expenses: Any) -> dict[str, Any]:
    return {
        "period": period,
        "surveyed_on": _quarter_end(period),
        "quarterly": {
            "members": members,
            "per_capita_net_income_yuan": str(income),
            "expenses": {k: str(v) for k, v in expenses.items()},
        },
    }


def annual_survey(year: int, **overrides: Any) -> dict[str, Any]:
    facts = {
        "pension_insured": 2,
        "medical_insured_all": True,
        "children_of_compulsory_age": 1,
        "out_of_school": 0,
        "labourers": 2,
        "employed": 1,
        "housing_safe": True,
        "drinking_water_safe": True,
        **overrides,
    }
    return {"period": str(year), "surveyed_on": f"{year}-12-20", "annual": facts}


def _quarter_end(period: str) -> str:
    year, quarter = period[:4], int(period[5])
    return f"{year}-{quarter * 3:02d}-{'31' if quarter in (1, 4) else '30'}"
