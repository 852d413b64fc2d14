"""Cooperatives and their 双绑 bindings: a pure aggregate that checks named rules and returns events.

双绑 ("double binding"): a farmers' cooperative binds households, and a leading enterprise (龙头企业)
binds the cooperative, so that each household is linked to a market through both. Every binding
lives in the cooperative's stream: the cooperative is the boundary that keeps "one active binding
per household (or enterprise)" true under concurrency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.pairing.domain import Enterprise
from shared.aggregate import Aggregate
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    BindingEnded,
    BindingEstablished,
    BindingForm,
    BindingKind,
    CooperativeRegistered,
)
from shared.events.envelope import EventData
from shared.regions import village_code_problem

_COOPERATIVE_NAMESPACE = uuid.UUID("3d0c8f1e-7b52-5a94-b6e1-2f9a0c4d8e73")


def cooperative_id_for(code: str) -> uuid.UUID:
    """A cooperative's id follows from its credit code, so registering it twice is a conflict."""
    return uuid.uuid5(_COOPERATIVE_NAMESPACE, code)


def cooperative_stream(cooperative_id: uuid.UUID) -> str:
    return f"cooperative-{cooperative_id}"


def served_village(code: str, counties: frozenset[str], field: str) -> str:
    """``code`` when it is a village of one of the deployment's counties; refused otherwise."""
    problem = village_code_problem(code, counties)
    if problem:
        raise InvalidInput("village_of_this_deployment", problem, field=field)
    return code


@dataclass
class Binding:
    """One binding as its cooperative sees it; active until a ``pairing.binding_ended``."""

    established: BindingEstablished
    ended: BindingEnded | None = None

    @property
    def active(self) -> bool:
        return self.ended is None


class Cooperative(Aggregate):
    """A farmers' professional cooperative (农民专业合作社) and the bindings it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.registered: CooperativeRegistered | None = None
        self.bindings: dict[uuid.UUID, Binding] = {}  # in the order established

    def when(self, event: EventData) -> None:
        if isinstance(event, CooperativeRegistered):
            self.registered = event
        elif isinstance(event, BindingEstablished):
            self.bindings[event.binding_id] = Binding(established=event)
        elif isinstance(event, BindingEnded):
            self.bindings[event.binding_id].ended = event

    def register(self, *, code: str, name: str, village_code: str, leading_industry: str) -> list[EventData]:
        if self.registered is not None:
            raise StateConflict(
                "cooperative_registered_once",
                f"a cooperative with credit code {code} is already registered",
                field="code",
            )
        return [
            CooperativeRegistered(
                cooperative_id=cooperative_id_for(code),
                code=code,
                name=name,
                village_code=village_code,
                leading_industry=leading_industry,
            )
        ]

    def bind_household(
        self,
        *,
        binding_id: uuid.UUID,
        household_id: uuid.UUID,
        household_village_code: str,
        form: BindingForm,
        started_on: date,
        ends_on: date | None,
    ) -> list[EventData]:
        """The cooperative binds a household (合作社绑定农户); the household may hold bindings with
        other cooperatives, but one active binding with this one."""
        cooperative = self.must_exist()
        _planned_end_after_start(started_on, ends_on)
        if any(b.active and b.established.household_id == household_id for b in self.bindings.values()):
            raise StateConflict(
                "one_active_binding_per_household",
                "this household already has an active binding with this cooperative; end it first",
                field="household_id",
            )
        return [
            BindingEstablished(
                binding_id=binding_id,
                kind=BindingKind.cooperative_household,
                cooperative_id=cooperative.cooperative_id,
                household_id=household_id,
                household_village_code=household_village_code,
                form=form,
                started_on=started_on,
                ends_on=ends_on,
            )
        ]

    def bind_enterprise(
        self,
        *,
        binding_id: uuid.UUID,
        enterprise_id: uuid.UUID,
        enterprise: Enterprise,
        form: BindingForm,
        started_on: date,
        ends_on: date | None,
    ) -> list[EventData]:
        """A leading enterprise binds the cooperative (龙头企业绑定合作社)."""
        cooperative = self.must_exist()
        _planned_end_after_start(started_on, ends_on)
        if enterprise.registered is None:
            raise NotFound(
                "enterprise_must_exist", f"no enterprise {enterprise_id} is registered", field="enterprise_id"
            )
        if enterprise.registered.leading_level is None:
            raise InvalidInput(
                "enterprise_must_be_leading",
                f"{enterprise.registered.name} is not a recognised leading enterprise (龙头企业); "
                "only leading enterprises bind cooperatives",
                field="enterprise_id",
            )
        if any(b.active and b.established.enterprise_id == enterprise_id for b in self.bindings.values()):
            raise StateConflict(
                "one_active_binding_per_enterprise",
                "this enterprise already has an active binding with this cooperative; end it first",
                field="enterprise_id",
            )
        return [
            BindingEstablished(
                binding_id=binding_id,
                kind=BindingKind.enterprise_cooperative,
                cooperative_id=cooperative.cooperative_id,
                enterprise_id=enterprise_id,
                form=form,
                started_on=started_on,
                ends_on=ends_on,
            )
        ]

    def end_binding(self, *, binding_id: uuid.UUID, ended_on: date, reason: str) -> list[EventData]:
        cooperative = self.must_exist()
        binding = self.binding(binding_id)
        if not binding.active:
            assert binding.ended is not None
            raise StateConflict(
                "only_active_bindings_end",
                f"the binding already ended on {binding.ended.ended_on}",
                field="binding_id",
            )
        started_on = binding.established.started_on
        if ended_on < started_on:
            raise InvalidInput(
                "ended_after_start",
                f"a binding started on {started_on} cannot end before it",
                field="ended_on",
            )
        return [
            BindingEnded(
                binding_id=binding_id,
                cooperative_id=cooperative.cooperative_id,
                ended_on=ended_on,
                reason=reason,
            )
        ]

    def must_exist(self) -> CooperativeRegistered:
        if self.registered is None:
            raise NotFound("cooperative_must_exist", "no cooperative with this id", field="cooperative_id")
        return self.registered

    def binding(self, binding_id: uuid.UUID) -> Binding:
        self.must_exist()
        try:
            return self.bindings[binding_id]
        except KeyError:
            raise NotFound(
                "binding_must_exist", f"no binding {binding_id} in this cooperative", field="binding_id"
            ) from None


def _planned_end_after_start(started_on: date, ends_on: date | None) -> None:
    if ends_on is not None and ends_on < started_on:
        raise InvalidInput(
            "planned_end_after_start",
            f"a binding starting on {started_on} cannot be planned to end before it",
            field="ends_on",
        )
