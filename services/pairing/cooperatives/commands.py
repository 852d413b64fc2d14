"""Cooperative commands: what a caller asks for, validated, and the handlers that carry them out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.pairing.cooperatives.domain import (
    Binding,
    Cooperative,
    cooperative_id_for,
    cooperative_stream,
    served_village,
)
from services.pairing.credit_code import credit_code_problem
from services.pairing.domain import Enterprise, enterprise_stream
from shared.domain import InvalidInput
from shared.events.catalogue.pairing import BindingForm, BindingKind
from shared.eventstore.context import CommandContext
from shared.eventstore.repository import load, rebuild, save
from shared.eventstore.store import EventStore

Guard = Callable[[str, str], None]
"""Refuses (403) unless the caller's region covers a region code; the second argument names the field."""


def _valid_credit_code(value: str) -> str:
    problem = credit_code_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterCooperative(_Command):
    code: Annotated[str, AfterValidator(_valid_credit_code)] = Field(
        description="Its unified social credit code (统一社会信用代码), 18 characters"
    )
    name: str = Field(min_length=1, max_length=200)
    village_code: str = Field(description="12-digit code of its village, in a county this deployment serves")
    leading_industry: str = Field(min_length=1, max_length=100, description="主导产业, e.g. 肉羊养殖")


