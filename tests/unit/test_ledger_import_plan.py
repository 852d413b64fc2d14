"""Planning a ledger with the pairing aggregates: what is new, what is stored, and the rules that
hold across the file and against the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from services.pairing.domain import enterprise_id_for, enterprise_stream, village_stream
from services.pairing.ledger_import.plan import Plan, plan, streams_of
from services.pairing.ledger_import.rows import LedgerRow
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
from shared.events.envelope import EventData
from tests.support.pairing import credit_code, village_code
from tests.unit.test_ledger_import_rows import read, values

VILLAGE = village_stream(village_code(1))


def rows(*given: dict[str, str]) -> list[LedgerRow]:
    result = read(*given)
    assert result.errors == []
    return result.valid


def planned(
    ledger: Sequence[LedgerRow], stored: dict[str, list[EventData]] | None = None, region: str = "150602"
) -> Plan:
    return plan(ledger, stored or {}, max_active_enterprises=5, covers=lambda code: code.startswith(region))


def e_stream(n: int) -> str:
    return enterprise_stream(enterprise_id_for(credit_code(n)))


def registered_enterprise(n: int, **overrides: object) -> EnterpriseRegistered:
    fields: dict[str, object] = {
        "enterprise_id": enterprise_id_for(credit_code(n)),
        "name": f"企业{n}",
        "credit_code": credit_code(n),
        "kind": EnterpriseKind.private_enterprise,
        "county_code": "150602",
        **overrides,
    }
    return EnterpriseRegistered.model_validate(fields)


def registered_village(v: int = 1) -> VillageRegistered:
    return VillageRegistered(
        village_code=village_code(v), name=f"村{v}", category=VillageCategory.key_support
    )


def signed(n: int, document_ref: str, v: int = 1) -> AgreementSigned:
    from services.pairing.ledger_import.rows import agreement_id_for

    return AgreementSigned(
        agreement_id=agreement_id_for(credit_code(n), village_code(v), document_ref),
        enterprise_id=enterprise_id_for(credit_code(n)),
        village_code=village_code(v),
        signed_on=date(2026, 11, 1),
        term_years=3,
        document_ref=document_ref,
        pathways=[Pathway.industry, Pathway.employment],
        mode=Mode.order_farming,
        commitments=Commitments(),
    )


def stored_after(
    result: Plan, before: dict[str, list[EventData]] | None = None
) -> dict[str, list[EventData]]:
    """The store once ``result`` is appended."""
    after = {stream: list(events) for stream, events in (before or {}).items()}
    for append in result.appends:
        history = after.setdefault(append.stream_id, [])
        assert len(history) == append.expected_version
        history.extend(append.events)
    return after


def test_a_new_ledger_registers_and_signs_everything_enterprises_first() -> None:
    ledger = rows(values(1, 1), values(2, 1), values(1, 2))
    result = planned(ledger)
    assert result.errors == [] and result.warnings == []
    assert (result.created.enterprises, result.created.villages, result.created.agreements) == (2, 2, 3)
    assert result.event_count == 2 + 2 + 3
    assert [a.stream_id for a in result.appends] == [
        e_stream(1),
        e_stream(2),
        VILLAGE,
        village_stream(village_code(2)),
    ]
    assert all(a.expected_version == 0 for a in result.appends)
    village = result.appends[2]
    assert [type(e).__name__ for e in village.events] == [
        "VillageRegistered",
        "AgreementSigned",
        "AgreementSigned",
    ]
    assert village.region_code == village_code(1)
    assert result.appends[0].region_code == "150602000000"


def test_the_streams_to_load_are_each_enterprise_and_village_once() -> None:
    ledger = rows(values(1, 1), values(2, 1), values(1, 2))
    assert streams_of(ledger) == [e_stream(1), e_stream(2), VILLAGE, village_stream(village_code(2))]


def test_planning_the_same_ledger_against_its_own_result_plans_nothing() -> None:
    ledger = rows(*(values(n, v) for n in range(1, 4) for v in range(1, 3)))
    stored = stored_after(planned(ledger))
    again = planned(ledger, stored)
    assert again.errors == [] and again.appends == [] and again.warnings == []
    assert (again.existing.enterprises, again.existing.villages, again.existing.agreements) == (3, 2, 6)
    assert (again.created.enterprises, again.created.villages, again.created.agreements) == (0, 0, 0)


def test_stored_enterprises_and_villages_are_not_registered_again_and_differences_are_warnings() -> None:
    stored: dict[str, list[EventData]] = {
        e_stream(1): [registered_enterprise(1, name="旧名称")],
        VILLAGE: [registered_village(), signed(9, "OLD-9")],
    }
    demonstration = {"村类别": "示范村"}
    result = planned(rows(values(1, 1, **demonstration), values(2, 1, **demonstration)), stored)
    assert result.errors == []
    assert (result.created.enterprises, result.created.villages, result.created.agreements) == (1, 0, 2)
    assert (result.existing.enterprises, result.existing.villages) == (1, 1)
    assert {(w.row, w.column, w.value, w.stored) for w in result.warnings} == {
        (2, "企业名称", "企业1", "旧名称"),
        (2, "村类别", "示范村", "重点帮扶村"),
    }
    village = next(a for a in result.appends if a.stream_id == VILLAGE)
    assert village.expected_version == 2
    assert [type(e).__name__ for e in village.events] == ["AgreementSigned", "AgreementSigned"]


def test_a_stored_agreement_is_recognised_and_skipped_with_its_differences_as_warnings() -> None:
    stored: dict[str, list[EventData]] = {
        e_stream(1): [registered_enterprise(1)],
        VILLAGE: [registered_village(), signed(1, "XC-1-1")],
    }
    result = planned(rows(values(1, 1, **{"协议期限（年）": "5", "投资额（元）": "100"})), stored)
    assert result.errors == [] and result.appends == []
    assert result.existing.agreements == 1
    assert {(w.column, w.value, w.stored) for w in result.warnings} == {
        ("协议期限（年）", "5", "3"),
        ("投资额（元）", "100.00", "0"),
    }


def test_at_most_five_active_enterprises_across_the_store_and_the_file() -> None:
    stored: dict[str, list[EventData]] = {
        VILLAGE: [registered_village(), *(signed(n, f"OLD-{n}") for n in range(10, 13))],
    }
    result = planned(rows(*(values(n, 1) for n in range(1, 4))), stored)
    assert [(e.row, e.column, e.rule) for e in result.errors] == [
        (4, "村统计用区划代码", "at_most_n_active_enterprises_per_village")
    ]
    assert result.errors[0].field == "village_code"
    assert result.created.agreements == 2


def test_one_active_agreement_per_pair_names_the_agreement_in_the_way() -> None:
    stored: dict[str, list[EventData]] = {
        e_stream(1): [registered_enterprise(1)],
        VILLAGE: [registered_village(), signed(1, "API-1")],
    }
    result = planned(rows(values(1, 1), values(2, 1), values(2, 1, **{"协议文号": "XC-again"})), stored)
    assert [(e.row, e.column, e.rule) for e in result.errors] == [
        (2, "统一社会信用代码", "one_active_agreement_per_pair"),
        (4, "统一社会信用代码", "one_active_agreement_per_pair"),
    ]
    assert "(API-1, signed on 2026-11-01)" in result.errors[0].reason
    assert "(XC-2-1, signed on 2026-11-01)" in result.errors[1].reason
    assert result.errors[0].field == "credit_code"


def test_a_new_enterprise_from_outside_the_callers_region_is_refused_a_stored_one_is_used() -> None:
    outsider = {"企业注册地区县代码": "110101"}
    stored: dict[str, list[EventData]] = {e_stream(2): [registered_enterprise(2, county_code="110101")]}
    result = planned(rows(values(1, 1, **outsider), values(2, 1, **outsider)), stored)
    assert [(e.row, e.column, e.rule) for e in result.errors] == [
        (2, "企业注册地区县代码", "within_caller_region")
    ]
    assert result.created.agreements == 1 and result.existing.enterprises == 1


def test_the_plan_decides_the_commitments_in_decimal_yuan() -> None:
    result = planned(rows(values(1, 1, **{"投资额（元）": "1,500,000.50", "捐赠（元）": "0.1"})))
    agreement = result.appends[-1].events[-1]
    assert isinstance(agreement, AgreementSigned)
    assert agreement.commitments.investment_yuan == Decimal("1500000.50")
    assert agreement.commitments.donations_yuan == Decimal("0.10")
