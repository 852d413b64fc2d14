"""What the dashboard shows of a region, computed from its ``Facts`` (pure): the key figures, the
figures of each sub-region one level down (for the charts and the drill-down), the monitored
households by workflow stage and category, and the supervision cards (红黄绿牌).

The coverage rule is the coverage table's own (``tables.coverage.eligible``) and the cards are
the card board's (``cards.board``, as ``GET /cards`` answers), so that the dashboard never
disagrees with the tables and lists it sits beside.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.reporting.cards.board import CARD_LABELS, SUBJECT_LABELS, board
from services.reporting.facts.model import Facts
from services.reporting.tables.coverage import eligible
from services.reporting.tables.table import percent
from shared.events import labels
from shared.events.catalogue.reporting import Card

# The division levels: code length → the level's Chinese name.
LEVELS: dict[int, str] = {2: "省", 4: "市", 6: "县", 9: "乡镇", 12: "村"}

STAGES: tuple[tuple[str, str], ...] = tuple((stage.value, name) for stage, name in labels.STAGES.items())
CATEGORIES: tuple[tuple[str, str], ...] = (
    *((category.value, name) for category, name in labels.MONITORED_CATEGORIES.items()),
    ("none", "尚未认定类别"),  # still in the enrolment procedure
)
CARDS: tuple[tuple[str, str], ...] = tuple(
    (c.value, CARD_LABELS[c]) for c in (Card.red, Card.yellow, Card.green)
)


def child_length(region: str) -> int | None:
    """The code length one level below ``region``; None for a village (the bottom)."""
    return next((n for n in LEVELS if n > len(region)), None)


@dataclass
class _Area:
    villages: int = 0
    agreements: int = 0
    projects: int = 0
    invested: Decimal = Decimal("0.00")
    monitored: int = 0
    eligible: int = 0
    bound: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "villages": self.villages,
            "active_agreements": self.agreements,
            "projects": self.projects,
            "invested_yuan": str(self.invested),
            "monitored": self.monitored,
            "eligible": self.eligible,
            "bound": self.bound,
            "coverage_percent": _number(percent(self.bound, self.eligible)),
        }


def summary(facts: Facts) -> dict[str, Any]:
    names = {v.village_code: v.name for v in facts.villages}
    length = child_length(facts.region)
    whole = _areas(facts, lambda code: "").get("", _Area())
    children = _areas(facts, lambda code: code[:length]) if length else {}
    return {
        "region": facts.region,
        "level": LEVELS.get(len(facts.region), "全部"),
        "region_name": names.get(facts.region, ""),
        "child_level": LEVELS.get(length) if length else None,
        "figures": {"enterprises": _enterprises(facts), **whole.as_json()},
        "children": [
            {"code": code, "name": names.get(code, ""), **children[code].as_json()}
            for code in sorted(children)
        ],
        "monitoring": _monitoring(facts),
        "cards": _cards(facts),
    }


def _areas(facts: Facts, area: Callable[[str], str]) -> dict[str, _Area]:
    areas: dict[str, _Area] = defaultdict(_Area)
    for village in facts.villages:
        areas[area(village.village_code)].villages += 1
    for agreement in facts.agreements:
        if agreement.status == "active":
            areas[area(agreement.village_code)].agreements += 1
    for project in facts.projects:
        areas[area(project.village_code)].projects += 1
    for investment in facts.investments:
        if investment.invested_on <= facts.today:  # as the tables count investment done
            areas[area(investment.village_code)].invested += investment.amount_yuan
    bound = _bound_households(facts)
    for household in facts.households:
        count = areas[area(household.village_code)]
        count.monitored += household.monitored
        if eligible(household):
            count.eligible += 1
            count.bound += household.household_id in bound
    return areas


def _bound_households(facts: Facts) -> set[Any]:
    return {
        b.household_id
        for b in facts.bindings
        if b.kind == "cooperative_household" and b.active_on(facts.today) and b.household_id is not None
    }


def _enterprises(facts: Facts) -> int:
    """Enterprises taking part (参与帮扶企业): with an agreement in force in the region, as the
    statistics table counts them."""
    return len({a.enterprise_id for a in facts.agreements if a.status == "active"})


def _monitoring(facts: Facts) -> dict[str, Any]:
    counts: Counter[tuple[str, str]] = Counter(
        (h.stage, h.category or "none") for h in facts.households if h.stage is not None
    )
    return {
        "categories": _labelled(CATEGORIES),
        "stages": [
            {
                "key": stage,
                "label": label,
                "counts": {category: counts[(stage, category)] for category, _ in CATEGORIES},
                "total": sum(counts[(stage, category)] for category, _ in CATEGORIES),
            }
            for stage, label in STAGES
        ],
    }


def _cards(facts: Facts) -> dict[str, Any]:
    """The card board's counts by colour and its red and yellow rows (the same board as GET /cards)."""
    rows = board(facts)
    counts = Counter(r.card.value for r in rows)
    return {
        "colours": _labelled(CARDS),
        "counts": {colour: counts[colour] for colour, _ in CARDS},
        "flagged": [
            {**r.as_json(), "subject_label": SUBJECT_LABELS[r.subject]}
            for r in rows
            if r.card is not Card.green
        ],
    }


def _labelled(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": key, "label": label} for key, label in pairs]


def _number(value: Decimal | None) -> float | None:
    """A percentage for the page (one decimal already): JSON number, None when there is no base."""
    return float(value) if value is not None else None