class EstablishBinding(_Command):
    """A household binding names ``household_id`` and ``household_village_code``; an enterprise
    binding names ``enterprise_id`` (a registered leading enterprise) and neither household field."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "cooperative_household",
                    "household_id": "0190f5a2-6c1e-7d3b-9a41-5e2f8c7b6a10",
                    "household_village_code": "150602100001",
                    "form": "equity",
                    "started_on": "2026-03-01",
                    "ends_on": "2028-12-31",
                },
                {
                    "kind": "enterprise_cooperative",
                    "enterprise_id": "5b0e3c4a-2f71-5d86-9e10-7a3b4c5d6e7f",
                    "form": "order",
                    "started_on": "2026-03-01",
                },
            ]
        }
    )

    kind: BindingKind
    household_id: uuid.UUID | None = Field(default=None, description="The monitoring service's household id")
    household_village_code: str | None = Field(default=None, description="12-digit code of its village")
    enterprise_id: uuid.UUID | None = None
    form: BindingForm
    started_on: date
    ends_on: date | None = Field(default=None, description="Planned end, on or after started_on")


class EndBinding(_Command):
    ended_on: date = Field(description="On or after the binding's start")
    reason: str = Field(min_length=1, max_length=500)


def household_party(cmd: EstablishBinding) -> tuple[uuid.UUID, str]:
    """The household a cooperative_household binding names; refused when it names another party."""
    _names_no(cmd, "enterprise_id")
    if cmd.household_id is None:
        raise _missing(cmd, "household_id")
    if cmd.household_village_code is None:
        raise _missing(cmd, "household_village_code")
    return cmd.household_id, cmd.household_village_code


def enterprise_party(cmd: EstablishBinding) -> uuid.UUID:
    """The enterprise an enterprise_cooperative binding names; refused when it names a household."""
    _names_no(cmd, "household_id")
    _names_no(cmd, "household_village_code")
    if cmd.enterprise_id is None:
        raise _missing(cmd, "enterprise_id")
    return cmd.enterprise_id


def _missing(cmd: EstablishBinding, field: str) -> InvalidInput:
    return InvalidInput("binding_names_its_party", f"a {cmd.kind.value} binding names its {field}", field)


def _names_no(cmd: EstablishBinding, field: str) -> None:
    if getattr(cmd, field) is not None:
        raise InvalidInput(
            "binding_names_its_party", f"a {cmd.kind.value} binding does not name a {field}", field
        )


@dataclass(frozen=True)
class CooperativeCommands:
    store: EventStore
    counties: frozenset[str]

    def check_village(self, code: str, field: str) -> str:
        return served_village(code, self.counties, field)

    async def register(self, ctx: CommandContext, cmd: RegisterCooperative) -> uuid.UUID:
        """The caller has checked the village code and that its region covers it."""
        cooperative_id = cooperative_id_for(cmd.code)
        stream = cooperative_stream(cooperative_id)
        async with self.store.session() as s:
            cooperative = await load(s, stream, Cooperative)
            events = cooperative.register(**cmd.model_dump())
            save(s, ctx, stream, cooperative, cmd.village_code, events)
        return cooperative_id

    async def establish_binding(
        self,
        ctx: CommandContext,
        cooperative_id: uuid.UUID,
        cmd: EstablishBinding,
        binding_id: uuid.UUID,
        guard: Guard,
    ) -> uuid.UUID:
        stream = cooperative_stream(cooperative_id)
        if cmd.kind is BindingKind.cooperative_household:
            await self._bind_household(ctx, stream, cmd, binding_id, guard)
        else:
            await self._bind_enterprise(ctx, stream, cmd, binding_id, guard)
        return binding_id

    async def _bind_household(
        self, ctx: CommandContext, stream: str, cmd: EstablishBinding, binding_id: uuid.UUID, guard: Guard
    ) -> None:
        household_id, household_village = household_party(cmd)
        self.check_village(household_village, "household_village_code")
        guard(household_village, "household_village_code")
        async with self.store.session() as s:
            cooperative = await load(s, stream, Cooperative)
            village_code = cooperative.must_exist().village_code
            guard(village_code, "cooperative_id")
            events = cooperative.bind_household(
                binding_id=binding_id,
                household_id=household_id,
                household_village_code=household_village,
                form=cmd.form,
                started_on=cmd.started_on,
                ends_on=cmd.ends_on,
            )
            save(s, ctx, stream, cooperative, village_code, events)

    async def _bind_enterprise(
        self, ctx: CommandContext, stream: str, cmd: EstablishBinding, binding_id: uuid.UUID, guard: Guard
    ) -> None:
        enterprise_id = enterprise_party(cmd)
        enterprise_events = enterprise_stream(enterprise_id)
        async with self.store.session() as s:
            # One read for both: the cooperative decides, the enterprise only has to qualify.
            streams = await s.load_many([stream, enterprise_events])
            cooperative = rebuild(Cooperative, streams[stream])
            village_code = cooperative.must_exist().village_code
            guard(village_code, "cooperative_id")
            events = cooperative.bind_enterprise(
                binding_id=binding_id,
                enterprise_id=enterprise_id,
                enterprise=rebuild(Enterprise, streams[enterprise_events]),
                form=cmd.form,
                started_on=cmd.started_on,
                ends_on=cmd.ends_on,
            )
            save(s, ctx, stream, cooperative, village_code, events)

    async def end_binding(
        self,
        ctx: CommandContext,
        cooperative_id: uuid.UUID,
        binding_id: uuid.UUID,
        cmd: EndBinding,
        guard: Guard,
    ) -> Binding:
        """The binding as it stands once ended."""
        stream = cooperative_stream(cooperative_id)
        async with self.store.session() as s:
            cooperative = await load(s, stream, Cooperative)
            village_code = cooperative.must_exist().village_code
            guard(village_code, "cooperative_id")
            binding = cooperative.binding(binding_id)
            if binding.established.household_village_code is not None:
                guard(binding.established.household_village_code, "binding_id")
            events = cooperative.end_binding(binding_id=binding_id, **cmd.model_dump())
            save(s, ctx, stream, cooperative, village_code, events)
        for event in events:
            cooperative.apply(event)
        return cooperative.bindings[binding_id]

    async def state(self, cooperative_id: uuid.UUID) -> Cooperative:
        """The cooperative rebuilt from its stream; refused (404) when it is not registered."""
        cooperative = rebuild(Cooperative, await self.store.load(cooperative_stream(cooperative_id)))
        cooperative.must_exist()
        return cooperative
