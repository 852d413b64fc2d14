"""Paged, region-scoped lists: the query parameters and answer shape every list endpoint shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.auth import Principal, ensure_covers


class Listing(BaseModel):
    """Paging and region scope, common to every list; unknown parameters are refused."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    page: int = Field(default=1, ge=1, le=100_000, description="1-based")
    page_size: int = Field(default=20, ge=1, le=200)
    region: str | None = Field(
        default=None,
        pattern=r"^\d{1,12}$",
        description="A division-code prefix inside the caller's region (default: the caller's region)",
    )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class Paged(BaseModel):
    """The answer's paging fields; a list's model adds its ``items``."""

    page: int
    page_size: int
    total: int


@dataclass(frozen=True)
class Page:
    """One page of rows as a query read them, and the total the filters match."""

    items: list[dict[str, Any]]
    total: int


def scope(principal: Principal, region: str | None) -> str:
    """The region to read: the one asked for, when it lies inside the caller's; else the caller's."""
    if region is None:
        return principal.region
    ensure_covers(principal, region, "region")
    return region


def paged(filters: Listing, page: Page) -> dict[str, Any]:
    return {"items": page.items, "page": filters.page, "page_size": filters.page_size, "total": page.total}
