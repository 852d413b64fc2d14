"""The monitoring tables (防返贫动态监测): monitored households by township, category, stage and risk
type, the period's flows, the time from flag to enrolment and to contact, the return-to-poverty rate.

Pure builders of a region's ``Facts``; the procedures and their step times come from
``procedures.py``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from services.reporting.facts.model import Facts, Household, HouseholdStep
from services.reporting.tables.monitoring_labels import CATEGORIES, RISKS, STAGES
from services.reporting.tables.procedures import (
    CONTACT,
    NOTE_MEDIAN,
    NOTE_PERIOD,
    in_period,
    median_days,
    procedures,
    stage_cases,
)
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import TOTAL_LABEL, Column, Kind, Table, percent, totals_row
from shared.events.catalogue.monitoring import HouseholdStatus, MonitoredCategory, RiskType, Stage

_ENROLMENT_STAGES = (Stage.flagged, Stage.verified, Stage.deliberated, Stage.reviewed)
# The population of the seed plan's indicator 1 (低收入人口返贫致贫率): 脱贫户 and 农村低收入人口.
_RATE_STATUSES = frozenset({HouseholdStatus.former_poor.value, HouseholdStatus.low_income.value})

# -- 防返贫监测统计 ----------------------------------------------------------------------------------

_CATEGORY_COLUMNS = tuple(
    Column(c.value, CATEGORIES[c], Kind.integer, summed=True) for c in MonitoredCategory
)
_STAGE_COLUMNS = tuple(Column(s.value, STAGES[s], Kind.integer, summed=True) for s in _ENROLMENT_STAGES)
_FLAG_TO_ENROLMENT = "days_flag_to_enrolment"
_ENROLMENT_TO_CONTACT = "days_enrolment_to_contact"
MONITORING_COLUMNS = (
    Column("township_code", "乡镇代码"),
    Column("households", "农户数", Kind.integer, summed=True),
    *_CATEGORY_COLUMNS,
    Column("monitored", "监测户合计", Kind.integer, summed=True),
    *_STAGE_COLUMNS,
    Column("in_elimination", "风险消除程序中", Kind.integer, summed=True),
    Column("eliminated", "风险已消除", Kind.integer, summed=True),
    Column("enrolled_in_period", "本期新纳入（户次）", Kind.integer, summed=True),
    Column("eliminated_in_period", "本期风险消除（户次）", Kind.integer, summed=True),
    Column("reflagged_in_period", "本期消除后再预警（户次）", Kind.integer, summed=True),
    Column("rejected_in_period", "本期预警未纳入（户次）", Kind.integer, summed=True),
    Column(_FLAG_TO_ENROLMENT, "预警至纳入中位天数", Kind.integer),
    Column(_ENROLMENT_TO_CONTACT, "纳入至明确帮扶责任人中位天数", Kind.integer),
    Column("rate_base", "脱贫户和低收入户数", Kind.integer, summed=True),
    Column("returned", "本期返贫致贫户数", Kind.integer, summed=True),
    Column("return_rate", "返贫致贫率（%）", Kind.percent),
)
MONITORING_NOTES = (
    "农户数：截至统计日已登记的农户（含个人信息已删除的）。",
    "监测户：已纳入监测、风险尚未消除的农户（含风险消除程序中的），按监测对象类别分列。",
    "待入户核实至待县级审定：识别纳入程序正在该环节等待的农户；风险消除程序中的农户也计入监测户合计。",
    "风险已消除：现处于风险已消除状态的农户；消除后再次预警的按其当前环节计。",
    "本期新纳入、本期风险消除、本期消除后再预警、本期预警未纳入：本期发生的次数（户次），同一户本期两次计两次。",
    "预警至纳入中位天数：本期纳入的每次程序，自该次预警日期至纳入日期。",
    "纳入至明确帮扶责任人中位天数：本期明确帮扶责任人的每次程序，自纳入日期至其后第一次明确帮扶责任人日期"
    "（先救助后认定、纳入前已明确的计0天）。",
    "返贫致贫率 = 本期返贫致贫户数 ÷ 脱贫户和低收入户数 × 100%，对应实施方案专栏1指标1"
    "“低收入人口返贫致贫率”；本期返贫致贫户数：户类型为脱贫户或低收入户、本期被纳入监测的农户（同一户只计一次），"
    "户类型均按统计日的。",
    NOTE_PERIOD,
    NOTE_MEDIAN,
)


@table("monitoring", "防返贫监测统计", filed=True)
def monitoring(facts: Facts, options: Options) -> Table:
    households = {h.household_id: h for h in facts.households}
    in_period_steps = [s for s in facts.steps if in_period(s, facts, options.period)]
    enrolment_days: dict[str, list[int]] = defaultdict(list)
    for procedure in procedures(facts.steps):
        enrolled = procedure.enrolled
        if enrolled is not None and in_period(enrolled, facts, options.period):
            enrolment_days[procedure.township_code].append((enrolled.on_date - procedure.flag.on_date).days)
    contact_days: dict[str, list[int]] = defaultdict(list)
    for case in stage_cases(facts):
        if case.step == CONTACT and case.ended is not None and in_period(case.ended, facts, options.period):
            contact_days[case.township_code].append(case.days)

    by_township: dict[str, list[Household]] = defaultdict(list)
    for household in facts.households:
        by_township[household.village_code[:9]].append(household)
    steps_by_township: dict[str, list[HouseholdStep]] = defaultdict(list)
    for step in in_period_steps:
        steps_by_township[step.village_code[:9]].append(step)
    townships = sorted({v.township_code for v in facts.villages} | set(by_township) | set(steps_by_township))

    rows = []
    for code in townships:
        row = _monitoring_row(by_township[code], steps_by_township[code], households)
        rows.append(
            {
                "township_code": code,
                **row,
                _FLAG_TO_ENROLMENT: median_days(enrolment_days[code]),
                _ENROLMENT_TO_CONTACT: median_days(contact_days[code]),
                "return_rate": percent(row["returned"], row["rate_base"]),
            }
        )
    totals: dict[str, Any] = totals_row(MONITORING_COLUMNS, rows)
    totals[_FLAG_TO_ENROLMENT] = median_days([d for days in enrolment_days.values() for d in days])
    totals[_ENROLMENT_TO_CONTACT] = median_days([d for days in contact_days.values() for d in days])
    totals["return_rate"] = percent(totals["returned"], totals["rate_base"])
    return Table("monitoring", "防返贫监测统计", MONITORING_COLUMNS, tuple(rows), totals, MONITORING_NOTES)


def _monitoring_row(
    on_record: Sequence[Household], steps: Sequence[HouseholdStep], households: Mapping[uuid.UUID, Household]
) -> dict[str, int]:
    monitored = [h for h in on_record if h.monitored]
    row = {"households": len(on_record)}
    row |= {c.key: sum(1 for h in monitored if h.category == c.key) for c in _CATEGORY_COLUMNS}
    row["monitored"] = len(monitored)
    row |= {c.key: sum(1 for h in on_record if h.stage == c.key) for c in _STAGE_COLUMNS}
    row["in_elimination"] = sum(1 for h in on_record if (h.stage or "").startswith("elimination_"))
    row["eliminated"] = sum(1 for h in on_record if h.stage == Stage.eliminated.value)
    row["enrolled_in_period"] = sum(1 for s in steps if s.kind == "enrolled")
    row["eliminated_in_period"] = sum(1 for s in steps if s.kind == "eliminated")
    row["reflagged_in_period"] = sum(1 for s in steps if s.kind == "flagged" and s.reflagged)
    row["rejected_in_period"] = sum(1 for s in steps if s.kind == "flag_rejected")
    row["rate_base"] = sum(1 for h in on_record if h.status in _RATE_STATUSES)
    returned = {
        s.household_id
        for s in steps
        if s.kind == "enrolled"
        and (h := households.get(s.household_id)) is not None
        and h.status in _RATE_STATUSES
    }
    row["returned"] = len(returned)
    return row


# -- 监测户风险类型统计 ------------------------------------------------------------------------------

RISK_COLUMNS = (
    Column("risk_type", "风险类型"),
    *_CATEGORY_COLUMNS,
    Column("monitored", "监测户合计", Kind.integer),
)
RISK_NOTES = (
    "监测户：已纳入监测、风险尚未消除的农户（含风险消除程序中的），风险类型按其最近一次认定的。",
    "一户有多种风险的，在每种风险类型下各计一次，故各行之和可大于合计。",
    "合计行：监测户数（每户只计一次），按监测对象类别分列。",
)


@table("monitoring-risks", "监测户风险类型统计")
def monitoring_risks(facts: Facts, options: Options) -> Table:
    monitored = [h for h in facts.households if h.monitored]
    rows = [
        {"risk_type": RISKS[r], **_by_category([h for h in monitored if r in h.risk_types])} for r in RiskType
    ]
    totals = {"risk_type": TOTAL_LABEL, **_by_category(monitored)}
    return Table("monitoring-risks", "监测户风险类型统计", RISK_COLUMNS, tuple(rows), totals, RISK_NOTES)


def _by_category(households: Sequence[Household]) -> dict[str, int]:
    counts = {c.key: sum(1 for h in households if h.category == c.key) for c in _CATEGORY_COLUMNS}
    return counts | {"monitored": len(households)}
