"""Termination, relay (接力帮扶) and collective income on the village aggregate: pure rules."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.pairing.domain import AgreementStatus, RelayTerms, Village
from shared.domain import InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    AgreementSigned,
    AgreementTerminated,
    Commitments,
    Mode,
    Pathway,
    VillageCategory,
    VillageIncomeRecorded,
    VillageRegistered,
)
from tests.support.pairing import village_code

VILLAGE = village_code(1)
OLD_COMMITMENTS = Commitments(investment_yuan=Decimal("800000.00"), jobs=12)


def applied(village: Village, events: list) -> Village:
    for event in events:
        village.apply(event)
    return village


def village_with_agreement() -> tuple[Village, uuid.UUID, uuid.UUID]:
    village = Village.from_history(
        [VillageRegistered(village_code=VILLAGE, name="村1", category=VillageCategory.key_support)]
    )
    agreement, enterprise = uuid.uuid4(), uuid.uuid4()
    applied(
        village,
        village.sign_agreement(
            agreement_id=agreement,
            enterprise_id=enterprise,
            signed_on=date(2026, 3, 1),
            term_years=3,
            document_ref="XC-1",
            pathways=[Pathway.industry, Pathway.employment],
            mode=Mode.leading_enterprise,
            commitments=OLD_COMMITMENTS,
            max_active_enterprises=5,
        ),
    )
    return village, agreement, enterprise


def terms(enterprise: uuid.UUID | None = None, signed_on: date = date(2026, 10, 1)) -> RelayTerms:
    return RelayTerms(
        agreement_id=uuid.uuid4(),
        enterprise_id=enterprise or uuid.uuid4(),
        signed_on=signed_on,
        term_years=2,
        document_ref="XC-RELAY",
    )


def terminate(village: Village, agreement: uuid.UUID, relay: RelayTerms | None = None) -> list:
    return village.terminate_agreement(
        agreement_id=agreement,
        terminated_on=date(2026, 9, 30),
        reason="企业经营困难",
        relay=relay,
        max_active_enterprises=5,
    )


def test_terminating_leaves_the_agreement_needing_a_relay_and_frees_its_place() -> None:
    village, agreement, enterprise = village_with_agreement()
    [event] = terminate(village, agreement)
    assert isinstance(event, AgreementTerminated)
    assert (event.agreement_id, event.enterprise_id, event.successor_agreement_id) == (
        agreement,
        enterprise,
        None,
    )
    applied(village, [event])
    assert village.agreements[agreement].status is AgreementStatus.needs_relay
    assert village.active == {}


def test_a_relay_takes_over_the_commitments_unless_it_states_its_own() -> None:
    village, agreement, _ = village_with_agreement()
    applied(village, terminate(village, agreement))
    relay = terms()
    [signed] = village.relay_agreement(relay, relayed_id=agreement, max_active_enterprises=5)
    assert isinstance(signed, AgreementSigned)
    assert signed.relays_agreement_id == agreement
    assert signed.commitments == OLD_COMMITMENTS
    assert signed.pathways == [Pathway.industry, Pathway.employment]
    assert signed.mode is Mode.leading_enterprise
    applied(village, [signed])
    assert village.agreements[agreement].status is AgreementStatus.relayed
    assert village.agreements[agreement].successor_id == relay.agreement_id

    own = RelayTerms(**{**relay.__dict__, "commitments": Commitments(jobs=3)})
    village2, agreement2, _ = village_with_agreement()
    applied(village2, terminate(village2, agreement2))
    [signed2] = village2.relay_agreement(own, relayed_id=agreement2, max_active_enterprises=5)
    assert signed2.commitments == Commitments(jobs=3)


def test_terminating_with_a_relay_names_the_successor_in_one_step() -> None:
    village, agreement, _ = village_with_agreement()
    relay = terms()
    terminated, signed = terminate(village, agreement, relay)
    assert terminated.successor_agreement_id == relay.agreement_id == signed.agreement_id
    assert signed.relays_agreement_id == agreement
    assert village.version == 2  # deciding changed nothing
    applied(village, [terminated, signed])
    assert village.agreements[agreement].status is AgreementStatus.relayed


@pytest.mark.parametrize(
    ("setup", "relay_kwargs", "error", "rule", "field"),
    [
        ("active", {}, StateConflict, "relay_follows_termination", "agreement_id"),
        ("relayed", {}, StateConflict, "relayed_once", "agreement_id"),
        (
            "terminated",
            {"same_enterprise": True},
            StateConflict,
            "relay_by_another_enterprise",
            "enterprise_id",
        ),
        (
            "terminated",
            {"signed_on": date(2026, 9, 1)},
            InvalidInput,
            "relay_signed_after_termination",
            "signed_on",
        ),
    ],
)
def test_relay_rules(setup: str, relay_kwargs: dict, error: type, rule: str, field: str) -> None:
    village, agreement, enterprise = village_with_agreement()
    if setup in ("terminated", "relayed"):
        applied(village, terminate(village, agreement))
    if setup == "relayed":
        applied(village, village.relay_agreement(terms(), relayed_id=agreement, max_active_enterprises=5))
    relay = terms(
        enterprise if relay_kwargs.get("same_enterprise") else None,
        relay_kwargs.get("signed_on", date(2026, 10, 1)),
    )
    with pytest.raises(error) as refused:
        village.relay_agreement(relay, relayed_id=agreement, max_active_enterprises=5)
    assert (refused.value.rule, refused.value.field) == (rule, field)


def test_termination_rules() -> None:
    village, agreement, _ = village_with_agreement()
    with pytest.raises(NotFound) as unknown:
        terminate(village, uuid.uuid4())
    assert unknown.value.rule == "agreement_must_exist"
    with pytest.raises(InvalidInput) as early:
        village.terminate_agreement(
            agreement_id=agreement, terminated_on=date(2026, 2, 1), reason="x", max_active_enterprises=5
        )
    assert (early.value.rule, early.value.field) == ("terminated_after_signing", "terminated_on")
    applied(village, terminate(village, agreement))
    with pytest.raises(StateConflict) as again:
        terminate(village, agreement)
    assert again.value.rule == "only_active_agreements_terminate"


def test_a_relay_in_a_full_village_is_refused_like_any_signing() -> None:
    village, agreement, _ = village_with_agreement()
    applied(village, terminate(village, agreement))
    with pytest.raises(StateConflict) as full:
        village.relay_agreement(terms(), relayed_id=agreement, max_active_enterprises=0)
    assert full.value.rule == "at_most_n_active_enterprises_per_village"


def test_collective_income_by_year_corrections_and_no_op_repeats() -> None:
    village = Village()
    with pytest.raises(NotFound):
        village.record_income(year=2025, income_yuan=Decimal("1"))
    events = village.register(
        village_code=VILLAGE,
        name="村1",
        category=VillageCategory.demonstration,
        former_poverty_village=True,
        incomes={2025: Decimal("120000.00"), 2024: Decimal("90000.00")},
    )
    assert [type(e) for e in events] == [VillageRegistered, VillageIncomeRecorded, VillageIncomeRecorded]
    assert [e.year for e in events[1:]] == [2024, 2025]
    applied(village, events)
    assert village.record_income(year=2025, income_yuan=Decimal("120000.00")) == []
    [correction] = village.record_income(year=2025, income_yuan=Decimal("125000.00"))
    applied(village, [correction])
    assert village.incomes == {2024: Decimal("90000.00"), 2025: Decimal("125000.00")}
