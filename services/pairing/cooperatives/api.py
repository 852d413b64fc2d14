"""HTTP API for cooperatives and their 双绑 bindings."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field

from services.pairing.cooperatives.commands import (
    CooperativeCommands,
    EndBinding,
    EstablishBinding,
    RegisterCooperative,
)
from services.pairing.cooperatives.domain import Binding, Cooperative
from shared.auth import Principal, Role, allow, authenticate, ensure_covers
from shared.events.catalogue.pairing import BindingForm, BindingKind
from shared.http.problems import problem_responses
from shared.ids import uuid7
from shared.service import command_context, runtime_of

router = APIRouter(tags=["cooperatives"])

Officer = Annotated[
    Principal,
    Depends(allow(Role.federation_officer, Role.county_officer, Role.township_officer, Role.village_officer)),
]
Reader = Annotated[Principal, Depends(authenticate)]


class Created(BaseModel):
    id: str


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "Missing or invalid token",
        403: "Role not allowed, or outside the caller's region",
        404: "The cooperative (or binding, or enterprise) does not exist",
        409: "Refused by the cooperative's current state, or a concurrent change",
        422: "Invalid request, or a rule the request breaks",
    }
    return problem_responses({s: described[s] for s in (401, *statuses)})


class BindingStatus(StrEnum):
    active = "active"
    ended = "ended"


class BindingView(BaseModel):
    binding_id: uuid.UUID
    kind: BindingKind
    household_id: uuid.UUID | None
    household_village_code: str | None
    enterprise_id: uuid.UUID | None
    form: BindingForm
    started_on: date
    ends_on: date | None = Field(description="The planned end, if any")
    status: BindingStatus
    ended_on: date | None
    end_reason: str | None

    @classmethod
    def of(cls, binding: Binding) -> BindingView:
        b, ended = binding.established, binding.ended
        return cls(
            binding_id=b.binding_id,
            kind=b.kind,
            household_id=b.household_id,
            household_village_code=b.household_village_code,
            enterprise_id=b.enterprise_id,
            form=b.form,
            started_on=b.started_on,
            ends_on=b.ends_on,
            status=BindingStatus.active if ended is None else BindingStatus.ended,
            ended_on=ended.ended_on if ended else None,
            end_reason=ended.reason if ended else None,
        )


class CooperativeView(BaseModel):
    cooperative_id: uuid.UUID
    code: str
    name: str
    village_code: str
    leading_industry: str
    version: int = Field(description="How many events its stream holds")
    bindings: list[BindingView] = Field(description="In the order they were established")

    @classmethod
    def of(cls, cooperative: Cooperative) -> CooperativeView:
        registered = cooperative.must_exist()
        return cls(
            cooperative_id=registered.cooperative_id,
            code=registered.code,
            name=registered.name,
            village_code=registered.village_code,
            leading_industry=registered.leading_industry,
            version=cooperative.version,
            bindings=[BindingView.of(b) for b in cooperative.bindings.values()],
        )


def commands(request: Request) -> CooperativeCommands:
    runtime = runtime_of(request)
    return CooperativeCommands(runtime.store, runtime.settings.county_codes)


@router.post(
    "/cooperatives",
    status_code=status.HTTP_201_CREATED,
    response_model=Created,
    summary="Register a farmers' cooperative",
    responses=_problems(403, 409, 422),
)
async def register_cooperative(
    cmd: RegisterCooperative, request: Request, response: Response, principal: Officer
) -> Created:
    """Register a cooperative (pairing.cooperative_registered) in a village of the caller's region.

    Its id follows from its credit code: the same code twice is refused (409
    cooperative_registered_once).
    """
    handler = commands(request)
    handler.check_village(cmd.village_code, "village_code")
    ensure_covers(principal, cmd.village_code, "village_code")
    cooperative_id = await handler.register(command_context(request, principal), cmd)
    response.headers["location"] = f"/cooperatives/{cooperative_id}"
    return Created(id=str(cooperative_id))


@router.post(
    "/cooperatives/{cooperative_id}/bindings",
    status_code=status.HTTP_201_CREATED,
    response_model=Created,
    summary="Bind a household, or a leading enterprise, to a cooperative (双绑)",
    responses=_problems(403, 404, 409, 422),
)
async def establish_binding(
    cooperative_id: uuid.UUID, cmd: EstablishBinding, request: Request, principal: Officer
) -> Created:
    """Establish a binding (pairing.binding_established).

    `cooperative_household`: the cooperative binds a household (`household_id`,
    `household_village_code`); the caller's region covers both the cooperative's and the
    household's village. `enterprise_cooperative`: a registered leading enterprise
    (`enterprise_id`) binds the cooperative. A household or enterprise holds at most one active
    binding with a cooperative (409); a household may be bound to several cooperatives.
    """
    binding_id = await commands(request).establish_binding(
        command_context(request, principal), cooperative_id, cmd, uuid7(), partial(ensure_covers, principal)
    )
    return Created(id=str(binding_id))


@router.post(
    "/cooperatives/{cooperative_id}/bindings/{binding_id}/end",
    response_model=BindingView,
    summary="End an active binding",
    responses=_problems(403, 404, 409, 422),
)
async def end_binding(
    cooperative_id: uuid.UUID, binding_id: uuid.UUID, cmd: EndBinding, request: Request, principal: Officer
) -> BindingView:
    """End a binding (pairing.binding_ended) on or after its start; a binding ends once (409).

    Once ended, the same household or enterprise may be bound to the cooperative again.
    """
    guard = partial(ensure_covers, principal)
    ended = await commands(request).end_binding(
        command_context(request, principal), cooperative_id, binding_id, cmd, guard
    )
    return BindingView.of(ended)


@router.get(
    "/cooperatives/{cooperative_id}",
    response_model=CooperativeView,
    summary="A cooperative and its bindings",
    responses=_problems(403, 404, 422),
)
async def get_cooperative(cooperative_id: uuid.UUID, request: Request, principal: Reader) -> CooperativeView:
    """The cooperative as its stream tells it (no read model: always current), with every binding
    it holds, active or ended. Any role may read inside its region."""
    cooperative = await commands(request).state(cooperative_id)
    ensure_covers(principal, cooperative.must_exist().village_code, "cooperative_id")
    return CooperativeView.of(cooperative)
