"""Cooperatives and 双绑 bindings: each named rule, broken once; events returned, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.pairing.cooperatives.commands import (
    EndBinding,
    EstablishBinding,
    RegisterCooperative,
    enterprise_party,
    household_party,
)
from services.pairing.cooperatives.domain import (
    Cooperative,
    cooperative_id_for,
    cooperative_stream,
    served_village,
)
from services.pairing.domain import Enterprise, enterprise_id_for
from shared.domain import DomainError, InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    BindingEnded,
    BindingEstablished,
    BindingForm,
    BindingKind,
    CooperativeRegistered,
    EnterpriseKind,
    EnterpriseRegistered,
    LeadingLevel,
)
from shared.events.envelope import EventData
from tests.support.pairing import credit_code, village_code

CODE = credit_code(501)
VILLAGE = village_code(1)
START = date(2026, 3, 1)


def registered(code: str = CODE) -> Cooperative:
    cooperative = Cooperative()
    for event in cooperative.register(
        code=code, name="羊产业合作社", village_code=VILLAGE, leading_industry="肉羊"
    ):
        cooperative.apply(event)
    return cooperative


def enterprise(leading_level: LeadingLevel | None, n: int = 7) -> Enterprise:
    return Enterprise.from_history(
        [
            EnterpriseRegistered(
                enterprise_id=enterprise_id_for(credit_code(n)),
                name=f"企业{n}",
                credit_code=credit_code(n),
                kind=EnterpriseKind.leading_agricultural,
                county_code="150602",
                leading_level=leading_level,
            )
        ]
    )


def bind_household(cooperative: Cooperative, household_id: uuid.UUID, **overrides: Any) -> list[EventData]:
    args: dict[str, Any] = {
        "binding_id": uuid.uuid4(),
        "household_id": household_id,
        "household_village_code": village_code(2),
        "form": BindingForm.equity,
        "started_on": START,
        "ends_on": None,
        **overrides,
    }
    return cooperative.bind_household(**args)


def bind_enterprise(cooperative: Cooperative, party: Enterprise, **overrides: Any) -> list[EventData]:
    args: dict[str, Any] = {
        "binding_id": uuid.uuid4(),
        "enterprise_id": enterprise_id_for(credit_code(7)),
        "enterprise": party,
        "form": BindingForm.order,
        "started_on": START,
        "ends_on": None,
        **overrides,
    }
    return cooperative.bind_enterprise(**args)


def applied(cooperative: Cooperative, events: list[EventData]) -> BindingEstablished:
    for event in events:
        cooperative.apply(event)
    established = events[0]
    assert isinstance(established, BindingEstablished)
    return established


def refused(error: pytest.ExceptionInfo[DomainError], cls: type[DomainError], rule: str, field: str) -> None:
    assert isinstance(error.value, cls)
    assert (error.value.rule, error.value.field) == (rule, field)
    assert error.value.message


# -- registration ------------------------------------------------------------------------------


def test_registering_returns_one_event_and_changes_nothing() -> None:
    cooperative = Cooperative()
    [event] = cooperative.register(code=CODE, name="合作社", village_code=VILLAGE, leading_industry="肉羊")
    assert event == CooperativeRegistered(
        cooperative_id=cooperative_id_for(CODE),
        code=CODE,
        name="合作社",
        village_code=VILLAGE,
        leading_industry="肉羊",
    )
    assert cooperative.registered is None and cooperative.version == 0


def test_a_cooperative_is_registered_once() -> None:
    cooperative = registered()
    with pytest.raises(StateConflict) as error:
        cooperative.register(code=CODE, name="again", village_code=VILLAGE, leading_industry="肉羊")
    refused(error, StateConflict, "cooperative_registered_once", "code")


def test_cooperative_id_follows_from_the_credit_code_in_its_own_namespace() -> None:
    assert cooperative_id_for(CODE) == cooperative_id_for(CODE)
    assert cooperative_id_for(CODE) != cooperative_id_for(credit_code(502))
    # The same code as an enterprise and as a cooperative names two different streams.
    assert cooperative_id_for(CODE) != enterprise_id_for(CODE)
    assert cooperative_stream(cooperative_id_for(CODE)) == f"cooperative-{cooperative_id_for(CODE)}"


def test_a_village_code_must_be_a_village_of_a_served_county() -> None:
    counties = frozenset({"150602"})
    assert served_village(VILLAGE, counties, "village_code") == VILLAGE
    for bad in ("15060210000", "150602000000", "150602100000", village_code(1, county="150603")):
        with pytest.raises(InvalidInput) as error:
            served_village(bad, counties, "household_village_code")
        refused(error, InvalidInput, "village_of_this_deployment", "household_village_code")
    with pytest.raises(InvalidInput) as error:
        served_village(village_code(1, county="150603"), counties, "village_code")
    assert "150603" in error.value.message


# -- household bindings ------------------------------------------------------------------------


def test_binding_a_household_returns_the_event_and_changes_nothing() -> None:
    cooperative = registered()
    household, binding_id = uuid.uuid4(), uuid.uuid4()
    [event] = bind_household(cooperative, household, binding_id=binding_id, ends_on=date(2028, 12, 31))
    assert event == BindingEstablished(
        binding_id=binding_id,
        kind=BindingKind.cooperative_household,
        cooperative_id=cooperative_id_for(CODE),
        household_id=household,
        household_village_code=village_code(2),
        form=BindingForm.equity,
        started_on=START,
        ends_on=date(2028, 12, 31),
    )
    assert cooperative.bindings == {} and cooperative.version == 1
    applied(cooperative, [event])
    assert cooperative.bindings[binding_id].active and cooperative.version == 2


def test_an_unregistered_cooperative_binds_nothing() -> None:
    for attempt in (
        lambda: bind_household(Cooperative(), uuid.uuid4()),
        lambda: bind_enterprise(Cooperative(), enterprise(LeadingLevel.county)),
        lambda: Cooperative().end_binding(binding_id=uuid.uuid4(), ended_on=START, reason="x"),
    ):
        with pytest.raises(NotFound) as error:
            attempt()
        refused(error, NotFound, "cooperative_must_exist", "cooperative_id")


def test_one_active_binding_per_household() -> None:
    cooperative = registered()
    household = uuid.uuid4()
    applied(cooperative, bind_household(cooperative, household))
    with pytest.raises(StateConflict) as error:
        bind_household(cooperative, household, form=BindingForm.labour)
    refused(error, StateConflict, "one_active_binding_per_household", "household_id")
    # Another household is welcome.
    assert len(bind_household(cooperative, uuid.uuid4())) == 1


def test_a_household_may_be_bound_to_several_cooperatives() -> None:
    household = uuid.uuid4()
    first, second = registered(), registered(credit_code(502))
    applied(first, bind_household(first, household))
    established = applied(second, bind_household(second, household))
    assert established.cooperative_id == cooperative_id_for(credit_code(502))


def test_the_planned_end_is_not_before_the_start() -> None:
    cooperative = registered()
    for attempt in (
        lambda: bind_household(cooperative, uuid.uuid4(), ends_on=date(2026, 2, 28)),
        lambda: bind_enterprise(cooperative, enterprise(LeadingLevel.city), ends_on=date(2026, 2, 28)),
    ):
        with pytest.raises(InvalidInput) as error:
            attempt()
        refused(error, InvalidInput, "planned_end_after_start", "ends_on")
    # Ending on the day it starts is allowed.
    assert len(bind_household(cooperative, uuid.uuid4(), ends_on=START)) == 1


# -- enterprise bindings -----------------------------------------------------------------------


def test_a_leading_enterprise_binds_the_cooperative() -> None:
    cooperative = registered()
    binding_id = uuid.uuid4()
    [event] = bind_enterprise(cooperative, enterprise(LeadingLevel.provincial), binding_id=binding_id)
    assert event == BindingEstablished(
        binding_id=binding_id,
        kind=BindingKind.enterprise_cooperative,
        cooperative_id=cooperative_id_for(CODE),
        enterprise_id=enterprise_id_for(credit_code(7)),
        form=BindingForm.order,
        started_on=START,
    )


def test_the_enterprise_must_be_registered() -> None:
    with pytest.raises(NotFound) as error:
        bind_enterprise(registered(), Enterprise())
    refused(error, NotFound, "enterprise_must_exist", "enterprise_id")


def test_the_enterprise_must_be_a_leading_enterprise() -> None:
    with pytest.raises(InvalidInput) as error:
        bind_enterprise(registered(), enterprise(None))
    refused(error, InvalidInput, "enterprise_must_be_leading", "enterprise_id")


def test_one_active_binding_per_enterprise() -> None:
    cooperative = registered()
    leading = enterprise(LeadingLevel.national)
    applied(cooperative, bind_enterprise(cooperative, leading))
    with pytest.raises(StateConflict) as error:
        bind_enterprise(cooperative, leading, form=BindingForm.custody)
    refused(error, StateConflict, "one_active_binding_per_enterprise", "enterprise_id")
    # An enterprise's binding does not count against households, nor the other way round.
    assert len(bind_household(cooperative, uuid.uuid4())) == 1


# -- ending ------------------------------------------------------------------------------------


def test_ending_a_binding_and_binding_again() -> None:
    cooperative = registered()
    household = uuid.uuid4()
    first = applied(cooperative, bind_household(cooperative, household))
    [ended] = cooperative.end_binding(binding_id=first.binding_id, ended_on=START, reason="退社")
    assert ended == BindingEnded(
        binding_id=first.binding_id, cooperative_id=cooperative_id_for(CODE), ended_on=START, reason="退社"
    )
    assert cooperative.bindings[first.binding_id].active
    cooperative.apply(ended)
    assert not cooperative.bindings[first.binding_id].active
    second = applied(cooperative, bind_household(cooperative, household, started_on=date(2026, 4, 1)))
    assert second.binding_id != first.binding_id
    assert [b.active for b in cooperative.bindings.values()] == [False, True]


def test_an_enterprise_binding_ends_and_may_be_made_again() -> None:
    cooperative = registered()
    leading = enterprise(LeadingLevel.county)
    first = applied(cooperative, bind_enterprise(cooperative, leading))
    for event in cooperative.end_binding(binding_id=first.binding_id, ended_on=START, reason="合同到期"):
        cooperative.apply(event)
    assert len(bind_enterprise(cooperative, leading)) == 1


def test_a_binding_ends_once() -> None:
    cooperative = registered()
    binding = applied(cooperative, bind_household(cooperative, uuid.uuid4()))
    for event in cooperative.end_binding(binding_id=binding.binding_id, ended_on=START, reason="退社"):
        cooperative.apply(event)
    with pytest.raises(StateConflict) as error:
        cooperative.end_binding(binding_id=binding.binding_id, ended_on=date(2026, 5, 1), reason="again")
    refused(error, StateConflict, "only_active_bindings_end", "binding_id")
    assert str(START) in error.value.message


def test_a_binding_does_not_end_before_its_start() -> None:
    cooperative = registered()
    binding = applied(cooperative, bind_household(cooperative, uuid.uuid4()))
    with pytest.raises(InvalidInput) as error:
        cooperative.end_binding(binding_id=binding.binding_id, ended_on=date(2026, 2, 28), reason="x")
    refused(error, InvalidInput, "ended_after_start", "ended_on")


def test_only_an_existing_binding_ends() -> None:
    with pytest.raises(NotFound) as error:
        registered().end_binding(binding_id=uuid.uuid4(), ended_on=START, reason="x")
    refused(error, NotFound, "binding_must_exist", "binding_id")


# -- commands (input validation before the domain) ---------------------------------------------


def cooperative_body(**overrides: Any) -> dict[str, Any]:
    return {"code": CODE, "name": "合作社", "village_code": VILLAGE, "leading_industry": "肉羊", **overrides}


def test_register_cooperative_checks_the_credit_code_and_forbids_extras() -> None:
    assert RegisterCooperative.model_validate(cooperative_body(name="  合作社 ")).name == "合作社"
    with pytest.raises(ValidationError) as invalid:
        RegisterCooperative.model_validate(cooperative_body(code=CODE[:17] + "0", surprise=1))
    errors = {e["loc"][0]: e for e in invalid.value.errors()}
    assert set(errors) == {"code", "surprise"}
    assert "check character" in errors["code"]["msg"]
    assert errors["surprise"]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError):
        RegisterCooperative.model_validate(cooperative_body(leading_industry=""))


def binding_body(kind: str, **overrides: Any) -> dict[str, Any]:
    party: dict[str, Any] = (
        {"household_id": str(uuid.uuid4()), "household_village_code": VILLAGE}
        if kind == "cooperative_household"
        else {"enterprise_id": str(uuid.uuid4())}
    )
    return {"kind": kind, **party, "form": "equity", "started_on": "2026-03-01", **overrides}


def test_a_binding_names_its_party() -> None:
    household = EstablishBinding.model_validate(binding_body("cooperative_household"))
    assert household_party(household) == (household.household_id, VILLAGE)
    firm = EstablishBinding.model_validate(binding_body("enterprise_cooperative"))
    assert enterprise_party(firm) == firm.enterprise_id

    cases: list[tuple[Callable[[EstablishBinding], object], dict[str, Any], str]] = [
        (household_party, binding_body("cooperative_household", household_id=None), "household_id"),
        (
            household_party,
            binding_body("cooperative_household", household_village_code=None),
            "household_village_code",
        ),
        (
            household_party,
            binding_body("cooperative_household", enterprise_id=str(uuid.uuid4())),
            "enterprise_id",
        ),
        (enterprise_party, binding_body("enterprise_cooperative", enterprise_id=None), "enterprise_id"),
        (
            enterprise_party,
            binding_body("enterprise_cooperative", household_id=str(uuid.uuid4())),
            "household_id",
        ),
        (
            enterprise_party,
            binding_body("enterprise_cooperative", household_village_code=VILLAGE),
            "household_village_code",
        ),
    ]
    for party, body, field in cases:
        with pytest.raises(InvalidInput) as error:
            party(EstablishBinding.model_validate(body))
        refused(error, InvalidInput, "binding_names_its_party", field)


def test_binding_commands_validate_kind_form_and_dates() -> None:
    bad = {
        "kind": {**binding_body("cooperative_household"), "kind": "sibling"},
        "form": binding_body("cooperative_household", form="friendship"),
        "started_on": binding_body("cooperative_household", started_on="soon"),
        "household_id": binding_body("cooperative_household", household_id="not-a-uuid"),
    }
    for field, body in bad.items():
        with pytest.raises(ValidationError) as invalid:
            EstablishBinding.model_validate(body)
        assert [e["loc"][0] for e in invalid.value.errors()] == [field]
    EndBinding.model_validate({"ended_on": "2026-05-01", "reason": "退社"})
    with pytest.raises(ValidationError) as invalid:
        EndBinding.model_validate({"ended_on": "2026-05-01", "reason": " "})
    assert invalid.value.errors()[0]["loc"] == ("reason",)
