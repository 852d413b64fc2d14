"""The rules of the supervision cards (红黄绿牌): pure functions of the facts and a date.

A project is
- green when completed, or while nothing below applies;
- yellow when a milestone is overdue (due before today, not reached), red when one is overdue by
  more than ``red_overdue_days``;
- yellow when its investment lags the plan: by today it should have
  ``budget × milestones due before today ÷ all milestones``, and it lags when it has less than
  that × (1 − ``investment_lag``). A project without milestones has no plan to lag behind (it has
  no planned end either), so the rule does not apply to it.

An agreement is
- green once relayed (接力帮扶: another enterprise carries it on), with a ``relayed`` reason that
  says so, whatever its projects show;
- otherwise the worst of its projects' cards (the projects naming it in ``agreement_ids``, each
  reason prefixed with the project's name), and
- while active, yellow when its projects' investment lags the commitment: by today it should have
  ``committed investment × elapsed share of the term`` (signing to signing + term years, linear);
- when terminated without a relay, yellow for ``relay_grace_days`` days from ``terminated_on``,
  red from then on (a grace of 0 makes it red at once).

Reasons carry the facts in Chinese (which milestone, how many days, how much of how much).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from services.reporting.facts.model import Agreement, Facts, Investment, Project
from shared.events.catalogue.reporting import Card, CardReason, CardSubject
from shared.settings import Settings

_RANK = {Card.green: 0, Card.yellow: 1, Card.red: 2}
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Thresholds:
    red_overdue_days: int = 90
    investment_lag: Decimal = Decimal("0.3")  # a share: 0.3 tolerates 30 % behind the plan
    relay_grace_days: int = 0

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            settings.card_red_overdue_days, settings.card_investment_lag, settings.card_relay_grace_days
        )


@dataclass(frozen=True)
class Judgement:
    """The card one subject deserves on ``judged_on``."""

    subject: CardSubject
    subject_id: uuid.UUID
    village_code: str
    card: Card
    reasons: tuple[CardReason, ...]
    judged_on: date


def worst(reasons: Iterable[CardReason]) -> Card:
    return max((r.card for r in reasons), key=_RANK.__getitem__, default=Card.green)


def judge_project(
    project: Project, investments: Iterable[Investment], today: date, thresholds: Thresholds
) -> tuple[Card, list[CardReason]]:
    """``investments`` may hold other projects' too: only this project's count."""
    if project.completed_on is not None:
        return Card.green, []
    reasons = [*_overdue(project, today, thresholds), *_project_lag(project, investments, today, thresholds)]
    return worst(reasons), reasons


def judge_agreement(
    agreement: Agreement,
    projects: Iterable[Project],
    investments: Iterable[Investment],
    today: date,
    thresholds: Thresholds,
) -> tuple[Card, list[CardReason]]:
    """``projects`` and ``investments`` may hold others too: only the agreement's projects count."""
    if agreement.status == "relayed":
        text = "协议已终止，已由接力企业接续帮扶，不再督办"
        if agreement.terminated_on is not None:
            text = f"协议已于{agreement.terminated_on.isoformat()}终止，已由接力企业接续帮扶，不再督办"
        return Card.green, [CardReason(code="relayed", card=Card.green, text=text)]
    own = [p for p in projects if agreement.agreement_id in p.agreement_ids]
    ids = {p.project_id for p in own}
    own_investments = [i for i in investments if i.project_id in ids]
    reasons: list[CardReason] = []
    for project in own:
        _, found = judge_project(project, own_investments, today, thresholds)
        reasons += [r.model_copy(update={"text": f"项目「{project.name}」：{r.text}"}) for r in found]
    if agreement.status == "needs_relay":
        reasons.append(_needs_relay(agreement, today, thresholds))
    elif agreement.status == "active":
        reasons += _agreement_lag(agreement, own_investments, today, thresholds)
    return worst(reasons), reasons


