"""Statistical division codes (统计用区划代码).

12 digits: province 2 + city 2 + county 2 + township 3 + village 3.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CODE = re.compile(r"^\d{12}$")
REGION_PATTERN = r"^(0[1-9]|[1-9]\d)\d{10}$"  # the same rule, for a pydantic pattern


def _check_code(value: str) -> str:
    if not _CODE.match(value):
        raise ValueError("a division code has exactly 12 digits")
    if value[:2] == "00":
        raise ValueError("the first two digits name a province and cannot be 00")
    return value


def _check_county(value: str) -> str:
    if not re.fullmatch(r"\d{6}", value):
        raise ValueError("a county code has exactly 6 digits")
    return value


DivisionCode = Annotated[str, AfterValidator(_check_code)]
"""A full 12-digit code; a county-level entity is its 6-digit county code followed by zeros."""

CountyCode = Annotated[str, AfterValidator(_check_county)]


def county_region(county_code: str) -> str:
    """The 12-digit region code of a county-level entity."""
    return county_code + "000000"


def within(region_code: str, prefix: str) -> bool:
    """True when ``region_code`` lies inside the region named by ``prefix``."""
    return region_code.startswith(prefix)


def village_code_problem(code: str, counties: frozenset[str]) -> str | None:
    """Why ``code`` cannot be a village of this deployment, or None when it can.

    A village-level code names its township (digits 7–9) and its village (10–12), neither 000,
    and its county (digits 1–6) must be one the deployment serves (``XINGCUN_COUNTIES``).
    """
    if not _CODE.match(code):
        return "a division code has exactly 12 digits"
    if code[6:9] == "000" or code[9:] == "000":
        return "a village's code names its township and village: digits 7–9 and 10–12 are not 000"
    if counties and code[:6] not in counties:
        return f"county {code[:6]} is not served by this deployment (XINGCUN_COUNTIES)"
    return None
