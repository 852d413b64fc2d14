"""The directory's HTTP API: paginated lists, read by any role inside its own region.

Every list answers ``{"items", "page", "page_size", "total"}`` and takes ``region``: a division-
code prefix that must lie inside the caller's region (403 otherwise); without it, the caller's
region is listed. Filters with a value that does not fit, and unknown parameters, are refused with
422 problem details naming the parameter.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from services.pairing.directory import queries
from services.pairing.directory.queries import (
    AgreementFilters,
    BindingFilters,
    CooperativeFilters,
    EnterpriseFilters,
    ProjectFilters,
    ProjectStatus,
    VillageFilters,
)
from shared.auth import Principal, authenticate, ensure_covers
from shared.events.catalogue.pairing import (
    BindingForm,
    BindingKind,
    Commitments,
    EnterpriseKind,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
)
from shared.http.listing import Paged, paged, scope
from shared.http.problems import Problem, problem_responses
from shared.service import runtime_of

router = APIRouter(tags=["directory"])
Reader = Annotated[Principal, Depends(authenticate)]

_PROBLEMS = problem_responses(
    {
        401: "Missing or refused bearer token",
        403: "`region` outside the caller's region",
        422: "A filter's value does not fit, or an unknown parameter",
    }
)


class EnterpriseItem(BaseModel):
    enterprise_id: uuid.UUID
    name: str
    credit_code: str
    kind: EnterpriseKind
    county_code: str
    leading: bool
    leading_level: LeadingLevel | None
    active_agreements: int


class EnterprisePage(Paged):
    items: list[EnterpriseItem]


class Income(BaseModel):
    """The village collective economy's income (村集体经济收入) in one year."""

    year: int
    income_yuan: Decimal


class VillageItem(BaseModel):
    code: str
    name: str
    category: VillageCategory
    former_poverty_village: bool
    active_enterprises: int
    latest_income: Income | None


class VillagePage(Paged):
    items: list[VillageItem]


class AgreementItem(BaseModel):
    agreement_id: uuid.UUID
    village_code: str
    village_name: str | None
    enterprise_id: uuid.UUID
    enterprise_name: str | None
    signed_on: date
    term_years: int
    document_ref: str
    pathways: list[Pathway]
    mode: Mode
    commitments: Commitments
    status: Literal["active", "needs_relay", "relayed"]
    terminated_on: date | None
    termination_reason: str | None
    relays_agreement_id: uuid.UUID | None
    successor_agreement_id: uuid.UUID | None


class AgreementPage(Paged):
    items: list[AgreementItem]


class ProjectItem(BaseModel):
    project_id: uuid.UUID
    village_code: str
    name: str
    industry: str
    agreement_ids: list[uuid.UUID]
    enterprise_ids: list[uuid.UUID]
    budget_yuan: Decimal
    invested_yuan: Decimal
    beneficiary_households: int
    jobs: int
    milestones_reached: int
    milestones_total: int
    milestones_overdue: int
    overdue: bool
    status: ProjectStatus
    completed_on: date | None
    assets_yuan: Decimal | None


class ProjectPage(Paged):
    items: list[ProjectItem]


class VillageDetail(VillageItem):
    incomes: list[Income]
    agreements: list[AgreementItem]
    projects: list[ProjectItem]


class CooperativeItem(BaseModel):
    cooperative_id: uuid.UUID
    code: str
    name: str
    village_code: str
    leading_industry: str
    active_household_bindings: int
    active_enterprise_bindings: int


class CooperativePage(Paged):
    items: list[CooperativeItem]


class BindingItem(BaseModel):
    binding_id: uuid.UUID
    kind: BindingKind
    cooperative_id: uuid.UUID
    cooperative_name: str | None
    village_code: str
    household_id: uuid.UUID | None
    household_village_code: str | None
    enterprise_id: uuid.UUID | None
    form: BindingForm
    started_on: date
    ends_on: date | None
    ended_on: date | None
    end_reason: str | None
    active: bool


class BindingPage(Paged):
    items: list[BindingItem]


@router.get(
    "/enterprises",
    summary="List enterprises in the pairing programme",
    response_model=EnterprisePage,
    responses=_PROBLEMS,
)
async def list_enterprises(
    request: Request, principal: Reader, filters: Annotated[EnterpriseFilters, Query()]
) -> dict[str, Any]:
    """Enterprises registered in a county of the region, and enterprises that signed an agreement
    (active or ended) with a village of the region. Ordered by name."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.enterprises(runtime_of(request).engine, filters, region))


@router.get(
    "/villages",
    summary="List villages in the pairing programme",
    response_model=VillagePage,
    responses=_PROBLEMS,
)
async def list_villages(
    request: Request, principal: Reader, filters: Annotated[VillageFilters, Query()]
) -> dict[str, Any]:
    """Villages of the region by code, each with its count of enterprises under an active
    agreement and its latest collective income."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.villages(runtime_of(request).engine, filters, region))


@router.get(
    "/villages/{code}",
    summary="One village: incomes by year, agreements and projects",
    response_model=VillageDetail,
    responses={**_PROBLEMS, **problem_responses({404: "No such village registered"})},
)
async def get_village(
    request: Request,
    principal: Reader,
    code: Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit village code")],
) -> dict[str, Any]:
    ensure_covers(principal, code, "code")
    found = await queries.village(runtime_of(request).engine, code)
    if found is None:
        raise Problem(404, "Village not found", f"no village {code} is registered")
    return found


@router.get(
    "/agreements",
    summary="List pairing agreements with their relay status",
    response_model=AgreementPage,
    responses=_PROBLEMS,
)
async def list_agreements(
    request: Request, principal: Reader, filters: Annotated[AgreementFilters, Query()]
) -> dict[str, Any]:
    """Agreements with villages of the region, by signing date. ``status`` is ``active``;
    ``needs_relay`` once terminated with no enterprise taking over (接力帮扶); ``relayed`` once a
    relay agreement names it (``successor_agreement_id``). A relay names what it took over in
    ``relays_agreement_id``."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.agreements(runtime_of(request).engine, filters, region))


@router.get(
    "/projects",
    summary="List projects with their investment and milestone progress",
    response_model=ProjectPage,
    responses=_PROBLEMS,
)
async def list_projects(
    request: Request, principal: Reader, filters: Annotated[ProjectFilters, Query()]
) -> dict[str, Any]:
    """Projects of villages in the region, in the order registered: budget, total invested so far,
    milestones reached of the total, and whether a milestone was reported overdue and is unmet."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.projects(runtime_of(request).engine, filters, region))


@router.get(
    "/cooperatives",
    summary="List farmers' cooperatives with their active bindings",
    response_model=CooperativePage,
    responses=_PROBLEMS,
)
async def list_cooperatives(
    request: Request, principal: Reader, filters: Annotated[CooperativeFilters, Query()]
) -> dict[str, Any]:
    """Cooperatives (农民专业合作社) of villages in the region, by name, with how many households and
    enterprises they are bound to (双绑) now."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.cooperatives(runtime_of(request).engine, filters, region))


@router.get(
    "/bindings",
    summary="List 双绑 bindings of cooperatives",
    response_model=BindingPage,
    responses=_PROBLEMS,
)
async def list_bindings(
    request: Request, principal: Reader, filters: Annotated[BindingFilters, Query()]
) -> dict[str, Any]:
    """Bindings of cooperatives whose village lies in the region, by start date. A binding is
    active until a ``binding_ended`` is recorded for it."""
    region = scope(principal, filters.region)
    return paged(filters, await queries.bindings(runtime_of(request).engine, filters, region))
