"""The pairing service's HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, Field

from services.pairing.commands import (
    Income,
    PairingCommands,
    RegisterEnterprise,
    RegisterVillage,
    RelayAgreement,
    SignAgreement,
    TerminateAgreement,
)
from shared.auth import Principal, Role, allow, ensure_covers
from shared.http.problems import problem_responses
from shared.ids import uuid7
from shared.regions import county_region
from shared.service import command_context, runtime_of

router = APIRouter(tags=["pairing"])
PairingOfficer = Annotated[Principal, Depends(allow(Role.federation_officer, Role.county_officer))]


class Registered(BaseModel):
    id: str


class Terminated(BaseModel):
    agreement_id: str
    status: str = Field(description="needs_relay, or relayed when a relay was signed in the same request")
    relay_agreement_id: str | None = None


class IncomeRecorded(BaseModel):
    village_code: str
    year: int
    changed: bool = Field(description="False when the same figure was already on record")


def commands(request: Request) -> PairingCommands:
    runtime = runtime_of(request)
    settings = runtime.settings
    return PairingCommands(runtime.store, settings.max_active_enterprises_per_village, settings.county_codes)


_AUTH = {401: "Missing or refused token", 403: "Role not allowed, or outside the token's region"}
_AGREEMENT_REFUSALS = {
    404: "Village, enterprise or agreement not registered (see `rule`)",
    409: "Refused by a pairing rule or a concurrent change (see `rule`)",
    422: "Invalid body, or dates that contradict the agreement (see `rule`)",
}

VillageCode = Annotated[str, Path(pattern=r"^\d{12}$", description="12-digit division code")]


@router.post(
    "/enterprises",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register an enterprise",
    responses=problem_responses(
        {**_AUTH, 409: "Already registered", 422: "Invalid body, e.g. the credit code"}
    ),
)
async def register_enterprise(
    cmd: RegisterEnterprise, request: Request, principal: PairingOfficer
) -> Registered:
    """Register an enterprise (pairing.enterprise_registered)."""
    ensure_covers(principal, county_region(cmd.county_code), "county_code")
    enterprise_id = await commands(request).register_enterprise(command_context(request, principal), cmd)
    return Registered(id=str(enterprise_id))


@router.post(
    "/villages",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Register a village",
    responses=problem_responses(
        {
            **_AUTH,
            409: "Already registered",
            422: "Invalid body, or a village code this deployment does not serve",
        }
    ),
)
async def register_village(cmd: RegisterVillage, request: Request, principal: PairingOfficer) -> Registered:
    """Register a village (pairing.village_registered)."""
    ensure_covers(principal, cmd.village_code, "village_code")
    code = await commands(request).register_village(command_context(request, principal), cmd)
    return Registered(id=code)


@router.post(
    "/agreements",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Sign a pairing agreement",
    responses=problem_responses({**_AUTH, **_AGREEMENT_REFUSALS}),
)
async def sign_agreement(cmd: SignAgreement, request: Request, principal: PairingOfficer) -> Registered:
    """Sign a pairing agreement between a registered enterprise and village (pairing.agreement_signed).

    Refused when the village already has the configured maximum of active enterprises (5), or
    when the pair already has an active agreement.
    """
    ensure_covers(principal, cmd.village_code, "village_code")
    agreement_id: uuid.UUID = await commands(request).sign_agreement(
        command_context(request, principal), cmd, uuid7()
    )
    return Registered(id=str(agreement_id))


@router.post(
    "/villages/{village_code}/incomes",
    response_model=IncomeRecorded,
    summary="Record a year's collective income",
    responses=problem_responses({**_AUTH, 404: "Village not registered", 422: "Invalid body"}),
)
async def record_income(
    village_code: VillageCode, cmd: Income, request: Request, principal: PairingOfficer
) -> IncomeRecorded:
    """Record the village collective economy's income for a year (pairing.village_income_recorded).

    A later record for the same year corrects the earlier one; the same figure again changes nothing.
    """
    ensure_covers(principal, village_code, "village_code")
    changed = await commands(request).record_income(command_context(request, principal), village_code, cmd)
    return IncomeRecorded(village_code=village_code, year=cmd.year, changed=changed)


@router.post(
    "/villages/{village_code}/agreements/{agreement_id}/termination",
    status_code=status.HTTP_201_CREATED,
    response_model=Terminated,
    summary="Terminate an agreement, with or without its relay",
    responses=problem_responses({**_AUTH, **_AGREEMENT_REFUSALS}),
)
async def terminate_agreement(
    village_code: VillageCode,
    agreement_id: uuid.UUID,
    cmd: TerminateAgreement,
    request: Request,
    principal: PairingOfficer,
) -> Terminated:
    """Terminate an active agreement (pairing.agreement_terminated).

    With `relay`, another enterprise takes over in the same step (pairing.agreement_signed with
    `relays_agreement_id`); without, the agreement needs a relay until one is signed.
    """
    ensure_covers(principal, village_code, "village_code")
    relay_id = await commands(request).terminate_agreement(
        command_context(request, principal), village_code, agreement_id, cmd, uuid7()
    )
    return Terminated(
        agreement_id=str(agreement_id),
        status="relayed" if relay_id else "needs_relay",
        relay_agreement_id=str(relay_id) if relay_id else None,
    )


@router.post(
    "/villages/{village_code}/agreements/{agreement_id}/relay",
    status_code=status.HTTP_201_CREATED,
    response_model=Registered,
    summary="Relay a terminated agreement to another enterprise",
    responses=problem_responses({**_AUTH, **_AGREEMENT_REFUSALS}),
)
async def relay_agreement(
    village_code: VillageCode,
    agreement_id: uuid.UUID,
    cmd: RelayAgreement,
    request: Request,
    principal: PairingOfficer,
) -> Registered:
    """Another enterprise takes over a terminated agreement (接力帮扶; pairing.agreement_signed with
    `relays_agreement_id`). Pathways, mode and commitments not given are the terminated one's."""
    ensure_covers(principal, village_code, "village_code")
    relay_id = await commands(request).relay_agreement(
        command_context(request, principal), village_code, agreement_id, cmd, uuid7()
    )
    return Registered(id=str(relay_id))
