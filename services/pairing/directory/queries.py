"""Reads of the pairing directory: its filters, and the SQL that answers them.

Each list is one constant statement for the page and one for the total. A filter left out binds
NULL and ``CAST(:x AS t) IS NULL OR …`` lets every row through; PostgreSQL plans such a statement
per call with the values at hand (custom plans), so a filter that is given still uses its index.
Text search is ``ILIKE`` on a pattern built here, with ``%``, ``_`` and ``\\`` escaped.
Every list is limited to ``region``: a division-code prefix, already checked against the caller.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.catalogue.pairing import EnterpriseKind, Mode, Pathway, VillageCategory
from shared.http.listing import Listing, Page

# --- filters (query parameters) -------------------------------------------------------------


class EnterpriseFilters(Listing):
    kind: EnterpriseKind | None = None
    leading: bool | None = Field(
        default=None, description="Recognised as a leading enterprise (龙头企业) at any level, or not"
    )
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="County registered in")
    q: str | None = Field(
        default=None, min_length=1, max_length=100, description="Text in name or credit code"
    )


class VillageFilters(Listing):
    category: VillageCategory | None = None
    former_poverty_village: bool | None = None
    township: str | None = Field(default=None, pattern=r"^\d{9}$", description="9-digit township code")
    q: str | None = Field(default=None, min_length=1, max_length=100, description="Text in name or code")


class AgreementStatusFilter(StrEnum):
    active = "active"
    terminated = "terminated"  # needs_relay or relayed
    needs_relay = "needs_relay"
    relayed = "relayed"


class AgreementFilters(Listing):
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    enterprise_id: uuid.UUID | None = None
    status: AgreementStatusFilter | None = Field(
        default=None, description="`terminated` matches both `needs_relay` and `relayed`"
    )
    pathway: Pathway | None = Field(default=None, description="Agreements that name this pathway")
    mode: Mode | None = None


class ProjectStatus(StrEnum):
    in_progress = "in_progress"
    completed = "completed"


class ProjectFilters(Listing):
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    enterprise_id: uuid.UUID | None = Field(default=None, description="One of the enterprises building it")
    status: ProjectStatus | None = None
    overdue: bool | None = Field(default=None, description="Has a milestone reported overdue and still unmet")


class CooperativeFilters(Listing):
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    q: str | None = Field(default=None, min_length=1, max_length=100, description="Text in name or code")


class BindingFilters(Listing):
    cooperative_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    enterprise_id: uuid.UUID | None = None
    active: bool | None = Field(default=None, description="Not ended (no binding_ended recorded)")


# --- statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listing:
    count: TextClause
    page: TextClause


def _listing(columns: str, source: str, order: str) -> _Listing:
    # Joins this module's constant SQL only; every value reaches PostgreSQL as a bound parameter.
    return _Listing(
        count=text("SELECT count(*) " + source),
        page=text(f"SELECT {columns} {source} ORDER BY {order} LIMIT :limit OFFSET :offset"),
    )


_ENTERPRISE_COLUMNS = """
    e.enterprise_id, e.name, e.credit_code, e.kind, e.county_code, e.leading_level,
    (SELECT count(*) FROM directory_agreements a
     WHERE a.enterprise_id = e.enterprise_id AND a.status = 'active') AS active_agreements
"""
# Seen by its registered county (a county-level entity: county code + zeros), and by any region
# holding a village it has signed an agreement with, whatever became of the agreement.
_ENTERPRISES = _listing(
    _ENTERPRISE_COLUMNS,
    """
    FROM directory_enterprises e
    WHERE (e.region_code LIKE :region
           OR EXISTS (SELECT 1 FROM directory_agreements a
                      WHERE a.enterprise_id = e.enterprise_id AND a.village_code LIKE :region))
      AND (CAST(:kind AS text) IS NULL OR e.kind = :kind)
      AND (CAST(:leading AS boolean) IS NULL OR (e.leading_level IS NOT NULL) = :leading)
      AND (CAST(:county_code AS text) IS NULL OR e.county_code = :county_code)
      AND (CAST(:q AS text) IS NULL OR e.name ILIKE :q OR e.credit_code ILIKE :q)
    """,
    "e.name, e.enterprise_id",
)

_VILLAGE_COLUMNS = """
    v.village_code AS code, v.name, v.category, v.former_poverty_village,
    (SELECT count(DISTINCT a.enterprise_id) FROM directory_agreements a
     WHERE a.village_code = v.village_code AND a.status = 'active') AS active_enterprises,
    (SELECT i.year FROM directory_village_incomes i
     WHERE i.village_code = v.village_code ORDER BY i.year DESC LIMIT 1) AS income_year,
    (SELECT i.income_yuan FROM directory_village_incomes i
     WHERE i.village_code = v.village_code ORDER BY i.year DESC LIMIT 1) AS income_yuan
