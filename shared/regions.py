"""Statistical division codes (统计用区划代码).

12 digits: province 2 + city 2 + county 2 + township 3 + village 3.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CODE = re.compile(r"^\d{12}$")


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
