"""Pairing aggregates and commands: named rules, events returned, no I/O."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.pairing.commands import RegisterEnterprise, RegisterVillage, SignAgreement
from services.pairing.domain import (
    Enterprise,
    Village,
    enterprise_id_for,
    enterprise_stream,
    village_stream,
)
from shared.domain import NotFound, StateConflict
from shared.events.catalogue.pairing import (
    AgreementSigned,
    Commitments,
    EnterpriseKind,
    EnterpriseRegistered,
    Mode,
    Pathway,
    VillageCategory,
    VillageRegistered,
)
from tests.support.pairing import agreement_body, credit_code, enterprise_body, village_code

VILLAGE = village_code(1)


def registered_village(code: str = VILLAGE) -> Village:
    return Village.from_history(
        [VillageRegistered(village_code=code, name="村1", category=VillageCategory.key_support)]
    )


def sign(village: Village, enterprise_id: uuid.UUID, max_active: int = 5) -> list[Any]:
    return village.sign_agreement(
        agreement_id=uuid.uuid4(),
        enterprise_id=enterprise_id,
        signed_on=date(2026, 11, 1),
        term_years=3,
        document_ref="XC-2026-001",
        pathways=[Pathway.industry],
        mode=Mode.order_farming,
        commitments=Commitments(investment_yuan=Decimal("100.00")),
        max_active_enterprises=max_active,
    )


def signed_village(n_enterprises: int) -> tuple[Village, list[uuid.UUID]]:
    village = registered_village()
    enterprises = [uuid.uuid4() for _ in range(n_enterprises)]
    for enterprise in enterprises:
        for event in sign(village, enterprise):
            village.apply(event)
    return village, enterprises


# -- enterprises -------------------------------------------------------------------------------


def enterprise_args(n: int = 1) -> dict[str, Any]:
    return {
        "name": f"企业{n}",
        "credit_code": credit_code(n),
        "kind": EnterpriseKind.private_enterprise,
        "county_code": "150602",
        "contact_name": None,
        "contact_phone": None,
        "leading_level": None,
    }


def test_registering_an_enterprise_returns_one_event_and_changes_nothing() -> None:
    enterprise = Enterprise()
    events = enterprise.register(**enterprise_args())
    assert len(events) == 1
    event = events[0]
    assert isinstance(event, EnterpriseRegistered)
    assert event.enterprise_id == enterprise_id_for(credit_code(1))
    assert event.credit_code == credit_code(1)
    # The command decides; only apply() changes state.
    assert enterprise.registered is None and enterprise.version == 0


def test_an_enterprise_is_registered_once() -> None:
    enterprise = Enterprise()
    enterprise.apply(enterprise.register(**enterprise_args())[0])
    assert enterprise.version == 1
    with pytest.raises(StateConflict) as refused:
        enterprise.register(**enterprise_args())
    assert refused.value.rule == "enterprise_registered_once"
    assert refused.value.field == "credit_code"


def test_enterprise_id_follows_from_the_credit_code() -> None:
    assert enterprise_id_for(credit_code(1)) == enterprise_id_for(credit_code(1))
    assert enterprise_id_for(credit_code(1)) != enterprise_id_for(credit_code(2))
    eid = enterprise_id_for(credit_code(1))
    assert enterprise_stream(eid) == f"enterprise-{eid}"
    assert village_stream(VILLAGE) == f"village-{VILLAGE}"


# -- villages ----------------------------------------------------------------------------------


def test_registering_a_village() -> None:
    village = Village()
    events = village.register(
        village_code=VILLAGE,
        name="村1",
        category=VillageCategory.demonstration,
        former_poverty_village=True,
    )
    assert events == [
        VillageRegistered(
            village_code=VILLAGE,
            name="村1",
            category=VillageCategory.demonstration,
            former_poverty_village=True,
        )
    ]
    assert village.registered is None


def test_a_village_is_registered_once() -> None:
    village = registered_village()
    with pytest.raises(StateConflict) as refused:
        village.register(
            village_code=VILLAGE,
            name="again",
            category=VillageCategory.key_support,
            former_poverty_village=False,
        )
    assert (refused.value.rule, refused.value.field) == ("village_registered_once", "village_code")


def test_signing_returns_the_agreement_event() -> None:
    village = registered_village()
    enterprise = uuid.uuid4()
    [event] = sign(village, enterprise)
    assert isinstance(event, AgreementSigned)
    assert event.enterprise_id == enterprise
    assert event.village_code == VILLAGE
    assert event.commitments.investment_yuan == Decimal("100.00")
    assert village.active == {} and village.version == 1
    village.apply(event)
    assert village.active == {event.agreement_id: enterprise}
    assert village.version == 2


def test_an_unregistered_village_cannot_sign() -> None:
    with pytest.raises(NotFound) as refused:
        sign(Village(), uuid.uuid4())
    assert (refused.value.rule, refused.value.field) == ("village_must_exist", "village_code")


def test_one_active_agreement_per_pair() -> None:
    village, enterprises = signed_village(2)
    with pytest.raises(StateConflict) as refused:
        sign(village, enterprises[1])
    assert refused.value.rule == "one_active_agreement_per_pair"
    assert refused.value.field == "enterprise_id"


def test_at_most_n_active_enterprises_per_village() -> None:
    village, _ = signed_village(5)
    assert village.version == 6
    with pytest.raises(StateConflict) as refused:
        sign(village, uuid.uuid4())
    assert refused.value.rule == "at_most_n_active_enterprises_per_village"
    assert "5" in refused.value.message
    # The limit is a setting, not a constant.
    assert len(sign(village, uuid.uuid4(), max_active=6)) == 1


def test_the_fifth_enterprise_is_still_allowed() -> None:
    village, _ = signed_village(4)
    assert len(sign(village, uuid.uuid4())) == 1


# -- commands (input validation before the domain) ----------------------------------------------


def test_register_enterprise_command_checks_the_credit_code() -> None:
    RegisterEnterprise.model_validate(enterprise_body(1))
    with pytest.raises(ValidationError) as invalid:
        RegisterEnterprise.model_validate(enterprise_body(1, credit_code="91350100M000100Y44"))
    [error] = invalid.value.errors()
    assert error["loc"] == ("credit_code",)
    assert "check character" in error["msg"]


def test_register_enterprise_strips_whitespace_and_forbids_extras() -> None:
    cmd = RegisterEnterprise.model_validate(enterprise_body(1, name="  企业1  "))
    assert cmd.name == "企业1"
    with pytest.raises(ValidationError) as invalid:
        RegisterEnterprise.model_validate(enterprise_body(1, surprise=1))
    assert invalid.value.errors()[0]["type"] == "extra_forbidden"


def test_register_village_needs_a_12_digit_code() -> None:
    RegisterVillage.model_validate({"village_code": VILLAGE, "name": "村", "category": "key_support"})
    for bad in ("15060210100", "1506021010011", "00060210100A", "000602101001"):
        with pytest.raises(ValidationError):
            RegisterVillage.model_validate({"village_code": bad, "name": "村", "category": "key_support"})


def test_sign_agreement_command_rules() -> None:
    eid = str(uuid.uuid4())
    cmd = SignAgreement.model_validate(agreement_body(eid, VILLAGE))
    assert cmd.commitments.investment_yuan == Decimal("1500000.00")
    assert cmd.pathways == [Pathway.industry, Pathway.employment]
    bad_bodies = {
        "pathways": agreement_body(eid, VILLAGE, pathways=["industry", "industry"]),
        "term_years": agreement_body(eid, VILLAGE, term_years=0),
        "mode": agreement_body(eid, VILLAGE, mode="handshake"),
        "commitments.jobs": agreement_body(eid, VILLAGE, commitments={"jobs": -1}),
        "commitments.investment_yuan": agreement_body(eid, VILLAGE, commitments={"investment_yuan": "1.234"}),
    }
    for field, body in bad_bodies.items():
        with pytest.raises(ValidationError) as invalid:
            SignAgreement.model_validate(body)
        locs = {".".join(str(p) for p in e["loc"]) for e in invalid.value.errors()}
        assert any(loc.startswith(field) for loc in locs), (field, locs)