"""
_VILLAGES = _listing(
    _VILLAGE_COLUMNS,
    """
    FROM directory_villages v
    WHERE v.village_code LIKE :region
      AND (CAST(:category AS text) IS NULL OR v.category = :category)
      AND (CAST(:former_poverty_village AS boolean) IS NULL
           OR v.former_poverty_village = :former_poverty_village)
      AND (CAST(:township AS text) IS NULL OR v.village_code LIKE :township)
      AND (CAST(:q AS text) IS NULL OR v.name ILIKE :q OR v.village_code LIKE :q)
    """,
    "v.village_code",
)
_VILLAGE = text(f"SELECT {_VILLAGE_COLUMNS} FROM directory_villages v WHERE v.village_code = :code")
_INCOMES = text(
    "SELECT year, income_yuan FROM directory_village_incomes WHERE village_code = :code ORDER BY year"
)

_AGREEMENT_COLUMNS = """
    a.agreement_id, a.village_code,
    (SELECT v.name FROM directory_villages v WHERE v.village_code = a.village_code) AS village_name,
    a.enterprise_id,
    (SELECT e.name FROM directory_enterprises e WHERE e.enterprise_id = a.enterprise_id) AS enterprise_name,
    a.signed_on, a.term_years, a.document_ref, a.pathways, a.mode, a.investment_yuan, a.jobs,
    a.trainees, a.purchases_yuan, a.donations_yuan, a.status, a.terminated_on, a.termination_reason,
    a.relays_agreement_id, a.successor_agreement_id
"""
_AGREEMENTS = _listing(
    _AGREEMENT_COLUMNS,
    """
    FROM directory_agreements a
    WHERE a.village_code LIKE :region
      AND (CAST(:village_code AS text) IS NULL OR a.village_code = :village_code)
      AND (CAST(:enterprise_id AS uuid) IS NULL OR a.enterprise_id = :enterprise_id)
      AND (CAST(:statuses AS text[]) IS NULL OR a.status = ANY(:statuses))
      AND (CAST(:pathway AS text) IS NULL OR a.pathways @> ARRAY[CAST(:pathway AS text)])
      AND (CAST(:mode AS text) IS NULL OR a.mode = :mode)
    """,
    "a.signed_on, a.agreement_id",
)
_VILLAGE_AGREEMENTS = text(
    f"SELECT {_AGREEMENT_COLUMNS} FROM directory_agreements a WHERE a.village_code = :code "
    "ORDER BY a.signed_on, a.agreement_id"
)

_PROJECT_COLUMNS = """
    p.project_id, p.village_code, p.name, p.industry, p.agreement_ids, p.enterprise_ids,
    p.budget_yuan, p.invested_yuan, p.beneficiary_households, p.jobs, p.milestones_reached,
    p.milestones_total, p.milestones_overdue, p.status, p.completed_on, p.assets_yuan
