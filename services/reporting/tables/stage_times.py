"""The time each step of the enrolment procedure took (各环节用时), per township, against deadlines.

The cases come from the households' steps (``procedures.stage_cases``); the deadlines from the
request's options, so a deadline set after the fact is applied to past cases as well.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from services.reporting.facts.model import Facts
from services.reporting.tables.monitoring_labels import STEPS
from services.reporting.tables.procedures import (
    NOTE_MEDIAN,
    NOTE_PERIOD,
    StageCase,
    in_period,
    median_days,
    stage_cases,
)
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import Column, Kind, Table, totals_row

COLUMNS = (
    Column("township_code", "乡镇代码"),
    Column("step", "环节"),
    Column("cases", "件数", Kind.integer, summed=True),
    Column("waiting", "其中仍在等待", Kind.integer, summed=True),
    Column("urgent", "其中先救助后认定", Kind.integer, summed=True),
    Column("median_days", "中位用时（天）", Kind.integer),
    Column("longest_days", "最长用时（天）", Kind.integer),
    Column("deadline_days", "时限（天）", Kind.integer),
    Column("over_deadline", "超时件数", Kind.integer, summed=True),
)
NOTES = (
    "环节：入户核实（预警→核实）、民主评议公示（核实→评议）、乡镇审核（评议→审核）、县级审定（审核→纳入）、"
    "明确帮扶责任人（纳入→其后第一次明确帮扶责任人），按各事项的日期相减计天数。",
    "件数：本期结束的环节（按结束它的事项计入填报期），加上统计日仍在等待的环节；等待的按截至统计日的天数"
    "计入中位、最长用时和超时件数。",
    "驳回（预警未纳入）结束其所在的环节，计入该环节；同一户多次预警的，每次程序分别计。",
    "先救助后认定（紧急通道）的照常计入各环节并另列件数；纳入前已明确帮扶责任人的，明确帮扶责任人环节计0天。",
    "纳入后未明确帮扶责任人即风险消除的，明确帮扶责任人环节计至风险消除日期。",
    "时限：按本次查询的时限设置，对以往的案例同样适用；用时超过时限天数的计为超时；无时限的环节时限为空。",
    "风险消除程序的核实、评议、审核不计入本表。",
    "合计行：各行件数之和；不同环节的用时不宜合并，故不列中位和最长用时。",
    NOTE_PERIOD,
    NOTE_MEDIAN,
)


@table("stage-times", "各环节用时")
def stage_times(facts: Facts, options: Options) -> Table:
    counted: dict[str, dict[str, list[StageCase]]] = defaultdict(lambda: defaultdict(list))
    for case in stage_cases(facts):
        if case.ended is None or in_period(case.ended, facts, options.period):
            counted[case.township_code][case.step].append(case)
    rows = [
        {
            "township_code": township,
            "step": name,
            **_figures(counted[township][step], options.stage_deadlines.get(step)),
        }
        for township in sorted(counted)
        for step, name in STEPS.items()
    ]
    totals: dict[str, Any] = totals_row(COLUMNS, rows)
    return Table("stage-times", "各环节用时", COLUMNS, tuple(rows), totals, NOTES)


def _figures(cases: list[StageCase], deadline: int | None) -> dict[str, Any]:
    days = [c.days for c in cases]
    return {
        "cases": len(cases),
        "waiting": sum(1 for c in cases if c.ended is None),
        "urgent": sum(1 for c in cases if c.urgent),
        "median_days": median_days(days),
        "longest_days": max(days, default=None),
        "deadline_days": deadline,
        "over_deadline": 0 if deadline is None else sum(1 for d in days if d > deadline),
    }
