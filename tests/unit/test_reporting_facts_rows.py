"""The monitoring facts' rows: a survey read raw from its stored data (the rebuild's hot path)
gives the same row as the decoded event, and the fold follows the workflow's stages."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from services.reporting.facts.monitoring import fold, raw_survey_row, registered, survey_row
from shared.events.catalogue.monitoring import (
    AnnualSurvey,
    FlagRejected,
    FlagSource,
    HouseholdFlagged,
    HouseholdRegistered,
    HouseholdStatus,
    HouseholdSurveyed,
    LabourAbility,
    Member,
    QuarterlySurvey,
    Relation,
    RigidExpenses,
    RiskType,
    Schooling,
    Stage,
)
from shared.events.envelope import Actor
from shared.eventstore.context import CommandContext, wrap
from shared.messaging.projector import RawEvent

VILLAGE = "150602100001"
HOUSEHOLD = uuid.UUID("01900000-0000-7000-8000-000000000001")
CTX = CommandContext(
    actor=Actor(id="t", role="village_officer", region_code=VILLAGE),
    now=datetime(2026, 3, 1, 4, tzinfo=UTC),
    correlation_id="c",
)


def surveys() -> list[HouseholdSurveyed]:
    quarterly = QuarterlySurvey(
        members=4,
        per_capita_net_income_yuan=Decimal("7123.45"),
        expenses=RigidExpenses(medical=Decimal("1200.50"), schooling=Decimal("300")),
    )
    annual = AnnualSurvey(
        pension_insured=2,
        medical_insured_all=False,
        children_of_compulsory_age=2,
        out_of_school=1,
        labourers=2,
        employed=1,
        housing_safe=True,
        drinking_water_safe=False,
    )
    return [
        HouseholdSurveyed(
            household_id=HOUSEHOLD,
            survey_id=uuid.uuid4(),
            period="2026Q1",
            surveyed_on=date(2026, 3, 28),
            quarterly=quarterly,
        ),
        HouseholdSurveyed(
            household_id=HOUSEHOLD,
            survey_id=uuid.uuid4(),
            period="2026",
            surveyed_on=date(2026, 12, 20),
            annual=annual,
        ),
    ]


def test_a_raw_survey_row_equals_the_decoded_one() -> None:
    for envelope, event in zip(
        wrap(CTX, f"household-{HOUSEHOLD}", 1, VILLAGE, surveys()), surveys(), strict=True
    ):
        decoded = survey_row(envelope, HouseholdSurveyed.model_validate(envelope.data))
        raw = raw_survey_row(envelope, RawEvent(envelope.data))
        assert raw == decoded
        assert [type(v) for v in raw] == [type(v) for v in decoded]
        assert event.period == raw[3]


def test_a_rejected_flag_returns_to_no_procedure_or_to_eliminated() -> None:
    member = Member(
        member_no=1,
        relation=Relation.head,
        age=40,
        labour=LabourAbility.ordinary,
        schooling=Schooling.primary,
        sealed="v1.x",
    )
    flag = uuid.uuid4()
    events = [
        HouseholdRegistered(
            household_id=HOUSEHOLD,
            village_code=VILLAGE,
            status=HouseholdStatus.former_poor,
            members=[member],
            sealed="v1.x",
        ),
        HouseholdFlagged(
            household_id=HOUSEHOLD,
            flag_id=flag,
            source=FlagSource.cadre_visit,
            risk_types=[RiskType.illness],
            flagged_on=date(2026, 2, 1),
        ),
        FlagRejected(
            household_id=HOUSEHOLD,
            flag_id=flag,
            stage=Stage.flagged,
            reason="否",
            rejected_on=date(2026, 2, 3),
        ),
    ]
    state = None
    stages = []
    for envelope, event in zip(wrap(CTX, f"household-{HOUSEHOLD}", 0, VILLAGE, events), events, strict=True):
        state, step = fold(state, envelope, event)
        stages.append((step.kind, state.stage, state.labourers))
    assert stages == [("registered", None, 1), ("flagged", "flagged", 1), ("flag_rejected", None, 1)]
    eliminated_before = state.__class__(**{**state.__dict__, "times_eliminated": 1, "stage": "flagged"})
    envelope = wrap(CTX, f"household-{HOUSEHOLD}", 3, VILLAGE, [events[2]])[0]
    after, _ = fold(eliminated_before, envelope, events[2])
    assert after.stage == Stage.eliminated.value


def test_a_raw_registration_folds_as_the_decoded_one() -> None:
    members = [
        Member(
            member_no=1,
            relation=Relation.head,
            age=50,
            labour=LabourAbility.ordinary,
            schooling=Schooling.primary,
            sealed="v1.a",
        ),
        Member(
            member_no=2,
            relation=Relation.child,
            age=9,
            labour=LabourAbility.none,
            schooling=Schooling.compulsory_in_school,
            sealed="v1.b",
        ),
        Member(
            member_no=3,
            relation=Relation.spouse,
            age=48,
            labour=LabourAbility.weak,
            schooling=Schooling.primary,
            sealed="v1.c",
        ),
    ]
    event = HouseholdRegistered(
        household_id=HOUSEHOLD,
        village_code=VILLAGE,
        status=HouseholdStatus.low_income,
        members=members,
        sealed="v1.x",
    )
    envelope = wrap(CTX, f"household-{HOUSEHOLD}", 0, VILLAGE, [event])[0]
    decoded = fold(None, envelope, HouseholdRegistered.model_validate(envelope.data))
    assert registered(envelope, RawEvent(envelope.data)) == decoded
    assert (decoded[0].members, decoded[0].labourers, decoded[0].status) == (3, 2, "low_income")
