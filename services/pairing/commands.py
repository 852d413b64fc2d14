"""Pairing commands: what a caller asks for, validated, and the handlers that carry them out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.pairing.credit_code import credit_code_problem
from services.pairing.domain import (
    Enterprise,
    Village,
    enterprise_id_for,
    enterprise_stream,
    village_stream,
)
from shared.domain import NotFound
from shared.events.catalogue.pairing import (
    Commitments,
    EnterpriseKind,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
)
from shared.eventstore.context import CommandContext
from shared.eventstore.repository import load, rebuild, save
from shared.eventstore.store import EventStore
from shared.regions import CountyCode, DivisionCode, county_region


def _valid_credit_code(value: str) -> str:
    problem = credit_code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


CreditCode = Annotated[str, AfterValidator(_valid_credit_code)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterEnterprise(_Command):
    name: Name
    credit_code: CreditCode
    kind: EnterpriseKind
    county_code: CountyCode
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")
    leading_level: LeadingLevel | None = None


class RegisterVillage(_Command):
    village_code: DivisionCode
    name: Name
    category: VillageCategory
    former_poverty_village: bool = False


class SignAgreement(_Command):
    enterprise_id: uuid.UUID
    village_code: DivisionCode
    signed_on: date
    term_years: int = Field(ge=1, le=10)
    document_ref: str = Field(min_length=1, max_length=200)
    pathways: list[Pathway] = Field(min_length=1)
    mode: Mode
    commitments: Commitments = Commitments()

    @field_validator("pathways")
    @classmethod
    def _distinct(cls, value: list[Pathway]) -> list[Pathway]:
        if len(set(value)) != len(value):
            raise ValueError("each pathway is named once")
        return value


@dataclass(frozen=True)
class PairingCommands:
    store: EventStore
    max_active_enterprises: int

    async def register_enterprise(self, ctx: CommandContext, cmd: RegisterEnterprise) -> uuid.UUID:
        enterprise_id = enterprise_id_for(cmd.credit_code)
        stream = enterprise_stream(enterprise_id)
        async with self.store.session() as s:
            enterprise = await load(s, stream, Enterprise)
            events = enterprise.register(**cmd.model_dump())
            save(s, ctx, stream, enterprise, county_region(cmd.county_code), events)
        return enterprise_id

    async def register_village(self, ctx: CommandContext, cmd: RegisterVillage) -> str:
        stream = village_stream(cmd.village_code)
        async with self.store.session() as s:
            village = await load(s, stream, Village)
            events = village.register(**cmd.model_dump())
            save(s, ctx, stream, village, cmd.village_code, events)
        return cmd.village_code

    async def sign_agreement(
        self, ctx: CommandContext, cmd: SignAgreement, agreement_id: uuid.UUID
    ) -> uuid.UUID:
        stream = village_stream(cmd.village_code)
        async with self.store.session() as s:
            streams = await s.load_many([stream, enterprise_stream(cmd.enterprise_id)])
            if not streams[enterprise_stream(cmd.enterprise_id)]:
                raise NotFound(
                    "enterprise_must_exist",
                    "no enterprise with this id is registered",
                    "enterprise_id",
                )
            village = rebuild(Village, streams[stream])
            events = village.sign_agreement(
                agreement_id=agreement_id,
                max_active_enterprises=self.max_active_enterprises,
                **cmd.model_dump(exclude={"village_code"}),
            )
            save(s, ctx, stream, village, cmd.village_code, events)
        return agreement_id