"""
_PROJECTS = _listing(
    _PROJECT_COLUMNS,
    """
    FROM directory_projects p
    WHERE p.village_code LIKE :region
      AND (CAST(:village_code AS text) IS NULL OR p.village_code = :village_code)
      AND (CAST(:enterprise_id AS uuid) IS NULL OR p.enterprise_ids @> ARRAY[CAST(:enterprise_id AS uuid)])
      AND (CAST(:status AS text) IS NULL OR p.status = :status)
      AND (CAST(:overdue AS boolean) IS NULL OR (p.milestones_overdue > 0) = :overdue)
    """,
    "p.registered_at, p.project_id",
)
_VILLAGE_PROJECTS = text(
    f"SELECT {_PROJECT_COLUMNS} FROM directory_projects p WHERE p.village_code = :code "
    "ORDER BY p.registered_at, p.project_id"
)

_COOPERATIVES = _listing(
    """
    c.cooperative_id, c.code, c.name, c.village_code, c.leading_industry,
    (SELECT count(*) FROM directory_bindings b WHERE b.cooperative_id = c.cooperative_id
        AND b.kind = 'cooperative_household' AND b.active) AS active_household_bindings,
    (SELECT count(*) FROM directory_bindings b WHERE b.cooperative_id = c.cooperative_id
        AND b.kind = 'enterprise_cooperative' AND b.active) AS active_enterprise_bindings
    """,
    """
    FROM directory_cooperatives c
    WHERE c.village_code LIKE :region
      AND (CAST(:village_code AS text) IS NULL OR c.village_code = :village_code)
      AND (CAST(:q AS text) IS NULL OR c.name ILIKE :q OR c.code ILIKE :q)
    """,
    "c.name, c.cooperative_id",
)

_BINDINGS = _listing(
    """
    b.binding_id, b.kind, b.cooperative_id,
    (SELECT c.name FROM directory_cooperatives c WHERE c.cooperative_id = b.cooperative_id)
        AS cooperative_name,
    b.village_code, b.household_id, b.household_village_code, b.enterprise_id, b.form,
    b.started_on, b.ends_on, b.ended_on, b.end_reason, b.active
    """,
    """
    FROM directory_bindings b
    WHERE b.village_code LIKE :region
      AND (CAST(:cooperative_id AS uuid) IS NULL OR b.cooperative_id = :cooperative_id)
      AND (CAST(:household_id AS uuid) IS NULL OR b.household_id = :household_id)
      AND (CAST(:enterprise_id AS uuid) IS NULL OR b.enterprise_id = :enterprise_id)
      AND (CAST(:active AS boolean) IS NULL OR b.active = :active)
    """,
    "b.started_on, b.binding_id",
)


# --- reads ----------------------------------------------------------------------------------


def contains(q: str | None) -> str | None:
    """An ILIKE pattern matching ``q`` anywhere, its wildcards taken literally."""
    if q is None:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _page(engine: AsyncEngine, listing: _Listing, filters: Listing, params: dict[str, Any]) -> Page:
    # One snapshot for the total and the page, so they agree.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            total = (await conn.execute(listing.count, params)).scalar_one()
            paged = {**params, "limit": filters.page_size, "offset": filters.offset}
            rows = [dict(r) for r in (await conn.execute(listing.page, paged)).mappings()]
    return Page(rows, int(total))


def _like(prefix: str) -> str:
    return prefix + "%"  # a prefix of digits only (checked by the filters): no wildcard to escape


async def enterprises(engine: AsyncEngine, f: EnterpriseFilters, region: str) -> Page:
    params = {
        "region": _like(region),
        "kind": f.kind.value if f.kind else None,
        "leading": f.leading,
        "county_code": f.county_code,
        "q": contains(f.q),
    }
    page = await _page(engine, _ENTERPRISES, f, params)
    for row in page.items:
        row["leading"] = row["leading_level"] is not None
    return page


async def villages(engine: AsyncEngine, f: VillageFilters, region: str) -> Page:
    params = {
        "region": _like(region),
        "category": f.category.value if f.category else None,
        "former_poverty_village": f.former_poverty_village,
        "township": _like(f.township) if f.township else None,
        "q": contains(f.q),
    }
    page = await _page(engine, _VILLAGES, f, params)
    return Page([_village(row) for row in page.items], page.total)


async def agreements(engine: AsyncEngine, f: AgreementFilters, region: str) -> Page:
    statuses: list[str] | None = None
    if f.status is AgreementStatusFilter.terminated:
        statuses = [AgreementStatusFilter.needs_relay.value, AgreementStatusFilter.relayed.value]
    elif f.status is not None:
        statuses = [f.status.value]
    params = {
        "region": _like(region),
        "village_code": f.village_code,
        "enterprise_id": f.enterprise_id,
        "statuses": statuses,
        "pathway": f.pathway.value if f.pathway else None,
        "mode": f.mode.value if f.mode else None,
    }
    page = await _page(engine, _AGREEMENTS, f, params)
    return Page([_agreement(row) for row in page.items], page.total)


async def projects(engine: AsyncEngine, f: ProjectFilters, region: str) -> Page:
    params = {
        "region": _like(region),
        "village_code": f.village_code,
        "enterprise_id": f.enterprise_id,
        "status": f.status.value if f.status else None,
        "overdue": f.overdue,
    }
    page = await _page(engine, _PROJECTS, f, params)
    return Page([_project(row) for row in page.items], page.total)


async def cooperatives(engine: AsyncEngine, f: CooperativeFilters, region: str) -> Page:
    params = {"region": _like(region), "village_code": f.village_code, "q": contains(f.q)}
    return await _page(engine, _COOPERATIVES, f, params)


async def bindings(engine: AsyncEngine, f: BindingFilters, region: str) -> Page:
    params = {
        "region": _like(region),
        "cooperative_id": f.cooperative_id,
        "household_id": f.household_id,
        "enterprise_id": f.enterprise_id,
        "active": f.active,
    }
    return await _page(engine, _BINDINGS, f, params)


async def village(engine: AsyncEngine, code: str) -> dict[str, Any] | None:
    """A village with its incomes by year, its agreements and its projects; None when unknown."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            found = (await conn.execute(_VILLAGE, {"code": code})).mappings().first()
            if found is None:
                return None
            return {
                **_village(dict(found)),
                "incomes": await _rows(conn, _INCOMES, code),
                "agreements": [_agreement(r) for r in await _rows(conn, _VILLAGE_AGREEMENTS, code)],
                "projects": [_project(r) for r in await _rows(conn, _VILLAGE_PROJECTS, code)],
            }


async def _rows(conn: AsyncConnection, statement: TextClause, code: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(statement, {"code": code})).mappings()]


def _village(row: dict[str, Any]) -> dict[str, Any]:
    year, income = row.pop("income_year"), row.pop("income_yuan")
    row["latest_income"] = None if year is None else {"year": year, "income_yuan": income}
    return row


_COMMITMENTS = ("investment_yuan", "jobs", "trainees", "purchases_yuan", "donations_yuan")


def _agreement(row: dict[str, Any]) -> dict[str, Any]:
    row["commitments"] = {key: row.pop(key) for key in _COMMITMENTS}
    return row


def _project(row: dict[str, Any]) -> dict[str, Any]:
    row["overdue"] = row["milestones_overdue"] > 0
    return row
