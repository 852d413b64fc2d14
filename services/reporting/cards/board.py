"""The card board: every agreement and project of a region with its card as last published, and
the names an officer knows it by. Pure: the API and the card tables both read it.

A subject whose card was never published is green (the judge publishes a first card only when it
is not green); ``since`` is then None.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from services.reporting.facts.model import Facts
from shared.events.catalogue.reporting import Card, CardSubject

CARD_LABELS = {Card.green: "绿牌", Card.yellow: "黄牌", Card.red: "红牌"}
SUBJECT_LABELS = {CardSubject.agreement: "结对协议", CardSubject.project: "帮扶项目"}
_ORDER = {Card.red: 0, Card.yellow: 1, Card.green: 2}


@dataclass(frozen=True)
class CardRow:
    subject: CardSubject
    subject_id: uuid.UUID
    village_code: str
    village_name: str
    enterprise_names: tuple[str, ...]  # an agreement's enterprise; a project's builders
    name: str  # a project's name; an agreement's document reference (协议文号)
    card: Card
    reasons: tuple[str, ...]
    since: date | None

    @property
    def township_code(self) -> str:
        return self.village_code[:9]

    def as_json(self) -> dict[str, object]:
        return {
            "subject": self.subject.value,
            "subject_id": str(self.subject_id),
            "village_code": self.village_code,
            "village_name": self.village_name,
            "enterprise_names": list(self.enterprise_names),
            "name": self.name,
            "card": self.card.value,
            "reasons": list(self.reasons),
            "since": self.since.isoformat() if self.since else None,
        }


def board(facts: Facts) -> list[CardRow]:
    """Red first, then yellow, then green; within a colour by village, subject and name."""
    villages = {v.village_code: v.name for v in facts.villages}
    enterprises = {e.enterprise_id: e.name for e in facts.enterprises}
    cards = {(c.subject, c.subject_id): c for c in facts.cards}
    rows: list[CardRow] = []
    subjects = [
        (CardSubject.agreement, a.agreement_id, a.village_code, (a.enterprise_id,), a.document_ref)
        for a in facts.agreements
    ] + [
        (CardSubject.project, p.project_id, p.village_code, p.enterprise_ids, p.name) for p in facts.projects
    ]
    for subject, subject_id, village_code, enterprise_ids, name in subjects:
        state = cards.get((subject.value, subject_id))
        rows.append(
            CardRow(
                subject=subject,
                subject_id=subject_id,
                village_code=village_code,
                village_name=villages.get(village_code, ""),
                enterprise_names=tuple(enterprises.get(e, str(e)) for e in enterprise_ids),
                name=name,
                card=Card(state.card) if state else Card.green,
                reasons=state.reasons if state else (),
                since=state.since if state else None,
            )
        )
    rows.sort(key=lambda r: (_ORDER[r.card], r.village_code, r.subject.value, r.name, str(r.subject_id)))
    return rows
