"""The household aggregate (防返贫动态监测): the whole walk, each refusal with its class and rule, no I/O."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from services.monitoring.domain import (
    ASSISTANCE_ROLES,
    DELIVERY_ROLES,
    FLAG_ROLES,
    FOLLOWUP_ROLES,
    STEP_ROLE,
    Household,
)
from services.monitoring.risk import MonitoringLines, RiskRules
from shared.auth import Role
from shared.domain import InvalidInput, NotFound, NotPermitted, StateConflict
from shared.events.catalogue.monitoring import (
    AnnualSurvey,
    AssistanceDelivered,
    AssistanceMeasure,
    AssistancePlanned,
    ContactAssigned,
    Department,
    FlagRejected,
    FlagSource,
    FollowupRecorded,
    HouseholdDeliberated,
    HouseholdEnrolled,
    HouseholdFlagged,
    HouseholdMembersUpdated,
    HouseholdReviewed,
    HouseholdStatus,
    HouseholdSurveyed,
    HouseholdVerified,
    LabourAbility,
    Member,
    MonitoredCategory,
    PersonalDataErased,
    PlannedMeasure,
    Procedure,
    QuarterlySurvey,
    Relation,
    RigidExpenses,
    RiskEliminated,
    RiskEliminationProposed,
    RiskEliminationRejected,
    RiskType,
    Schooling,
    Stage,
)
from shared.events.envelope import EventData
from tests.support.monitoring import village_code

HID = uuid.UUID("0193f7c2-0000-7000-8000-000000000001")
VILLAGE = village_code(1)
TODAY = date(2026, 11, 30)
STEP_DAY = date(2026, 8, 1)  # after every date the walk below uses, notices long over
LINES = MonitoringLines(by_province={"15": {2025: Decimal(7600), 2026: Decimal(7900)}})
RULES = RiskRules()
NOTICE_DAYS = 5
CONTACT_DAYS = 15
MONTHS = 6


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def member(no: int, relation: Relation = Relation.head) -> Member:
    return Member(
        member_no=no,
        relation=relation,
        age=40,
        labour=LabourAbility.ordinary,
        schooling=Schooling.primary,
        sealed=f"v1.sealed-{no}",
    )


def play(household: Household, events: list[EventData]) -> list[EventData]:
    for event in events:
        household.apply(event)
    return events


def quarterly(income: str, members: int = 3, **expenses: str) -> QuarterlySurvey:
    return QuarterlySurvey(
        members=members,
        per_capita_net_income_yuan=Decimal(income),
        expenses=RigidExpenses(**{k: Decimal(v) for k, v in expenses.items()}),
    )


def annual(**overrides: object) -> AnnualSurvey:
    facts: dict[str, object] = {
        "pension_insured": 2,
        "medical_insured_all": True,
        "housing_safe": True,
        "drinking_water_safe": True,
        **overrides,
    }
    return AnnualSurvey.model_validate(facts)


def survey(
    household: Household,
    period: str,
    *,
    q: QuarterlySurvey | None = None,
    a: AnnualSurvey | None = None,
    on: date = date(2026, 3, 31),
    batch_id: str | None = None,
    rules: RiskRules = RULES,
) -> list[EventData]:
    return household.survey(
        survey_id=uuid.uuid4(),
        flag_id=uuid.uuid4(),
        period=period,
        surveyed_on=on,
        quarterly=q,
        annual=a,
        batch_id=batch_id,
        lines=LINES,
        rules=rules,
    )


def registered(status: HouseholdStatus = HouseholdStatus.former_poor, surveys: bool = True) -> Household:
    """A registered household; with ``surveys``, ones that meet the elimination conditions by July."""
    household = Household()
    play(
        household,
        household.register(
            household_id=HID,
            village_code=VILLAGE,
            status=status,
            members=[member(1), member(2, Relation.spouse)],
            sealed="v1.phone",
        ),
    )
    if surveys:
        play(household, survey(household, "2025", a=annual(), on=date(2025, 12, 20)))
        play(household, survey(household, "2026Q1", q=quarterly("9000"), on=d(3, 31)))
        play(household, survey(household, "2026Q2", q=quarterly("9500"), on=d(6, 30)))
    return household


# -- the walk, one step per stage it leads to --------------------------------------------------------


def flag(
    h: Household, on: date = date(2026, 1, 5), urgent: bool = False, risks: list[RiskType] | None = None
) -> list[EventData]:
    return h.flag_risk(
        by_role=Role.village_officer,
        flag_id=uuid.uuid4(),
        source=FlagSource.cadre_visit,
        risk_types=risks or [RiskType.illness],
        flagged_on=on,
        today=TODAY,
        urgent=urgent,
    )


def verify(
    h: Household, on: date, role: Role = Role.township_officer, risks: list[RiskType] | None = None
) -> list[EventData]:
    return h.verify(
        by_role=role,
        verified_on=on,
        today=TODAY,
        risk_types=[RiskType.illness] if risks is None else risks,
        findings="入户核实",
    )


def deliberate(
    h: Household, on: date, role: Role = Role.village_officer, notice_from: date | None = None
) -> list[EventData]:
    return h.deliberate(
        by_role=role,
        deliberated_on=on,
        today=TODAY,
        votes_for=9,
        votes_against=1,
        notice_from=notice_from or on,
        notice_days=NOTICE_DAYS,
    )


def review(h: Household, on: date, role: Role = Role.township_officer) -> list[EventData]:
    return h.review(by_role=role, reviewed_on=on, today=TODAY, opinion="同意")


def approve(
    h: Household,
    on: date,
    role: Role = Role.county_officer,
    category: MonitoredCategory = MonitoredCategory.unstable_after_exit,
) -> list[EventData]:
    return h.approve_enrolment(
        by_role=role,
        enrolled_on=on,
        today=TODAY,
        category=category,
        risk_types=None,
        contact_within_days=CONTACT_DAYS,
    )


def propose(
    h: Household, on: date, role: Role = Role.village_officer, months: int = MONTHS
) -> list[EventData]:
    return h.propose_elimination(by_role=role, proposed_on=on, today=TODAY, months=months, lines=LINES)


def eliminate(h: Household, on: date, role: Role = Role.county_officer) -> list[EventData]:
    return h.approve_elimination(by_role=role, eliminated_on=on, today=TODAY)


def reject(h: Household, on: date, role: Role) -> list[EventData]:
    return h.reject(by_role=role, rejected_on=on, today=TODAY, reason="不符合条件")


def followup(h: Household, on: date, role: Role = Role.village_officer) -> list[EventData]:
    return h.record_followup(by_role=role, visited_on=on, today=TODAY, stable=True, note="稳定")


def contact(h: Household, on: date, role: Role = Role.township_officer) -> list[EventData]:
    return h.assign_contact(
        by_role=role, name="王干部", unit="镇政府", phone="13900000000", assigned_on=on, today=TODAY
    )


def plan(
    h: Household, on: date, role: Role = Role.township_officer, plan_id: uuid.UUID | None = None
) -> list[EventData]:
    measure = PlannedMeasure(
        measure=AssistanceMeasure.health,
        risk_type=RiskType.illness,
        description="大病保险",
        budget_yuan=Decimal("800"),
    )
    return h.plan_assistance(
        by_role=role, plan_id=plan_id or uuid.uuid4(), planned_on=on, today=TODAY, measures=[measure]
    )


def deliver(
    h: Household,
    on: date,
    role: Role = Role.village_officer,
    measure: AssistanceMeasure = AssistanceMeasure.health,
    delivery_id: uuid.UUID | None = None,
) -> list[EventData]:
    return h.deliver_assistance(
        by_role=role,
        delivery_id=delivery_id or uuid.uuid4(),
        measure=measure,
        delivered_on=on,
        today=TODAY,
        description="报销",
        amount_yuan=Decimal("650.50"),
    )


PATH: list[tuple[Stage, Callable[[Household], list[EventData]]]] = [
    (Stage.flagged, lambda h: flag(h)),
    (Stage.verified, lambda h: verify(h, d(1, 10))),
    (Stage.deliberated, lambda h: deliberate(h, d(1, 15))),
    (Stage.reviewed, lambda h: review(h, d(1, 20))),
    (Stage.monitored, lambda h: approve(h, d(1, 25))),
    (Stage.elimination_proposed, lambda h: propose(h, d(7, 10))),
    (Stage.elimination_verified, lambda h: verify(h, d(7, 12), risks=[])),
    (Stage.elimination_deliberated, lambda h: deliberate(h, d(7, 15))),
    (Stage.elimination_reviewed, lambda h: review(h, d(7, 20))),
    (Stage.eliminated, lambda h: eliminate(h, d(7, 25))),
]
ALL_STAGES: list[Stage | None] = [None, *Stage]


def at(stage: Stage | None, status: HouseholdStatus = HouseholdStatus.former_poor) -> Household:
    household = registered(status)
    if stage is None:
        return household
    for reached, step in PATH:
        play(household, step(household))
        assert household.stage is reached
        if reached is stage:
            return household
    raise AssertionError(stage)


def types(events: list[EventData]) -> list[type[EventData]]:
    return [type(e) for e in events]


# -- the whole walk ----------------------------------------------------------------------------------


def test_the_whole_walk_from_flag_to_followup_and_a_new_flag() -> None:
    h = registered()
    assert h.stage is None and not h.in_procedure and h.version == 4

    [flagged] = play(h, flag(h))
    assert isinstance(flagged, HouseholdFlagged) and not flagged.reflagged and not flagged.urgent
    assert h.stage is Stage.flagged and h.in_procedure and not h.receives_help

    [verified] = play(h, verify(h, d(1, 10), risks=[RiskType.illness, RiskType.disability, RiskType.illness]))
    assert isinstance(verified, HouseholdVerified) and verified.procedure is Procedure.enrolment
    assert verified.risk_types == [RiskType.illness, RiskType.disability]

    [deliberated] = play(h, deliberate(h, d(1, 15), notice_from=d(1, 16)))
    assert isinstance(deliberated, HouseholdDeliberated)
    assert (deliberated.notice_from, deliberated.notice_until) == (d(1, 16), d(1, 20))

    with pytest.raises(StateConflict) as running:
        review(h, d(1, 20))
    assert running.value.rule == "public_notice_running"
    [reviewed] = play(h, review(h, d(1, 21)))
    assert isinstance(reviewed, HouseholdReviewed) and reviewed.procedure is Procedure.enrolment

    [enrolled] = play(h, approve(h, d(1, 25)))
    assert isinstance(enrolled, HouseholdEnrolled)
    assert enrolled.category is MonitoredCategory.unstable_after_exit
    assert enrolled.risk_types == [RiskType.illness, RiskType.disability]  # the verified ones
    assert enrolled.contact_due_on == date(2026, 2, 9) and enrolled.flag_id == flagged.flag_id
    assert h.stage is Stage.monitored and h.receives_help

    assert types(play(h, contact(h, d(1, 26)))) == [ContactAssigned]
    assert types(play(h, plan(h, d(1, 27)))) == [AssistancePlanned]
    [delivered] = play(h, deliver(h, d(2, 1)))
    assert isinstance(delivered, AssistanceDelivered) and delivered.amount_yuan == Decimal("650.50")

    [proposed] = play(h, propose(h, d(7, 10)))
    assert isinstance(proposed, RiskEliminationProposed)
    assert proposed.quarters_above_line == ["2026Q1", "2026Q2"]
    [verified] = play(h, verify(h, d(7, 12), risks=[]))
    assert isinstance(verified, HouseholdVerified) and verified.procedure is Procedure.elimination
    [deliberated] = play(h, deliberate(h, d(7, 15)))
    assert deliberated.procedure is Procedure.elimination
    [reviewed] = play(h, review(h, d(7, 20)))
    assert reviewed.procedure is Procedure.elimination
    assert types(play(h, eliminate(h, d(7, 25)))) == [RiskEliminated]
    assert h.stage is Stage.eliminated and h.times_eliminated == 1 and h.category is None
    assert not h.in_procedure and not h.receives_help

    [visit] = play(h, followup(h, d(8, 10)))
    assert isinstance(visit, FollowupRecorded)
    assert types(play(h, followup(h, d(9, 10), role=Role.township_officer))) == [FollowupRecorded]

    [again] = play(h, flag(h, on=d(10, 1)))
    assert isinstance(again, HouseholdFlagged) and again.reflagged
    assert h.stage is Stage.flagged and h.in_procedure


def test_replay_rebuilds_the_same_household() -> None:
    h = Household()
    history = play(
        h,
        h.register(
            household_id=HID,
            village_code=VILLAGE,
            status=HouseholdStatus.former_poor,
            members=[member(1), member(2, Relation.spouse)],
            sealed="v1.phone",
        ),
    )
    history += play(h, survey(h, "2025", a=annual(), on=date(2025, 12, 20)))
    history += play(h, survey(h, "2026Q1", q=quarterly("9000")))
    history += play(h, survey(h, "2026Q2", q=quarterly("9500"), on=d(6, 30)))
    for _, step in PATH[:5]:
        history += play(h, step(h))
    history += play(h, plan(h, d(1, 27)))
    for _, step in PATH[5:]:
        history += play(h, step(h))
    history += play(h, flag(h, on=d(8, 1)))
    replayed = Household.from_history(history)
    assert replayed == h and replayed.version == h.version == len(history)
    assert (replayed.stage, replayed.times_eliminated) == (Stage.flagged, 1)
    assert replayed.plan_ids and replayed.planned_measures == set()  # the new flag plans its own help


# -- rejections --------------------------------------------------------------------------------------

ENROLMENT = [Stage.flagged, Stage.verified, Stage.deliberated, Stage.reviewed]
ELIMINATION = [
    Stage.elimination_proposed,
    Stage.elimination_verified,
    Stage.elimination_deliberated,
    Stage.elimination_reviewed,
]


@pytest.mark.parametrize("stage", ENROLMENT)
def test_an_enrolment_rejection_ends_the_procedure(stage: Stage) -> None:
    h = at(stage)
    flag_id = h.flag.flag_id if h.flag else None
    [rejected] = play(h, reject(h, STEP_DAY, STEP_ROLE[stage]))
    assert isinstance(rejected, FlagRejected)
    assert (rejected.stage, rejected.flag_id, rejected.reason) == (stage, flag_id, "不符合条件")
    assert h.stage is None and h.flag is None and not h.in_procedure
    with pytest.raises(StateConflict):
        followup(h, STEP_DAY)
    [again] = play(h, flag(h, on=STEP_DAY))
    assert isinstance(again, HouseholdFlagged) and not again.reflagged


@pytest.mark.parametrize("stage", ENROLMENT)
def test_an_enrolment_rejection_after_an_elimination_returns_to_eliminated(stage: Stage) -> None:
    h = at(Stage.eliminated)
    [again] = play(h, flag(h, on=d(8, 1)))
    assert isinstance(again, HouseholdFlagged) and again.reflagged
    walk = {
        Stage.verified: lambda: verify(h, d(8, 2)),
        Stage.deliberated: lambda: deliberate(h, d(8, 3)),
        Stage.reviewed: lambda: review(h, d(8, 10)),
    }
    for reached in ENROLMENT[1 : ENROLMENT.index(stage) + 1]:
        play(h, walk[reached]())
    assert h.stage is stage
    [rejected] = play(h, reject(h, d(8, 20), STEP_ROLE[stage]))
    assert isinstance(rejected, FlagRejected) and rejected.stage is stage
    assert h.stage is Stage.eliminated and h.times_eliminated == 1
    assert types(play(h, followup(h, d(8, 21)))) == [FollowupRecorded]


@pytest.mark.parametrize("stage", ELIMINATION)
def test_an_elimination_rejection_keeps_the_household_monitored(stage: Stage) -> None:
    h = at(stage)
    [rejected] = play(h, reject(h, STEP_DAY, STEP_ROLE[stage]))
    assert isinstance(rejected, RiskEliminationRejected) and rejected.stage is stage
    assert h.stage is Stage.monitored and h.category is MonitoredCategory.unstable_after_exit
    assert h.receives_help and h.times_eliminated == 0
    assert types(play(h, propose(h, STEP_DAY))) == [RiskEliminationProposed]


# -- wrong order, wrong role -------------------------------------------------------------------------

Step = Callable[[Household, Role], list[EventData]]
# Each step, and the stages it may be taken at with the role that takes it there.
STEPS: dict[str, tuple[Step, dict[Stage | None, Role]]] = {
    "verify": (
        lambda h, r: verify(h, STEP_DAY, r),
        {Stage.flagged: Role.township_officer, Stage.elimination_proposed: Role.township_officer},
    ),
    "deliberate": (
        lambda h, r: deliberate(h, STEP_DAY, r),
        {Stage.verified: Role.village_officer, Stage.elimination_verified: Role.village_officer},
    ),
    "review": (
        lambda h, r: review(h, STEP_DAY, r),
        {Stage.deliberated: Role.township_officer, Stage.elimination_deliberated: Role.township_officer},
    ),
    "approve_enrolment": (
        lambda h, r: approve(h, STEP_DAY, r, MonitoredCategory.sudden_severe_hardship),
        {Stage.reviewed: Role.county_officer},
    ),
    "approve_elimination": (
        lambda h, r: eliminate(h, STEP_DAY, r),
        {Stage.elimination_reviewed: Role.county_officer},
    ),
    "propose_elimination": (lambda h, r: propose(h, STEP_DAY, r), {Stage.monitored: Role.village_officer}),
    "record_followup": (lambda h, r: followup(h, STEP_DAY, r), {Stage.eliminated: Role.village_officer}),
    "reject": (lambda h, r: reject(h, STEP_DAY, r), dict(STEP_ROLE)),
    "flag": (
        lambda h, r: flag(h, STEP_DAY),
        {None: Role.village_officer, Stage.eliminated: Role.village_officer},
    ),
}
ORDER_CASES = [
    (name, stage) for name, (_, valid) in STEPS.items() for stage in ALL_STAGES if stage not in valid
]
VALID_CASES = [(name, stage) for name, (_, valid) in STEPS.items() for stage in valid]


@pytest.mark.parametrize(("name", "stage"), ORDER_CASES)
def test_a_step_out_of_order_is_a_state_conflict(name: str, stage: Stage | None) -> None:
    step, valid = STEPS[name]
    h = at(stage)
    version = h.version
    with pytest.raises(StateConflict) as refused:
        step(h, next(iter(valid.values())))
    assert refused.value.rule == ("one_open_procedure" if name == "flag" else "step_order")
    assert h.version == version and h.stage is stage


@pytest.mark.parametrize(("name", "stage"), VALID_CASES)
def test_a_step_in_order_by_its_role_is_taken(name: str, stage: Stage | None) -> None:
    step, valid = STEPS[name]
    events = step(at(stage), valid[stage])
    assert len(events) == 1


ROLE_CASES = [
    (name, stage, role)
    for name, stage in VALID_CASES
    if name != "flag"
    for role in Role
    if role not in (FOLLOWUP_ROLES if name == "record_followup" else (STEPS[name][1][stage],))
]


@pytest.mark.parametrize(("name", "stage", "role"), ROLE_CASES)
def test_a_step_by_another_role_is_not_permitted(name: str, stage: Stage | None, role: Role) -> None:
    step, _ = STEPS[name]
    with pytest.raises(NotPermitted) as refused:
        step(at(stage), role)
    assert refused.value.rule == "step_role"


@pytest.mark.parametrize("source", list(FlagSource))
@pytest.mark.parametrize("role", list(Role))
def test_each_flag_source_has_its_roles(source: FlagSource, role: Role) -> None:
    h = at(None)
    department = Department.health if source is FlagSource.department_alert else None

    def raise_flag() -> list[EventData]:
        return h.flag_risk(
            by_role=role,
            flag_id=uuid.uuid4(),
            source=source,
            risk_types=[RiskType.illness],
            flagged_on=STEP_DAY,
            today=TODAY,
            department=department,
        )

    if role in FLAG_ROLES.get(source, ()):
        [flagged] = raise_flag()
        assert isinstance(flagged, HouseholdFlagged) and flagged.source is source
        assert flagged.department is department
    else:
        with pytest.raises(NotPermitted) as refused:
            raise_flag()
        assert refused.value.rule == "flag_source_role"


def test_a_department_alert_names_its_department_and_no_other_flag_does() -> None:
    h = at(None)
    for source, department in (
        (FlagSource.department_alert, None),
        (FlagSource.cadre_visit, Department.health),
    ):
        with pytest.raises(InvalidInput) as refused:
            h.flag_risk(
                by_role=Role.county_officer,
                flag_id=uuid.uuid4(),
                source=source,
                risk_types=[RiskType.illness],
                flagged_on=STEP_DAY,
                today=TODAY,
                department=department,
            )
        assert refused.value.rule == "department_names_alert"


def test_a_flag_lists_each_risk_once() -> None:
    [flagged] = flag(at(None), risks=[RiskType.disaster, RiskType.illness, RiskType.disaster])
    assert flagged.risk_types == [RiskType.disaster, RiskType.illness]


# -- help: roles, the urgent path --------------------------------------------------------------------

HELP: dict[str, tuple[Callable[[Household, Role], list[EventData]], tuple[Role, ...]]] = {
    "contact": (lambda h, r: contact(h, STEP_DAY, r), ASSISTANCE_ROLES),
    "plan": (lambda h, r: plan(h, STEP_DAY, r), ASSISTANCE_ROLES),
}


@pytest.mark.parametrize("stage", [Stage.monitored, *ELIMINATION])
def test_help_is_recorded_for_monitored_households(stage: Stage) -> None:
    h = at(stage)
    assert types(play(h, contact(h, STEP_DAY))) == [ContactAssigned]
    assert types(play(h, plan(h, STEP_DAY))) == [AssistancePlanned]
    assert types(play(h, deliver(h, STEP_DAY))) == [AssistanceDelivered]


@pytest.mark.parametrize("stage", [None, *ENROLMENT, Stage.eliminated])
def test_help_before_enrolment_or_after_elimination_is_refused(stage: Stage | None) -> None:
    h = at(stage)
    for step in (contact, plan, deliver):
        with pytest.raises(StateConflict) as refused:
            step(h, STEP_DAY)
        assert refused.value.rule == "help_after_enrolment"


@pytest.mark.parametrize("role", list(Role))
def test_help_is_recorded_by_its_roles(role: Role) -> None:
    h = at(Stage.monitored)
    play(h, plan(h, STEP_DAY))
    for name, (step, roles) in {
        **HELP,
        "deliver": (lambda h, r: deliver(h, STEP_DAY, r), DELIVERY_ROLES),
    }.items():
        if role in roles:
            assert len(step(h, role)) == 1, name
        else:
            with pytest.raises(NotPermitted):
                step(h, role)


@pytest.mark.parametrize("risks", [[RiskType.disaster], [RiskType.accident, RiskType.illness]])
def test_the_urgent_path_helps_first_and_takes_the_steps_after(risks: list[RiskType]) -> None:
    h = at(None)
    [flagged] = play(h, flag(h, on=d(1, 5), urgent=True, risks=risks))
    assert flagged.urgent and h.receives_help
    assert types(play(h, contact(h, d(1, 5)))) == [ContactAssigned]
    assert types(play(h, plan(h, d(1, 6)))) == [AssistancePlanned]
    assert types(play(h, deliver(h, d(1, 7)))) == [AssistanceDelivered]
    play(h, verify(h, d(1, 10)))
    assert types(play(h, deliver(h, d(1, 11)))) == [AssistanceDelivered]  # help goes on through the steps
    play(h, deliberate(h, d(1, 15)))
    play(h, review(h, d(1, 20)))
    [enrolled] = play(h, approve(h, d(1, 25), category=MonitoredCategory.sudden_severe_hardship))
    assert isinstance(enrolled, HouseholdEnrolled) and h.stage is Stage.monitored


def test_an_urgent_flag_needs_disaster_or_accident() -> None:
    with pytest.raises(InvalidInput) as refused:
        flag(at(None), urgent=True, risks=[RiskType.illness, RiskType.housing_safety])
    assert refused.value.rule == "urgent_path_disaster_or_accident"


def test_a_rejected_urgent_flag_stops_the_help() -> None:
    h = at(None)
    play(h, flag(h, urgent=True, risks=[RiskType.disaster]))
    play(h, reject(h, d(1, 6), Role.township_officer))
    with pytest.raises(StateConflict):
        contact(h, d(1, 7))


def test_a_delivery_is_of_a_planned_measure() -> None:
    h = at(Stage.monitored)
    with pytest.raises(StateConflict) as refused:
        deliver(h, STEP_DAY)
    assert refused.value.rule == "measure_planned_first"
    play(h, plan(h, STEP_DAY))
    with pytest.raises(StateConflict):
        deliver(h, STEP_DAY, measure=AssistanceMeasure.housing)
    assert types(play(h, deliver(h, STEP_DAY))) == [AssistanceDelivered]


def test_the_same_plan_or_delivery_twice_is_recorded_once() -> None:
    h = at(Stage.monitored)
    plan_id, delivery_id = uuid.uuid4(), uuid.uuid4()
    assert len(play(h, plan(h, STEP_DAY, plan_id=plan_id))) == 1
    assert plan(h, STEP_DAY, plan_id=plan_id) == []
    assert len(play(h, deliver(h, STEP_DAY, delivery_id=delivery_id))) == 1
    assert deliver(h, STEP_DAY, delivery_id=delivery_id) == []


# -- the steps' own rules ----------------------------------------------------------------------------


def test_an_enrolment_verification_confirms_a_risk() -> None:
    with pytest.raises(InvalidInput) as refused:
        verify(at(Stage.flagged), STEP_DAY, risks=[])
    assert refused.value.rule == "verified_risks"


def test_a_deliberation_passes_by_majority_and_posts_its_notice_after() -> None:
    h = at(Stage.verified)
    with pytest.raises(InvalidInput) as tied:
        h.deliberate(
            by_role=Role.village_officer,
            deliberated_on=STEP_DAY,
            today=TODAY,
            votes_for=5,
            votes_against=5,
            notice_from=STEP_DAY,
            notice_days=NOTICE_DAYS,
        )
    assert tied.value.rule == "deliberation_majority"
    with pytest.raises(InvalidInput) as early:
        deliberate(h, STEP_DAY, notice_from=d(7, 31))
    assert early.value.rule == "notice_after_deliberation"


@pytest.mark.parametrize("procedure_stage", [Stage.verified, Stage.elimination_verified])
def test_the_review_waits_for_the_end_of_the_notice(procedure_stage: Stage) -> None:
    h = at(procedure_stage)
    play(h, deliberate(h, d(8, 1), notice_from=d(8, 3)))  # the notice runs 3 to 7 August
    for day in (d(8, 1), d(8, 3), d(8, 7)):
        with pytest.raises(StateConflict) as refused:
            review(h, day)
        assert refused.value.rule == "public_notice_running"
    assert len(review(h, d(8, 8))) == 1


@pytest.mark.parametrize(
    ("status", "category", "fits"),
    [
        (HouseholdStatus.former_poor, MonitoredCategory.unstable_after_exit, True),
        (HouseholdStatus.former_poor, MonitoredCategory.marginal_at_risk, False),
        (HouseholdStatus.former_poor, MonitoredCategory.sudden_severe_hardship, True),
        (HouseholdStatus.ordinary, MonitoredCategory.unstable_after_exit, False),
        (HouseholdStatus.ordinary, MonitoredCategory.marginal_at_risk, True),
        (HouseholdStatus.ordinary, MonitoredCategory.sudden_severe_hardship, True),
        (HouseholdStatus.low_income, MonitoredCategory.unstable_after_exit, False),
        (HouseholdStatus.low_income, MonitoredCategory.marginal_at_risk, True),
        (HouseholdStatus.low_income, MonitoredCategory.sudden_severe_hardship, True),
    ],
)
def test_the_category_fits_the_household(
    status: HouseholdStatus, category: MonitoredCategory, fits: bool
) -> None:
    h = at(Stage.reviewed, status)
    if fits:
        [enrolled] = approve(h, STEP_DAY, category=category)
        assert enrolled.category is category
    else:
        with pytest.raises(InvalidInput) as refused:
            approve(h, STEP_DAY, category=category)
        assert refused.value.rule == "category_fits_household"


def test_enrolment_takes_the_named_risks_or_the_verified_or_the_flagged_ones() -> None:
    h = at(None)
    play(h, flag(h, risks=[RiskType.other]))
    play(h, verify(h, d(1, 10), risks=[RiskType.schooling]))
    play(h, deliberate(h, d(1, 15)))
    play(h, review(h, d(1, 20)))
    [enrolled] = approve(h, d(1, 25))
    assert enrolled.risk_types == [RiskType.schooling]
    [named] = h.approve_enrolment(
        by_role=Role.county_officer,
        enrolled_on=d(1, 25),
        today=TODAY,
        category=MonitoredCategory.unstable_after_exit,
        risk_types=[RiskType.disaster, RiskType.disaster],
        contact_within_days=3,
    )
    assert named.risk_types == [RiskType.disaster]
    assert named.contact_due_on == d(1, 28)


# -- risk elimination: the conditions ----------------------------------------------------------------


def monitored_with(*surveys: tuple[str, QuarterlySurvey | AnnualSurvey]) -> Household:
    """Enrolled on 25 January 2026 (quarter 2026Q1), then surveyed (a monitored household is not flagged)."""
    h = registered(surveys=False)
    for reached, step in PATH[:5]:
        play(h, step(h))
        assert h.stage is reached
    for period, facts in surveys:
        if isinstance(facts, QuarterlySurvey):
            assert types(play(h, survey(h, period, q=facts))) == [HouseholdSurveyed]
        else:
            assert types(play(h, survey(h, period, a=facts))) == [HouseholdSurveyed]
    return h


def refused_proposal(h: Household, months: int = MONTHS) -> str:
    with pytest.raises(StateConflict) as refused:
        propose(h, STEP_DAY, months=months)
    assert refused.value.rule == "elimination_conditions"
    return refused.value.message


def test_elimination_needs_enough_quarters_since_enrolment() -> None:
    good = annual()
    assert "2 quarterly surveys" in refused_proposal(monitored_with(("2025", good)))
    # a quarter before enrolment (2026Q1) does not count
    h = monitored_with(("2025", good), ("2025Q4", quarterly("9000")), ("2026Q1", quarterly("9000")))
    assert "1 on record" in refused_proposal(h)
    h = monitored_with(("2025", good), ("2026Q1", quarterly("9000")), ("2026Q2", quarterly("9000")))
    assert "3 quarterly surveys" in refused_proposal(h, months=7)  # ceil(7 / 3)
    assert "3 quarterly surveys" in refused_proposal(h, months=9)
    [proposed] = propose(h, STEP_DAY, months=6)
    assert proposed.quarters_above_line == ["2026Q1", "2026Q2"]


def test_elimination_needs_consecutive_quarters_at_or_above_the_line() -> None:
    good = annual()
    h = monitored_with(("2025", good), ("2026Q1", quarterly("9000")), ("2026Q3", quarterly("9000")))
    assert "not consecutive" in refused_proposal(h)
    h = monitored_with(("2025", good), ("2026Q1", quarterly("7899.99")), ("2026Q2", quarterly("9000")))
    assert "below the line" in refused_proposal(h)
    # only the latest quarters count: an early one below the line is behind the household
    h = monitored_with(
        ("2025", good),
        ("2026Q1", quarterly("100")),
        ("2026Q2", quarterly("7900")),
        ("2026Q3", quarterly("7900.00")),
    )
    [proposed] = propose(h, STEP_DAY)
    assert proposed.quarters_above_line == ["2026Q2", "2026Q3"]


@pytest.mark.parametrize(
    "lacking",
    [
        {"housing_safe": False},
        {"drinking_water_safe": False},
        {"medical_insured_all": False},
        {"out_of_school": 1},
    ],
)
def test_elimination_needs_every_guarantee_in_the_latest_annual_survey(lacking: dict[str, object]) -> None:
    quarters = (("2026Q1", quarterly("9000")), ("2026Q2", quarterly("9000")))
    assert "annual survey" in refused_proposal(monitored_with(*quarters))
    h = monitored_with(("2024", annual()), ("2025", annual(**lacking)), *quarters)
    assert "2025 annual survey" in refused_proposal(h)
    h = monitored_with(("2024", annual(**lacking)), ("2025", annual()), *quarters)
    assert len(propose(h, STEP_DAY)) == 1


def test_elimination_uses_an_earlier_years_line_when_a_year_has_none() -> None:
    quarters = (("2026Q3", quarterly("9000")), ("2026Q4", quarterly("9000")))
    h = monitored_with(("2025", annual()), *quarters, ("2027Q1", quarterly("7900")))
    [proposed] = propose(h, STEP_DAY)  # no 2027 line: the 2026 one (7900) applies
    assert proposed.quarters_above_line == ["2026Q4", "2027Q1"]
    h = monitored_with(("2025", annual()), *quarters, ("2027Q1", quarterly("7899.99")))
    assert "below the line 7900" in refused_proposal(h)
    with pytest.raises(StateConflict) as refused:
        h.propose_elimination(
            by_role=Role.village_officer,
            proposed_on=STEP_DAY,
            today=TODAY,
            months=MONTHS,
            lines=MonitoringLines(),
        )
    assert "no monitoring line" in refused.value.message


def test_elimination_is_proposed_by_the_village_for_a_monitored_household() -> None:
    with pytest.raises(NotPermitted):
        propose(at(Stage.monitored), STEP_DAY, role=Role.township_officer)
    with pytest.raises(StateConflict):
        propose(at(Stage.flagged), STEP_DAY)


# -- dates -------------------------------------------------------------------------------------------

DATED: dict[str, tuple[Stage | None, Callable[[Household, date], list[EventData]]]] = {
    "flag": (None, lambda h, on: flag(h, on=on)),
    "verify": (Stage.flagged, lambda h, on: verify(h, on)),
    "deliberate": (Stage.verified, lambda h, on: deliberate(h, on)),
    "review": (Stage.deliberated, lambda h, on: review(h, on)),
    "approve": (Stage.reviewed, lambda h, on: approve(h, on)),
    "reject": (Stage.deliberated, lambda h, on: reject(h, on, Role.township_officer)),
    "propose": (Stage.monitored, lambda h, on: propose(h, on)),
    "elimination_verify": (Stage.elimination_proposed, lambda h, on: verify(h, on, risks=[])),
    "elimination_deliberate": (Stage.elimination_verified, lambda h, on: deliberate(h, on)),
    "elimination_review": (Stage.elimination_deliberated, lambda h, on: review(h, on)),
    "eliminate": (Stage.elimination_reviewed, lambda h, on: eliminate(h, on)),
    "elimination_reject": (Stage.elimination_verified, lambda h, on: reject(h, on, Role.village_officer)),
    "followup": (Stage.eliminated, lambda h, on: followup(h, on)),
    "contact": (Stage.monitored, lambda h, on: contact(h, on)),
    "plan": (Stage.monitored, lambda h, on: plan(h, on)),
}


@pytest.mark.parametrize("name", list(DATED))
def test_no_step_is_dated_after_today(name: str) -> None:
    stage, step = DATED[name]
    h = at(stage)
    with pytest.raises(InvalidInput) as refused:
        step(h, date(2026, 12, 1))
    assert refused.value.rule == "date_not_in_future"
    assert len(step(h, TODAY)) == 1


# The step before each of these was on the date given; a step dated the day before is refused.
PRECEDED = {
    "verify": d(1, 5),
    "review": d(1, 15),
    "deliberate": d(1, 10),
    "approve": d(1, 20),
    "reject": d(1, 15),
    "propose": d(1, 25),
    "elimination_verify": d(7, 10),
    "elimination_deliberate": d(7, 12),
    "elimination_review": d(7, 15),
    "eliminate": d(7, 20),
    "elimination_reject": d(7, 12),
    "followup": d(7, 25),
    "contact": d(1, 25),
    "plan": d(1, 25),
}


@pytest.mark.parametrize("name", list(PRECEDED))
def test_no_step_precedes_the_one_before(name: str) -> None:
    stage, step = DATED[name]
    previous = PRECEDED[name]
    h = at(stage)
    with pytest.raises(InvalidInput) as refused:
        step(h, date.fromordinal(previous.toordinal() - 1))
    assert refused.value.rule == "dates_in_order"
    if name not in ("review", "elimination_review"):  # on the deliberation day, the notice runs
        assert len(step(h, previous)) == 1


def test_a_new_proposal_follows_the_rejection_of_the_last_one() -> None:
    h = at(Stage.elimination_verified)
    play(h, reject(h, d(8, 5), Role.village_officer))
    with pytest.raises(InvalidInput) as refused:
        propose(h, d(8, 4))
    assert refused.value.rule == "dates_in_order"
    assert types(propose(h, d(8, 5))) == [RiskEliminationProposed]


def test_urgent_help_starts_with_the_flag() -> None:
    h = at(None)
    play(h, flag(h, on=d(3, 1), urgent=True, risks=[RiskType.accident]))
    with pytest.raises(InvalidInput) as refused:
        contact(h, d(2, 28))
    assert refused.value.rule == "dates_in_order"
    assert types(contact(h, d(3, 1))) == [ContactAssigned]


def test_a_survey_is_not_dated_after_today() -> None:
    h = registered(surveys=False)
    tomorrow = date(2026, 12, 1)
    with pytest.raises(InvalidInput) as refused:
        h.survey(
            survey_id=uuid.uuid4(),
            flag_id=uuid.uuid4(),
            period="2026Q4",
            surveyed_on=tomorrow,
            quarterly=quarterly("100"),
            lines=LINES,
            rules=RULES,
            today=TODAY,
        )
    assert refused.value.rule == "date_not_in_future"
    assert len(survey(h, "2026Q4", q=quarterly("100"), on=TODAY)) == 2


def test_a_review_cannot_precede_its_deliberation_either() -> None:
    h = at(Stage.verified)
    play(h, deliberate(h, d(7, 1), notice_from=d(7, 1)))
    with pytest.raises(InvalidInput) as refused:
        review(h, d(6, 30))
    assert refused.value.rule == "dates_in_order"


# -- surveys and the rules ---------------------------------------------------------------------------


def test_a_survey_below_the_line_flags_the_household_naming_the_rule() -> None:
    h = registered(surveys=False)
    surveyed, flagged = play(h, survey(h, "2026Q1", q=quarterly("7899.99"), on=d(4, 2)))
    assert isinstance(surveyed, HouseholdSurveyed) and surveyed.period == "2026Q1"
    assert isinstance(flagged, HouseholdFlagged)
    assert flagged.source is FlagSource.rule and flagged.rules == ["income_below_line"]
    assert flagged.risk_types == [RiskType.income_drop] and flagged.period == "2026Q1"
    assert flagged.flagged_on == d(4, 2) and "7900" in (flagged.note or "")
    assert h.stage is Stage.flagged


def test_a_survey_at_the_line_flags_nothing() -> None:
    h = registered(surveys=False)
    assert types(survey(h, "2026Q1", q=quarterly("7900"))) == [HouseholdSurveyed]


def test_a_survey_uses_the_line_of_its_year() -> None:
    h = registered(surveys=False)
    assert types(survey(h, "2025Q4", q=quarterly("7700"))) == [HouseholdSurveyed]  # 2025 line: 7600
    assert types(survey(h, "2026Q1", q=quarterly("7700"))) == [HouseholdSurveyed, HouseholdFlagged]


def test_an_income_drop_against_the_same_quarter_last_year_flags() -> None:
    h = registered(surveys=False)
    play(h, survey(h, "2025Q2", q=quarterly("20000")))
    play(h, survey(h, "2026Q1", q=quarterly("10000")))  # another quarter: not compared
    assert types(survey(h, "2026Q2", q=quarterly("14000"))) == [HouseholdSurveyed]  # exactly 30% down
    _, flagged = survey(h, "2026Q2", q=quarterly("13999.99"))
    assert flagged.rules == ["income_drop"]


def test_rigid_expenses_above_their_share_of_income_flag_with_their_causes() -> None:
    h = registered(surveys=False)
    # household income 3 × 10000 = 30000; half of it is 15000
    assert types(survey(h, "2026Q1", q=quarterly("10000", medical="15000"))) == [HouseholdSurveyed]
    _, flagged = survey(h, "2026Q1", q=quarterly("10000", medical="10000", accident="5000.01"))
    assert flagged.rules == ["rigid_expenses"]
    assert flagged.risk_types == [RiskType.illness, RiskType.accident]


def test_an_annual_survey_flags_each_guarantee_that_does_not_hold() -> None:
    h = registered(surveys=False)
    assert types(survey(h, "2025", a=annual())) == [HouseholdSurveyed]
    _, flagged = survey(h, "2025", a=annual(housing_safe=False, out_of_school=1))
    assert flagged.rules == ["guarantees"]
    assert flagged.risk_types == [RiskType.schooling, RiskType.housing_safety]


def test_several_rules_make_one_flag_naming_them_all() -> None:
    h = registered(surveys=False)
    play(h, survey(h, "2025Q1", q=quarterly("20000")))
    _, flagged = survey(h, "2026Q1", q=quarterly("5000", schooling="9000"))
    assert flagged.rules == ["income_below_line", "income_drop", "rigid_expenses"]
    assert flagged.risk_types == [RiskType.income_drop, RiskType.schooling]


def test_disabled_rules_flag_nothing() -> None:
    h = registered(surveys=False)
    off = RiskRules(income_below_line=False, income_drop=False, rigid_expenses=False, guarantees=False)
    assert types(survey(h, "2026Q1", q=quarterly("10", medical="9000"), rules=off)) == [HouseholdSurveyed]
    assert types(survey(h, "2026", a=annual(housing_safe=False), rules=off)) == [HouseholdSurveyed]


@pytest.mark.parametrize("stage", [s for s in Stage if s is not Stage.eliminated])
def test_no_rule_flag_while_a_procedure_is_open(stage: Stage) -> None:
    h = at(stage)
    assert types(survey(h, "2026Q3", q=quarterly("100"))) == [HouseholdSurveyed]


def test_a_rule_flag_after_elimination_is_a_reflag() -> None:
    h = at(Stage.eliminated)
    _, flagged = play(h, survey(h, "2026Q3", q=quarterly("100"), on=d(9, 30)))
    assert isinstance(flagged, HouseholdFlagged) and flagged.reflagged and h.stage is Stage.flagged


def test_the_same_survey_twice_records_nothing_and_a_correction_is_a_new_event() -> None:
    h = registered(surveys=False)
    play(h, survey(h, "2026Q1", q=quarterly("9000")))
    play(h, survey(h, "2025", a=annual()))
    version = h.version
    assert survey(h, "2026Q1", q=quarterly("9000"), on=d(4, 20)) == []
    assert survey(h, "2025", a=annual()) == []
    [corrected] = play(h, survey(h, "2026Q1", q=quarterly("9100")))
    assert isinstance(corrected, HouseholdSurveyed) and h.quarterly["2026Q1"] == quarterly("9100")
    assert h.version == version + 1
    # back to the first figures: that is a correction of the correction, recorded too
    assert types(survey(h, "2026Q1", q=quarterly("9000"))) == [HouseholdSurveyed]


def test_a_batch_records_a_period_once() -> None:
    h = registered(surveys=False)
    [first] = play(h, survey(h, "2026Q1", q=quarterly("9000"), batch_id="B-1"))
    assert first.batch_id == "B-1"
    assert survey(h, "2026Q1", q=quarterly("9900"), batch_id="B-1") == []  # a re-import changes nothing
    assert types(survey(h, "2026Q2", q=quarterly("9900"), batch_id="B-1")) == [HouseholdSurveyed]
    assert types(survey(h, "2026Q1", q=quarterly("9900"), batch_id="B-2")) == [HouseholdSurveyed]


def test_a_survey_is_quarterly_or_annual() -> None:
    h = registered(surveys=False)
    for q, a in ((None, None), (quarterly("1"), annual())):
        with pytest.raises(InvalidInput) as refused:
            survey(h, "2026Q1", q=q, a=a)
        assert refused.value.rule == "survey_kind"


# -- registration, members, erasure ------------------------------------------------------------------


def test_a_household_is_registered_once_with_one_head_and_distinct_member_numbers() -> None:
    h = registered(surveys=False)
    with pytest.raises(StateConflict):
        h.register(
            household_id=HID, village_code=VILLAGE, status=h.status, members=[member(1)], sealed="v1.x"
        )
    fresh = Household()
    for members, rule in (
        ([member(1, Relation.spouse)], "one_head"),
        ([member(1), member(2)], "one_head"),
        ([member(1), member(1, Relation.child)], "member_numbers_unique"),
    ):
        with pytest.raises(InvalidInput) as refused:
            fresh.register(
                household_id=HID, village_code=VILLAGE, status=h.status, members=members, sealed="v1.x"
            )
        assert refused.value.rule == rule
        with pytest.raises(InvalidInput):
            h.update_members(members=members, status=h.status, sealed="v1.x")


def test_members_are_replaced_whole() -> None:
    h = registered(surveys=False)
    [updated] = play(
        h,
        h.update_members(
            members=[member(1), member(2, Relation.child), member(3, Relation.parent)],
            status=HouseholdStatus.low_income,
            sealed="v1.y",
        ),
    )
    assert isinstance(updated, HouseholdMembersUpdated)
    assert len(h.members) == 3 and h.status is HouseholdStatus.low_income


def test_an_unregistered_household_takes_no_step() -> None:
    h = Household()
    for attempt in (
        lambda: flag(h),
        lambda: verify(h, STEP_DAY),
        lambda: contact(h, STEP_DAY),
        lambda: propose(h, STEP_DAY),
        lambda: followup(h, STEP_DAY),
        lambda: survey(h, "2026Q1", q=quarterly("1")),
        lambda: h.erase(erased_on=STEP_DAY, reason="x"),
    ):
        with pytest.raises(NotFound):
            attempt()


def test_erasure_is_recorded_once_and_keeps_the_procedure_going() -> None:
    h = at(Stage.monitored)
    [erased] = play(h, h.erase(erased_on=STEP_DAY, reason="本人申请"))
    assert isinstance(erased, PersonalDataErased) and h.erased
    assert h.erase(erased_on=STEP_DAY, reason="again") == []
    with pytest.raises(StateConflict) as refused:
        h.update_members(members=[member(1)], status=h.status, sealed="v1.z")
    assert refused.value.rule == "personal_data_erased"
    assert h.stage is Stage.monitored and h.category is MonitoredCategory.unstable_after_exit
    assert types(play(h, propose(h, STEP_DAY))) == [RiskEliminationProposed]
