"""Pairing commands: what a caller asks for, validated, and the handlers that carry them out."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.pairing.credit_code import credit_code_problem
from services.pairing.domain import (
    Enterprise,
    RelayTerms,
    Village,
    enterprise_id_for,
    enterprise_stream,
    village_stream,
)
from shared.domain import InvalidInput, NotFound
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
from shared.eventstore.store import EventStore, EventStoreSession
from shared.regions import CountyCode, DivisionCode, county_region, village_code_problem


def _valid_credit_code(value: str) -> str:
    problem = credit_code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


CreditCode = Annotated[str, AfterValidator(_valid_credit_code)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _distinct_pathways(value: list[Pathway] | None) -> list[Pathway] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each pathway is named once")
    return value


class RegisterEnterprise(_Command):
    name: Name
    credit_code: CreditCode
    kind: EnterpriseKind
    county_code: CountyCode
    contact_name: str | None = Field(default=None, max_length=50)
    contact_phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")
    leading_level: LeadingLevel | None = None


class Income(_Command):
    """The village collective economy's income (村集体经济收入) in one year."""

    year: int = Field(ge=2000, le=2100)
    income_yuan: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


class RegisterVillage(_Command):
    village_code: DivisionCode
    name: Name
    category: VillageCategory
    former_poverty_village: bool = False
    collective_incomes: list[Income] = Field(default_factory=list, description="By year, each year once")

    @field_validator("collective_incomes")
    @classmethod
    def _years_once(cls, value: list[Income]) -> list[Income]:
        if len({income.year for income in value}) != len(value):
            raise ValueError("each year is given once")
        return value


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
    def _distinct(cls, value: list[Pathway] | None) -> list[Pathway] | None:
        return _distinct_pathways(value)


class RelayAgreement(_Command):
    """Another enterprise takes over a terminated agreement (接力帮扶). Pathways, mode and
    commitments left out are taken over from the terminated agreement."""

    enterprise_id: uuid.UUID
    signed_on: date
    term_years: int = Field(ge=1, le=10)
    document_ref: str = Field(min_length=1, max_length=200)
    pathways: list[Pathway] | None = Field(default=None, min_length=1)
    mode: Mode | None = None
    commitments: Commitments | None = None

    @field_validator("pathways")
    @classmethod
    def _distinct(cls, value: list[Pathway] | None) -> list[Pathway] | None:
        return _distinct_pathways(value)

    def terms(self, agreement_id: uuid.UUID) -> RelayTerms:
        return RelayTerms(agreement_id=agreement_id, **self.model_dump(exclude_none=True))


class TerminateAgreement(_Command):
    terminated_on: date
    reason: str = Field(min_length=1, max_length=500)
    relay: RelayAgreement | None = Field(default=None, description="A relay signed in the same step")


@dataclass(frozen=True)
class PairingCommands:
    store: EventStore
    max_active_enterprises: int
    counties: frozenset[str] = frozenset()

    async def register_enterprise(self, ctx: CommandContext, cmd: RegisterEnterprise) -> uuid.UUID:
        enterprise_id = enterprise_id_for(cmd.credit_code)
        stream = enterprise_stream(enterprise_id)
        async with self.store.session() as s:
            enterprise = await load(s, stream, Enterprise)
            events = enterprise.register(**cmd.model_dump())
            save(s, ctx, stream, enterprise, county_region(cmd.county_code), events)
        return enterprise_id

    async def register_village(self, ctx: CommandContext, cmd: RegisterVillage) -> str:
        problem = village_code_problem(cmd.village_code, self.counties)
        if problem:
            raise InvalidInput("village_code_of_this_deployment", problem, "village_code")
        stream = village_stream(cmd.village_code)
        async with self.store.session() as s:
            village = await load(s, stream, Village)
            events = village.register(
                **cmd.model_dump(exclude={"collective_incomes"}),
                incomes={income.year: income.income_yuan for income in cmd.collective_incomes},
            )
            save(s, ctx, stream, village, cmd.village_code, events)
        return cmd.village_code

    async def record_income(self, ctx: CommandContext, village_code: str, cmd: Income) -> bool:
        """True when it changed the record (the same figure again changes nothing)."""
        stream = village_stream(village_code)
        async with self.store.session() as s:
            village = await load(s, stream, Village)
            events = village.record_income(year=cmd.year, income_yuan=cmd.income_yuan)
            save(s, ctx, stream, village, village_code, events)
        return bool(events)

    async def terminate_agreement(
        self,
        ctx: CommandContext,
        village_code: str,
        agreement_id: uuid.UUID,
        cmd: TerminateAgreement,
        relay_id: uuid.UUID,
    ) -> uuid.UUID | None:
        """End the agreement, with its relay when the command carries one; the relay's id or None."""
        stream = village_stream(village_code)
        async with self.store.session() as s:
            relay = cmd.relay
            village = await self._village_with_enterprise(s, stream, relay.enterprise_id if relay else None)
            events = village.terminate_agreement(
                agreement_id=agreement_id,
                terminated_on=cmd.terminated_on,
                reason=cmd.reason,
                relay=relay.terms(relay_id) if relay else None,
                max_active_enterprises=self.max_active_enterprises,
            )
            save(s, ctx, stream, village, village_code, events)
        return relay_id if relay else None

    async def relay_agreement(
        self,
        ctx: CommandContext,
        village_code: str,
        relayed_id: uuid.UUID,
        cmd: RelayAgreement,
        agreement_id: uuid.UUID,
    ) -> uuid.UUID:
        stream = village_stream(village_code)
        async with self.store.session() as s:
            village = await self._village_with_enterprise(s, stream, cmd.enterprise_id)
            events = village.relay_agreement(
                cmd.terms(agreement_id),
                relayed_id=relayed_id,
                max_active_enterprises=self.max_active_enterprises,
            )
            save(s, ctx, stream, village, village_code, events)
        return agreement_id

    async def sign_agreement(
        self, ctx: CommandContext, cmd: SignAgreement, agreement_id: uuid.UUID
    ) -> uuid.UUID:
        stream = village_stream(cmd.village_code)
        async with self.store.session() as s:
            village = await self._village_with_enterprise(s, stream, cmd.enterprise_id)
            events = village.sign_agreement(
                agreement_id=agreement_id,
                max_active_enterprises=self.max_active_enterprises,
                **cmd.model_dump(exclude={"village_code"}),
            )
            save(s, ctx, stream, village, cmd.village_code, events)
        return agreement_id

    @staticmethod
    async def _village_with_enterprise(
        s: EventStoreSession, stream: str, enterprise_id: uuid.UUID | None
    ) -> Village:
        """The village, after checking in the same query that ``enterprise_id`` is registered."""
        if enterprise_id is None:
            return await load(s, stream, Village)
        streams = await s.load_many([stream, enterprise_stream(enterprise_id)])
        if not streams[enterprise_stream(enterprise_id)]:
            raise NotFound(
                "enterprise_must_exist", "no enterprise with this id is registered", "enterprise_id"
            )
        return rebuild(Village, streams[stream])
