"""The pairing service's HTTP API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel

from services.pairing.commands import (
    PairingCommands,
    RegisterEnterprise,
    RegisterVillage,
    SignAgreement,
)
from shared.auth import Principal, Role, allow, ensure_covers
from shared.ids import uuid7
from shared.regions import county_region
from shared.service import command_context, runtime_of

router = APIRouter(tags=["pairing"])
PairingOfficer = Annotated[Principal, Depends(allow(Role.federation_officer, Role.county_officer))]


class Registered(BaseModel):
    id: str


def commands(request: Request) -> PairingCommands:
    runtime = runtime_of(request)
    return PairingCommands(runtime.store, runtime.settings.max_active_enterprises_per_village)


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, response_model=Registered)
async def register_enterprise(
    cmd: RegisterEnterprise, request: Request, principal: PairingOfficer
) -> Registered:
    """Register an enterprise (pairing.enterprise_registered)."""
    ensure_covers(principal, county_region(cmd.county_code), "county_code")
    enterprise_id = await commands(request).register_enterprise(command_context(request, principal), cmd)
    return Registered(id=str(enterprise_id))


@router.post("/villages", status_code=status.HTTP_201_CREATED, response_model=Registered)
async def register_village(cmd: RegisterVillage, request: Request, principal: PairingOfficer) -> Registered:
    """Register a village (pairing.village_registered)."""
    ensure_covers(principal, cmd.village_code, "village_code")
    code = await commands(request).register_village(command_context(request, principal), cmd)
    return Registered(id=code)


@router.post("/agreements", status_code=status.HTTP_201_CREATED, response_model=Registered)
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
