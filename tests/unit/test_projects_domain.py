"""The Project aggregate: every named rule broken once, events returned, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.pairing.domain import Village
from services.pairing.projects.commands import RecordInvestment, RegisterProject
from services.pairing.projects.domain import MilestoneStatus, Project, project_stream
from shared.clock import china_date
from shared.domain import DomainError, InvalidInput, NotFound, StateConflict
from shared.events.catalogue.pairing import (
    AgreementSigned,
    Asset,
    AssetKind,
    Commitments,
    Funding,
    FundingSource,
    HolderKind,
    MilestonePlan,
    Mode,
    Pathway,
    ProjectCompleted,
    ProjectInvestmentRecorded,
    ProjectMilestoneOverdue,
    ProjectMilestoneReached,
    ProjectRegistered,
    Share,
    VillageCategory,
    VillageRegistered,
)
from shared.events.envelope import EventData
from tests.support.pairing import village_code

VILLAGE = village_code(1)
PROJECT = uuid.UUID("01900000-0000-7000-8000-000000000001")
E1, E2, E3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
A1, A2 = uuid.uuid4(), uuid.uuid4()


def village(code: str = VILLAGE, agreements: dict[uuid.UUID, uuid.UUID] | None = None) -> Village:
    history: list[EventData] = [
        VillageRegistered(village_code=code, name="村1", category=VillageCategory.key_support)
    ]
    for agreement_id, enterprise_id in (agreements if agreements is not None else {A1: E1}).items():
        history.append(
            AgreementSigned(
                agreement_id=agreement_id,
                enterprise_id=enterprise_id,
                village_code=code,
                signed_on=date(2026, 11, 1),
                term_years=3,
                document_ref="XC-2026-001",
                pathways=[Pathway.industry],
                mode=Mode.order_farming,
                commitments=Commitments(),
            )
        )
    return Village.from_history(history)


def funding(*pairs: tuple[FundingSource, str]) -> list[Funding]:
    return [Funding(source=s, amount_yuan=Decimal(a)) for s, a in pairs]


def shares(*percents: str) -> list[Share]:
    holders = [HolderKind.village_collective, HolderKind.village_group, HolderKind.enterprise]
    holders += [HolderKind.villagers] * len(percents)
    return [Share(holder=h, percent=Decimal(p)) for h, p in zip(holders, percents, strict=False)]


def milestones(*ids_and_dues: tuple[str, date]) -> list[MilestonePlan]:
    return [MilestonePlan(milestone_id=m, name=f"节点 {m}", due_on=d) for m, d in ids_and_dues]


DESIGN, BUILT = date(2027, 3, 31), date(2027, 6, 30)


def register_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "project_id": PROJECT,
        "village_code": VILLAGE,
        "village": village(),
        "registered_enterprises": {E1, E2},
        "agreement_ids": [A1],
        "enterprise_ids": [E1, E2],
        "name": "肉牛养殖基地",
        "industry": "beef cattle",
        "budget_yuan": Decimal("5000000.00"),
        "funding": funding(
            (FundingSource.enterprise, "2050000.00"),
            (FundingSource.connection, "1450000.00"),
            (FundingSource.bank_loan, "1500000.00"),
        ),
        "shareholding": shares("10", "10", "41", "39"),
        "beneficiary_households": 120,
        "jobs": 35,
        "milestones": milestones(("design", DESIGN), ("built", BUILT)),
    }
    args.update(overrides)
    return args


def registered(**overrides: Any) -> Project:
    project = Project()
    for event in project.register(**register_args(**overrides)):
        project.apply(event)
    return project


def applied(project: Project, events: list[Any]) -> Project:
    for event in events:
        project.apply(event)
    return project


def refused(kind: type[DomainError], rule: str, field: str, call: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    assert (caught.value.rule, caught.value.field) == (rule, field)


def invest(project: Project, amount: str = "1000000.00", day: date = date(2027, 2, 1)) -> list[Any]:
    return project.record_investment(
        source=FundingSource.enterprise,
        amount_yuan=Decimal(amount),
        invested_on=day,
        evidence_ref="银行回单 1",
    )


def complete(project: Project, assets: list[Asset] | None = None) -> list[Any]:
    return project.complete(completed_on=date(2027, 9, 1), assets=assets or [])


# -- registering --------------------------------------------------------------------------------


def test_registering_returns_the_project_with_its_tables() -> None:
    [event] = Project().register(**register_args())
    assert isinstance(event, ProjectRegistered)
    assert event.project_id == PROJECT and event.village_code == VILLAGE
    assert event.agreement_ids == [A1] and event.enterprise_ids == [E1, E2]
    assert sum(f.amount_yuan for f in event.funding) == event.budget_yuan == Decimal("5000000.00")
    assert [s.percent for s in event.shareholding] == [10, 10, 41, 39]
    assert [m.milestone_id for m in event.milestones] == ["design", "built"]
    assert project_stream(PROJECT) == f"project-{PROJECT}"


def test_several_enterprises_may_register_one_without_an_agreement() -> None:
    [event] = Project().register(**register_args(agreement_ids=[], village=village(agreements={})))
    assert isinstance(event, ProjectRegistered)
    assert event.agreement_ids == []


def test_a_project_is_registered_once() -> None:
    project = registered()
    refused(StateConflict, "project_registered_once", "project_id", project.register, **register_args())


@pytest.mark.parametrize(
    ("overrides", "rule", "field"),
    [
        ({"enterprise_ids": [E1, E2, E1]}, "enterprise_named_once", "enterprise_ids.2"),
        ({"agreement_ids": [A1, A1]}, "agreement_named_once", "agreement_ids.1"),
        (
            {"milestones": milestones(("design", DESIGN), ("design", BUILT))},
            "milestone_ids_distinct",
            "milestones.1.milestone_id",
        ),
        (
            {
                "funding": funding(
                    (FundingSource.enterprise, "2500000.00"), (FundingSource.enterprise, "2500000.00")
                )
            },
            "funding_source_named_once",
            "funding.1.source",
        ),
    ],
)
def test_each_thing_is_named_once(overrides: dict[str, Any], rule: str, field: str) -> None:
    refused(InvalidInput, rule, field, Project().register, **register_args(**overrides))


@pytest.mark.parametrize("off_by", ["0.01", "-0.01", "1000000"])
def test_funding_sums_exactly_to_the_budget(off_by: str) -> None:
    budget = Decimal("5000000.00") + Decimal(off_by)
    refused(
        InvalidInput,
        "funding_sums_to_budget",
        "funding",
        Project().register,
        **register_args(budget_yuan=budget),
    )


def test_equal_amounts_in_other_notation_add_up() -> None:
    [event] = Project().register(**register_args(budget_yuan=Decimal("5E+6")))
    assert event.budget_yuan == Decimal("5000000")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "percents", [("10", "10", "41", "38.99"), ("33.33", "33.33", "33.33"), ("10", "10", "41", "39.01")]
)
def test_shareholding_sums_to_exactly_100(percents: tuple[str, ...]) -> None:
    refused(
        InvalidInput,
        "shareholding_sums_to_100",
        "shareholding",
        Project().register,
        **register_args(shareholding=shares(*percents)),
    )


def test_shareholding_with_decimals_that_make_100_is_accepted() -> None:
    [event] = Project().register(**register_args(shareholding=shares("33.34", "33.33", "33.33")))
    assert sum(s.percent for s in event.shareholding) == 100  # type: ignore[attr-defined]


def test_the_village_must_be_registered() -> None:
    refused(
        NotFound,
        "village_must_exist",
        "village_code",
        Project().register,
        **register_args(village=Village(), agreement_ids=[]),
    )


def test_every_enterprise_must_be_registered() -> None:
    refused(
        NotFound,
        "enterprise_must_exist",
        "enterprise_ids.1",
        Project().register,
        **register_args(registered_enterprises={E1}),
    )


def test_an_agreement_must_be_active_in_the_village() -> None:
    refused(
        NotFound,
        "agreement_must_be_active_in_village",
        "agreement_ids.1",
        Project().register,
        **register_args(agreement_ids=[A1, uuid.uuid4()]),
    )


def test_an_agreement_of_another_village_is_not_the_villages() -> None:
    # A2 is active, but in village 2: village 1 knows nothing of it.
    assert A2 in village(village_code(2), {A2: E2}).active
    refused(
        NotFound,
        "agreement_must_be_active_in_village",
        "agreement_ids.0",
        Project().register,
        **register_args(agreement_ids=[A2], enterprise_ids=[E1, E2]),
    )


def test_an_agreements_enterprise_must_take_part() -> None:
    refused(
        InvalidInput,
        "agreement_enterprise_takes_part",
        "agreement_ids.1",
        Project().register,
        **register_args(village=village(agreements={A1: E1, A2: E3}), agreement_ids=[A1, A2]),
    )


# -- investment ---------------------------------------------------------------------------------


def test_tranches_are_numbered_in_order() -> None:
    project = registered()
    [first] = invest(project, "1000000.00")
    applied(project, [first])
    [second] = invest(project, "500000.50")
    applied(project, [second])
    assert isinstance(first, ProjectInvestmentRecorded) and isinstance(second, ProjectInvestmentRecorded)
    assert (first.tranche, second.tranche) == (1, 2)
    assert second.village_code == VILLAGE
    assert project.invested_yuan == Decimal("1500000.50")


def test_investment_needs_a_registered_project() -> None:
    refused(NotFound, "project_must_exist", "project_id", invest, Project())


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
def test_a_tranche_puts_in_more_than_nothing(amount: str) -> None:
    refused(InvalidInput, "investment_amount_positive", "amount_yuan", invest, registered(), amount)


def test_no_investment_after_completion() -> None:
    project = applied(registered(), complete(registered()))
    refused(StateConflict, "no_investment_after_completion", "project_id", invest, project)


# -- milestones ---------------------------------------------------------------------------------


def reach(project: Project, milestone_id: str = "design", day: date = date(2027, 3, 20)) -> list[Any]:
    return project.reach_milestone(milestone_id=milestone_id, reached_on=day, evidence_ref="验收单 7")


def test_reaching_a_milestone() -> None:
    project = registered()
    [event] = reach(project)
    assert isinstance(event, ProjectMilestoneReached)
    applied(project, [event])
    assert project.milestones["design"].status is MilestoneStatus.reached
    assert project.milestones["built"].status is MilestoneStatus.planned


def test_reaching_needs_a_registered_project() -> None:
    refused(NotFound, "project_must_exist", "project_id", reach, Project())


def test_an_unknown_milestone_is_not_found() -> None:
    refused(NotFound, "milestone_must_exist", "milestone_id", reach, registered(), "harvest")


def test_a_milestone_is_reached_once() -> None:
    project = registered()
    applied(project, reach(project))
    refused(StateConflict, "milestone_reached_once", "milestone_id", reach, project)


def test_due_milestones_are_flagged_after_their_due_date_only() -> None:
    project = registered()
    assert project.flag_overdue(today=DESIGN) == []
    [event] = project.flag_overdue(today=date(2027, 4, 1))
    assert event == ProjectMilestoneOverdue(
        project_id=PROJECT,
        village_code=VILLAGE,
        milestone_id="design",
        due_on=DESIGN,
        detected_on=date(2027, 4, 1),
    )


def test_a_milestone_is_flagged_overdue_once() -> None:
    project = registered()
    applied(project, project.flag_overdue(today=date(2027, 4, 1)))
    assert project.milestones["design"].status is MilestoneStatus.overdue
    assert project.flag_overdue(today=date(2027, 4, 2)) == []
    # Later, only the milestone that has newly passed its date.
    [built] = project.flag_overdue(today=date(2027, 7, 1))
    assert built.milestone_id == "built"


def test_reached_milestones_and_completed_projects_are_never_overdue() -> None:
    project = registered()
    applied(project, reach(project))
    assert [e.milestone_id for e in project.flag_overdue(today=date(2027, 7, 1))] == ["built"]
    done = applied(registered(), complete(registered()))
    assert done.flag_overdue(today=date(2030, 1, 1)) == []
    assert Project().flag_overdue(today=date(2030, 1, 1)) == []


def test_a_milestone_reached_after_it_was_flagged_is_still_recorded() -> None:
    project = registered()
    applied(project, project.flag_overdue(today=date(2027, 4, 1)))
    applied(project, reach(project, day=date(2027, 4, 10)))
    milestone = project.milestones["design"]
    assert milestone.status is MilestoneStatus.reached
    assert milestone.overdue is not None and milestone.overdue.detected_on == date(2027, 4, 1)


def test_overdue_is_decided_by_the_date_in_china() -> None:
    assert china_date(datetime(2027, 6, 30, 15, 59, 59, tzinfo=UTC)) == date(2027, 6, 30)
    assert china_date(datetime(2027, 6, 30, 16, 0, tzinfo=UTC)) == date(2027, 7, 1)


# -- completion ---------------------------------------------------------------------------------

ASSETS = [
    Asset(
        kind=AssetKind.operating,
        description="牛舍 12 栋",
        value_yuan=Decimal("3200000.00"),
        handed_to="村集体",
        handed_over_on=date(2030, 9, 1),
    ),
    Asset(
        kind=AssetKind.public_welfare, description="道路", value_yuan=Decimal("800000"), handed_to="村集体"
    ),
]


def test_completion_records_the_assets() -> None:
    project = registered()
    [event] = complete(project, ASSETS)
    assert isinstance(event, ProjectCompleted)
    assert [a.kind for a in event.assets] == [AssetKind.operating, AssetKind.public_welfare]
    applied(project, [event])
    assert project.completed == event


def test_completion_needs_a_registered_project() -> None:
    refused(NotFound, "project_must_exist", "project_id", complete, Project())


def test_a_project_is_completed_once() -> None:
    project = applied(registered(), complete(registered()))
    refused(StateConflict, "project_completed_once", "project_id", complete, project)


def test_an_asset_is_not_handed_over_before_completion() -> None:
    early = ASSETS[0].model_copy(update={"handed_over_on": date(2027, 8, 31)})
    refused(
        InvalidInput,
        "handover_not_before_completion",
        "assets.1.handed_over_on",
        complete,
        registered(),
        [ASSETS[1], early],
    )


# -- command shapes -----------------------------------------------------------------------------


def test_commands_refuse_unknown_fields_and_sub_cent_money() -> None:
    body = {"source": "enterprise", "amount_yuan": "10.00", "invested_on": "2027-02-01"}
    assert RecordInvestment.model_validate(body).amount_yuan == Decimal("10.00")
    with pytest.raises(ValidationError):
        RecordInvestment.model_validate({**body, "tranche": 3})
    with pytest.raises(ValidationError):
        RecordInvestment.model_validate({**body, "amount_yuan": "10.001"})
    with pytest.raises(ValidationError):
        RegisterProject.model_validate({"village_code": VILLAGE, "enterprise_ids": []})
