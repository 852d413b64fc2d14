"""The supervision-card tables (红黄绿牌督办): the yellow and red cards one by one, and the count
of each colour by township."""

from __future__ import annotations

from collections import Counter
from typing import Any

from services.reporting.cards.board import CARD_LABELS, SUBJECT_LABELS, board
from services.reporting.facts.model import Facts
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import Column, Kind, Table, totals_row
from shared.events.catalogue.reporting import Card, CardSubject

_NOTES = (
    "牌色为截至统计时点最近一次督办判定的结果；从未亮牌的协议和项目为绿牌。",
    "黄牌：里程碑逾期，或投资落后计划；红牌：里程碑逾期超过规定天数，或协议终止后超过宽限期仍无接力帮扶。",
)

_CARDS = (
    Column("township_code", "乡镇"),
    Column("village_name", "村"),
    Column("subject", "督办对象"),
    Column("name", "项目名称/协议文号"),
    Column("enterprises", "帮扶企业"),
    Column("card", "牌色"),
    Column("since", "亮牌日期", Kind.date),
    Column("reasons", "原因"),
    Column("red", "红牌", Kind.integer, summed=True),
    Column("yellow", "黄牌", Kind.integer, summed=True),
)


@table("cards", "红黄绿牌督办", filed=True)
def cards(facts: Facts, options: Options) -> Table:
    """One row per agreement or project holding a yellow or red card; the totals count them."""
    rows = [
        {
            "township_code": r.township_code,
            "village_name": r.village_name,
            "subject": SUBJECT_LABELS[r.subject],
            "name": r.name,
            "enterprises": "、".join(r.enterprise_names),
            "card": CARD_LABELS[r.card],
            "since": r.since,
            "reasons": "；".join(r.reasons),
            "red": int(r.card is Card.red),
            "yellow": int(r.card is Card.yellow),
        }
        for r in board(facts)
        if r.card is not Card.green
    ]
    key = ("township_code", "village_name", "subject", "name")
    return Table("cards", "红黄绿牌督办", _CARDS, tuple(rows), totals_row(_CARDS, rows), _NOTES, key)


_SUMMARY = (
    Column("township_code", "乡镇"),
    Column("agreements", "结对协议", Kind.integer, summed=True),
    Column("projects", "帮扶项目", Kind.integer, summed=True),
    Column("green", "绿牌", Kind.integer, summed=True),
    Column("yellow", "黄牌", Kind.integer, summed=True),
    Column("red", "红牌", Kind.integer, summed=True),
)


@table("cards-summary", "红黄绿牌汇总", filed=True)
def cards_summary(facts: Facts, options: Options) -> Table:
    """Per township: its agreements and projects, and how many hold each colour."""
    counts: dict[str, Counter[str]] = {}
    for r in board(facts):
        count = counts.setdefault(r.township_code, Counter())
        count["agreements" if r.subject is CardSubject.agreement else "projects"] += 1
        count[r.card.value] += 1
    keys = [c.key for c in _SUMMARY[1:]]
    rows: list[dict[str, Any]] = [
        {"township_code": township, **{k: counts[township][k] for k in keys}} for township in sorted(counts)
    ]
    return Table(
        "cards-summary", "红黄绿牌汇总", _SUMMARY, tuple(rows), totals_row(_SUMMARY, rows), _NOTES[:1]
    )
