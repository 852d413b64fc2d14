"""The supervision-card rules (红黄绿牌), the change decision and the card tables: pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.reporting.cards.changes import change_of
from services.reporting.cards.rules import (
    Judgement,
    Thresholds,
    judge_agreement,
    judge_all,
    judge_project,
    term_end,
)
from services.reporting.facts.model import (
    Agreement,
    CardState,
    Enterprise,
    Facts,
    Investment,
    Milestone,
    Project,
    Village,
)
from services.reporting.periods import HalfYear
from services.reporting.tables.registry import TABLES, Options
from shared.events.catalogue.reporting import Card, CardReason, CardSubject, SupervisionCardChanged

VILLAGE = "150602100002"
ENTERPRISE = uuid.uuid4()
THRESHOLDS = Thresholds(red_overdue_days=90, investment_lag=Decimal("0.3"), relay_grace_days=10)
DESIGN_DUE = date(2027, 3, 31)
BUILT_DUE = date(2027, 6, 30)


def agreement(**changes: object) -> Agreement:
    value = Agreement(
        agreement_id=uuid.uuid4(),
        village_code=VILLAGE,
        enterprise_id=ENTERPRISE,
        signed_on=date(2026, 1, 1),
        term_years=2,
        document_ref="XC-2026-001",
        pathways=("industry",),
        mode="order_farming",
        investment_yuan=Decimal("730000.00"),
        jobs=10,
        trainees=2,
        purchases_yuan=Decimal(0),
        donations_yuan=Decimal(0),
        status="active",
        relays_agreement_id=None,
        terminated_on=None,
        relayed_by=None,
        signed_at=datetime(2026, 1, 1, tzinfo=UTC),
        terminated_at=None,
    )
    return replace(value, **changes)  # type: ignore[arg-type]


def milestone(milestone_id: str, due_on: date, reached_on: date | None = None) -> Milestone:
    return Milestone(milestone_id, f"里程碑{milestone_id}", due_on, reached_on, None)


def project(*agreements: Agreement, **changes: object) -> Project:
    value = Project(
        project_id=uuid.uuid4(),
        village_code=VILLAGE,
        agreement_ids=tuple(a.agreement_id for a in agreements),
        enterprise_ids=(ENTERPRISE,),
        name="肉牛养殖基地",
        industry="beef cattle",
        budget_yuan=Decimal("1000000.00"),
        funding=(("enterprise", Decimal("1000000.00")),),
        beneficiary_households=10,
        jobs=5,
        registered_on=date(2026, 1, 1),
        completed_on=None,
        assets_value_yuan=None,
        milestones=(milestone("design", DESIGN_DUE), milestone("built", BUILT_DUE)),
    )
    return replace(value, **changes)  # type: ignore[arg-type]


def invest(p: Project, amount: str, on: date = date(2026, 6, 1), tranche: int = 1) -> Investment:
    return Investment(
        p.project_id, p.village_code, tranche, "enterprise", Decimal(amount), on, datetime.now(UTC)
    )


def codes(reasons: list[CardReason]) -> list[str]:
    return [r.code for r in reasons]


# --- projects --------------------------------------------------------------------------------


def test_a_project_on_plan_is_green() -> None:
    p = project()
    assert judge_project(p, [], DESIGN_DUE, THRESHOLDS) == (Card.green, [])  # due today is not late


def test_an_overdue_milestone_is_yellow_and_says_which_and_how_long() -> None:
    p = project()
    today = DESIGN_DUE + timedelta(days=5)
    card, reasons = judge_project(p, [invest(p, "500000.00")], today, THRESHOLDS)
    assert card is Card.yellow
    assert codes(reasons) == ["milestone_overdue"]
    assert (
        "里程碑design" in reasons[0].text and "2027-03-31" in reasons[0].text and "逾期5天" in reasons[0].text
    )


def test_overdue_longer_than_the_red_threshold_is_red() -> None:
    p = project()
    invested = [invest(p, "500000.00")]
    at_threshold = DESIGN_DUE + timedelta(days=THRESHOLDS.red_overdue_days)
    assert judge_project(p, invested, at_threshold, THRESHOLDS)[0] is Card.yellow
    card, reasons = judge_project(p, invested, at_threshold + timedelta(days=1), THRESHOLDS)
    assert card is Card.red
    assert codes(reasons) == ["milestone_overdue_long"]
    assert f"逾期{THRESHOLDS.red_overdue_days + 1}天" in reasons[0].text


def test_the_red_threshold_is_configurable() -> None:
    p = project()
    today = DESIGN_DUE + timedelta(days=8)
    invested = [invest(p, "500000.00")]
    assert judge_project(p, invested, today, replace(THRESHOLDS, red_overdue_days=7))[0] is Card.red
    assert judge_project(p, invested, today, replace(THRESHOLDS, red_overdue_days=8))[0] is Card.yellow


def test_a_reached_milestone_is_not_overdue() -> None:
    p = project(milestones=(milestone("design", DESIGN_DUE, reached_on=DESIGN_DUE + timedelta(days=3)),))
    assert judge_project(p, [invest(p, "1000000.00")], DESIGN_DUE + timedelta(days=200), THRESHOLDS) == (
        Card.green,
        [],
    )


def test_investment_behind_the_plan_is_yellow() -> None:
    # One of two milestones passed (reached): half the budget is expected, 500,000.00.
    p = project(milestones=(milestone("design", DESIGN_DUE, DESIGN_DUE), milestone("built", BUILT_DUE)))
    today = DESIGN_DUE + timedelta(days=1)
    expected = p.budget_yuan / 2
    floor = expected * (1 - THRESHOLDS.investment_lag)  # 350,000.00
    assert judge_project(p, [invest(p, str(floor))], today, THRESHOLDS)[0] is Card.green
    below = (floor - Decimal("0.01")).quantize(Decimal("0.01"))
    card, reasons = judge_project(p, [invest(p, str(below))], today, THRESHOLDS)
    assert card is Card.yellow
    assert codes(reasons) == ["investment_behind_plan"]
    assert (
        "1/2" in reasons[0].text and "500,000.00元" in reasons[0].text and f"{below:,}元" in reasons[0].text
    )


def test_a_tranche_dated_after_the_day_does_not_count_yet() -> None:
    # As the tables count investment done: what is dated later is not in yet.
    p = project(milestones=(milestone("design", DESIGN_DUE, DESIGN_DUE), milestone("built", BUILT_DUE)))
    today = DESIGN_DUE + timedelta(days=1)
    enough = str(p.budget_yuan / 2)
    assert judge_project(p, [invest(p, enough, on=today)], today, THRESHOLDS)[0] is Card.green
    later = invest(p, enough, on=today + timedelta(days=1))
    assert judge_project(p, [later], today, THRESHOLDS)[0] is Card.yellow
    a = agreement()
    signed_half_term = a.signed_on + (term_end(a) - a.signed_on) / 2
    tranche = replace(later, amount_yuan=a.investment_yuan, invested_on=signed_half_term + timedelta(days=1))
    assert codes(judge_agreement(a, [project(a)], [tranche], signed_half_term, THRESHOLDS)[1]) == [
        "investment_behind_plan"
    ]


def test_the_lag_threshold_is_configurable_and_other_projects_investments_do_not_count() -> None:
    p = project(milestones=(milestone("design", DESIGN_DUE, DESIGN_DUE),))
    other = project()
    today = DESIGN_DUE + timedelta(days=1)
    investments = [invest(p, "900000.00"), invest(other, "1000000.00")]
    assert judge_project(p, investments, today, THRESHOLDS)[0] is Card.green
    strict = replace(THRESHOLDS, investment_lag=Decimal("0.05"))
    assert codes(judge_project(p, investments, today, strict)[1]) == ["investment_behind_plan"]


def test_nothing_is_expected_before_the_first_milestone_falls_due() -> None:
    p = project()
    assert judge_project(p, [], DESIGN_DUE - timedelta(days=1), THRESHOLDS) == (Card.green, [])


def test_a_project_without_milestones_has_no_lag_rule() -> None:
    p = project(milestones=())
    assert judge_project(p, [], date(2030, 1, 1), replace(THRESHOLDS, investment_lag=Decimal(0))) == (
        Card.green,
        [],
    )


def test_a_completed_project_is_green_whatever_is_overdue() -> None:
    p = project(completed_on=DESIGN_DUE)
    assert judge_project(p, [], BUILT_DUE + timedelta(days=365), THRESHOLDS) == (Card.green, [])


def test_overdue_and_lagging_together_take_the_worst_card() -> None:
    p = project()
    card, reasons = judge_project(p, [], BUILT_DUE + timedelta(days=1), THRESHOLDS)
    # design is 92 days late (red), built 1 day (yellow), nothing invested of the whole budget.
    assert card is Card.red
    assert codes(reasons) == ["milestone_overdue_long", "milestone_overdue", "investment_behind_plan"]


# --- agreements ------------------------------------------------------------------------------


def test_an_active_agreement_on_track_is_green() -> None:
    a = agreement()
    p = project(a)
    today = date(2026, 7, 2)  # 182 of 730 days: 182,000.00 of 730,000.00 expected
    assert judge_agreement(a, [p], [invest(p, "182000.00")], today, THRESHOLDS) == (Card.green, [])


def test_an_agreement_lagging_its_commitment_is_yellow() -> None:
    a = agreement()
    p = project(a)
    today = date(2026, 7, 2)
    assert (term_end(a) - a.signed_on).days == 730
    expected = a.investment_yuan * 182 / 730  # 182,000.00
    floor = expected * (1 - THRESHOLDS.investment_lag)
    assert judge_agreement(a, [p], [invest(p, str(floor))], today, THRESHOLDS)[0] is Card.green
    card, reasons = judge_agreement(a, [p], [invest(p, "127399.99")], today, THRESHOLDS)
    assert card is Card.yellow
    assert codes(reasons) == ["investment_behind_plan"]
    assert "730,000.00元" in reasons[0].text and "182,000.00元" in reasons[0].text
    assert "127,399.99元" in reasons[0].text and "24.9%" in reasons[0].text


def test_an_agreement_counts_the_investment_of_all_its_projects_only() -> None:
    a = agreement()
    mine = [project(a, milestones=()), project(a, milestones=())]
    other = project(milestones=())
    today = date(2026, 7, 2)
    halves = [invest(mine[0], "70000.00"), invest(mine[1], "70000.00")]
    assert judge_agreement(a, [*mine, other], halves, today, THRESHOLDS)[0] is Card.green
    alone = [invest(mine[0], "70000.00"), invest(other, "500000.00")]
    assert judge_agreement(a, [*mine, other], alone, today, THRESHOLDS)[0] is Card.yellow


def test_nothing_is_expected_of_an_agreement_before_it_is_signed_or_without_a_commitment() -> None:
    assert judge_agreement(agreement(), [], [], date(2025, 12, 1), THRESHOLDS) == (Card.green, [])
    uncommitted = agreement(investment_yuan=Decimal(0))
    assert judge_agreement(uncommitted, [], [], date(2027, 12, 1), THRESHOLDS) == (Card.green, [])


def test_an_agreement_takes_the_worst_card_of_its_projects_with_their_names() -> None:
    a = agreement(investment_yuan=Decimal(0))
    late = project(a, name="冷库")
    fine = project(a, name="大棚", milestones=())
    unrelated = project(name="别村项目")
    today = DESIGN_DUE + timedelta(days=100)
    paid = [invest(late, "1000000.00")]
    card, reasons = judge_agreement(a, [late, fine, unrelated], paid, today, THRESHOLDS)
    assert card is Card.red
    assert codes(reasons) == ["milestone_overdue_long", "milestone_overdue"]
    assert all(r.text.startswith("项目「冷库」：") for r in reasons)


def test_a_terminated_agreement_without_relay_is_yellow_within_the_grace_then_red() -> None:
    ended = date(2026, 9, 1)
    a = agreement(status="needs_relay", terminated_on=ended)
    last_grace_day = ended + timedelta(days=THRESHOLDS.relay_grace_days - 1)
    card, reasons = judge_agreement(a, [], [], last_grace_day, THRESHOLDS)
    assert (card, codes(reasons)) == (Card.yellow, ["needs_relay"])
    assert "2026-09-01" in reasons[0].text and "宽限期10天" in reasons[0].text
    card, reasons = judge_agreement(a, [], [], last_grace_day + timedelta(days=1), THRESHOLDS)
    assert (card, codes(reasons)) == (Card.red, ["needs_relay_long"])


def test_without_grace_a_terminated_agreement_is_red_at_once() -> None:
    ended = date(2026, 9, 1)
    a = agreement(status="needs_relay", terminated_on=ended)
    card, reasons = judge_agreement(a, [], [], ended, replace(THRESHOLDS, relay_grace_days=0))
    assert (card, codes(reasons)) == (Card.red, ["needs_relay_long"])


def test_a_terminated_agreement_is_not_held_to_its_commitment() -> None:
    a = agreement(status="needs_relay", terminated_on=date(2026, 9, 1))
    card, reasons = judge_agreement(a, [], [], date(2026, 9, 2), THRESHOLDS)
    assert codes(reasons) == ["needs_relay"]  # no investment_behind_plan, though nothing was invested
    assert card is Card.yellow


def test_a_relayed_agreement_is_green_and_says_it_was_handed_over() -> None:
    a = agreement(status="relayed", terminated_on=date(2026, 9, 1), relayed_by=uuid.uuid4())
    late = project(a)
    card, reasons = judge_agreement(a, [late], [], date(2028, 1, 1), THRESHOLDS)
    assert card is Card.green
    assert [(r.code, r.card) for r in reasons] == [("relayed", Card.green)]
    assert "接力" in reasons[0].text


def test_a_term_from_the_29th_of_february_ends_on_the_28th() -> None:
    assert term_end(agreement(signed_on=date(2028, 2, 29), term_years=1)) == date(2029, 2, 28)


def test_judge_all_judges_every_agreement_and_project() -> None:
    a = agreement(investment_yuan=Decimal(0))
    p = project(a)
    today = DESIGN_DUE + timedelta(days=1)
    facts = Facts(
        region="",
        as_of=datetime.now(UTC),
        today=today,
        agreements=(a,),
        projects=(p,),
        investments=(invest(p, "1000000.00"),),
    )
    judged = {(j.subject, j.subject_id): j for j in judge_all(facts, THRESHOLDS)}
    assert set(judged) == {(CardSubject.agreement, a.agreement_id), (CardSubject.project, p.project_id)}
    assert {j.card for j in judged.values()} == {Card.yellow}
    assert {j.judged_on for j in judged.values()} == {today}
    assert {j.village_code for j in judged.values()} == {VILLAGE}


# --- changes ---------------------------------------------------------------------------------

YELLOW = CardReason(code="milestone_overdue", card=Card.yellow, text="里程碑逾期1天")
RED = CardReason(code="milestone_overdue_long", card=Card.red, text="里程碑逾期91天")


def judgement(card: Card, *reasons: CardReason) -> Judgement:
    return Judgement(CardSubject.project, uuid.uuid4(), VILLAGE, card, reasons, date(2027, 4, 1))


def published(j: Judgement, card: Card, *reasons: CardReason) -> SupervisionCardChanged:
    return SupervisionCardChanged(
        subject=j.subject,
        subject_id=j.subject_id,
        village_code=j.village_code,
        card=card,
        previous=None,
        reasons=list(reasons),
        judged_on=date(2027, 3, 1),
    )


def test_a_first_card_is_published_only_when_not_green() -> None:
    assert change_of(judgement(Card.green), None) is None
    first = judgement(Card.yellow, YELLOW)
    change = change_of(first, None)
    assert change is not None
    assert (change.card, change.previous, change.reasons, change.judged_on) == (
        Card.yellow,
        None,
        [YELLOW],
        first.judged_on,
    )


def test_a_new_colour_is_a_change_with_the_previous_card() -> None:
    j = judgement(Card.red, RED)
    change = change_of(j, published(j, Card.yellow, YELLOW))
    assert change is not None and (change.card, change.previous) == (Card.red, Card.yellow)
    back = change_of(judgement(Card.green), published(j, Card.red, RED))
    assert back is not None and (back.card, back.previous, back.reasons) == (Card.green, Card.red, [])


def test_the_same_colour_and_reasons_is_no_change_even_with_new_figures() -> None:
    j = judgement(Card.yellow, YELLOW.model_copy(update={"text": "里程碑逾期30天"}))
    assert change_of(j, published(j, Card.yellow, YELLOW)) is None
    assert change_of(judgement(Card.green), published(j, Card.green)) is None


def test_the_same_colour_for_other_reasons_is_a_change() -> None:
    lag = CardReason(code="investment_behind_plan", card=Card.yellow, text="投资落后")
    j = judgement(Card.yellow, lag)
    change = change_of(j, published(j, Card.yellow, YELLOW))
    assert change is not None and (change.card, change.previous, change.reasons) == (
        Card.yellow,
        Card.yellow,
        [lag],
    )


# --- tables ----------------------------------------------------------------------------------


def test_the_card_tables_list_the_non_green_cards_and_count_each_colour_by_township() -> None:
    towns = ("150602100", "150602200")
    villages = tuple(Village(f"{t}001", f"村{i}", "key_support", False) for i, t in enumerate(towns))
    a = agreement(village_code=villages[0].village_code)
    p_red = project(a, village_code=villages[0].village_code, name="冷库")
    p_green = project(village_code=villages[1].village_code, name="大棚")
    a_yellow = agreement(village_code=villages[1].village_code, document_ref="XC-2026-009")
    since = date(2027, 4, 1)
    cards = (
        CardState("project", p_red.project_id, p_red.village_code, "red", ("里程碑逾期91天",), since),
        CardState("agreement", a_yellow.agreement_id, a_yellow.village_code, "yellow", ("投资落后",), since),
        CardState("agreement", a.agreement_id, a.village_code, "green", (), since),
    )
    facts = Facts(
        region="150602",
        as_of=datetime.now(UTC),
        today=date(2027, 4, 2),
        villages=villages,
        enterprises=(Enterprise(ENTERPRISE, "企业1", "x", "private_enterprise", "150602", None),),
        agreements=(a, a_yellow),
        projects=(p_red, p_green),
        cards=cards,
    )
    options = Options(period=HalfYear.of(facts.today))
    listed = TABLES["cards"].build(facts, options)
    assert [(r["name"], r["card"], r["reasons"]) for r in listed.rows] == [
        ("冷库", "红牌", "里程碑逾期91天"),
        ("XC-2026-009", "黄牌", "投资落后"),
    ]
    assert listed.rows[0]["village_name"] == "村0" and listed.rows[1]["enterprises"] == "企业1"
    assert listed.totals is not None and (listed.totals["red"], listed.totals["yellow"]) == (1, 1)

    summary = TABLES["cards-summary"].build(facts, options)
    assert [dict(r) for r in summary.rows] == [
        {"township_code": towns[0], "agreements": 1, "projects": 1, "green": 1, "yellow": 0, "red": 1},
        {"township_code": towns[1], "agreements": 1, "projects": 1, "green": 1, "yellow": 1, "red": 0},
    ]
    assert summary.totals is not None and summary.totals["green"] == 2
    assert TABLES["cards"].filed and TABLES["cards-summary"].filed


@pytest.mark.parametrize("lag", [Decimal(0), Decimal(1)])
def test_a_lag_of_0_tolerates_nothing_and_of_1_everything(lag: Decimal) -> None:
    p = project(milestones=(milestone("design", DESIGN_DUE),))
    short_by_a_cent = [invest(p, str(p.budget_yuan - Decimal("0.01")))]
    card, reasons = judge_project(
        p, short_by_a_cent, DESIGN_DUE + timedelta(days=1), replace(THRESHOLDS, investment_lag=lag)
    )
    assert card is Card.yellow  # the milestone is overdue either way
    assert ("investment_behind_plan" in codes(reasons)) is (lag == 0)