def judge_all(facts: Facts, thresholds: Thresholds) -> list[Judgement]:
    """Every agreement and project of ``facts``, judged on ``facts.today``."""
    today = facts.today
    by_project: dict[uuid.UUID, list[Investment]] = defaultdict(list)
    for investment in facts.investments:
        by_project[investment.project_id].append(investment)
    by_agreement: dict[uuid.UUID, list[Project]] = defaultdict(list)
    for project in facts.projects:
        for agreement_id in project.agreement_ids:
            by_agreement[agreement_id].append(project)
    out: list[Judgement] = []
    for agreement in facts.agreements:
        projects = by_agreement.get(agreement.agreement_id, [])
        investments = [i for p in projects for i in by_project.get(p.project_id, [])]
        card, reasons = judge_agreement(agreement, projects, investments, today, thresholds)
        out.append(
            Judgement(
                CardSubject.agreement,
                agreement.agreement_id,
                agreement.village_code,
                card,
                tuple(reasons),
                today,
            )
        )
    for project in facts.projects:
        card, reasons = judge_project(project, by_project.get(project.project_id, []), today, thresholds)
        out.append(
            Judgement(
                CardSubject.project, project.project_id, project.village_code, card, tuple(reasons), today
            )
        )
    return out


def _overdue(project: Project, today: date, thresholds: Thresholds) -> list[CardReason]:
    reasons = []
    for m in project.milestones:
        if m.reached_on is not None or m.due_on >= today:
            continue
        days = (today - m.due_on).days
        text = f"里程碑「{m.name}」应于{m.due_on.isoformat()}完成，已逾期{days}天"
        if days > thresholds.red_overdue_days:
            reasons.append(
                CardReason(
                    code="milestone_overdue_long",
                    card=Card.red,
                    text=f"{text}（超过{thresholds.red_overdue_days}天）",
                )
            )
        else:
            reasons.append(CardReason(code="milestone_overdue", card=Card.yellow, text=text))
    return reasons


def _project_lag(
    project: Project, investments: Iterable[Investment], today: date, thresholds: Thresholds
) -> list[CardReason]:
    if not project.milestones:
        return []
    due = sum(1 for m in project.milestones if m.due_on < today)
    expected = project.budget_yuan * due / len(project.milestones)
    invested = _sum(
        i.amount_yuan for i in investments if i.project_id == project.project_id and i.invested_on <= today
    )
    if not _lags(invested, expected, thresholds):
        return []
    text = (
        f"计划到期里程碑{due}/{len(project.milestones)}个，按预算{_yuan(project.budget_yuan)}应投资"
        f"{_yuan(expected)}，实际投资{_yuan(invested)}，落后超过{_share(thresholds.investment_lag)}"
    )
    return [CardReason(code="investment_behind_plan", card=Card.yellow, text=text)]


def _agreement_lag(
    agreement: Agreement, investments: Sequence[Investment], today: date, thresholds: Thresholds
) -> list[CardReason]:
    committed = agreement.investment_yuan
    term_days = (term_end(agreement) - agreement.signed_on).days
    if committed <= 0 or term_days <= 0:
        return []
    elapsed = min(max((today - agreement.signed_on).days, 0), term_days)
    expected = committed * elapsed / term_days
    invested = _sum(i.amount_yuan for i in investments if i.invested_on <= today)  # as the tables count it
    if not _lags(invested, expected, thresholds):
        return []
    text = (
        f"协议期{agreement.term_years}年已过{_share(Decimal(elapsed) / term_days)}，"
        f"承诺投资{_yuan(committed)}应完成{_yuan(expected)}，"
        f"所属项目实际投资{_yuan(invested)}，落后超过{_share(thresholds.investment_lag)}"
    )
    return [CardReason(code="investment_behind_plan", card=Card.yellow, text=text)]


def _needs_relay(agreement: Agreement, today: date, thresholds: Thresholds) -> CardReason:
    ended = agreement.terminated_on or today
    days = (today - ended).days
    grace = thresholds.relay_grace_days
    head = f"协议已于{ended.isoformat()}终止，尚无接力帮扶"
    if days < grace:
        return CardReason(
            code="needs_relay", card=Card.yellow, text=f"{head}（终止{days}天，宽限期{grace}天）"
        )
    tail = f"（终止{days}天，超过宽限期{grace}天）" if grace else "（无宽限期）"
    return CardReason(code="needs_relay_long", card=Card.red, text=head + tail)


def term_end(agreement: Agreement) -> date:
    """The day the agreement's term ends: its signing day ``term_years`` later (29 Feb → 28 Feb)."""
    start = agreement.signed_on
    year = start.year + agreement.term_years
    try:
        return start.replace(year=year)
    except ValueError:
        return start.replace(year=year, day=28)


def _lags(invested: Decimal, expected: Decimal, thresholds: Thresholds) -> bool:
    return expected > 0 and invested < expected * (1 - thresholds.investment_lag)


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal(0))


def _yuan(amount: Decimal) -> str:
    return f"{amount.quantize(_CENT, ROUND_HALF_UP):,}元"


def _share(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
