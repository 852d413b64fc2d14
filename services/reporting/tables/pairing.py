"""The pairing tables (万企兴万村): the village and enterprise ledgers (台账), the pairing list
(结对帮扶名单), the progress table (进度表) and the statistics tables (统计表) a county files every
June and December.

Pure builders of a region's ``Facts``. Shared definitions, stated once in each table's notes:
commitments (承诺) are those of agreements in force ("在帮", status active); investment done is
every recorded tranche dated on or before ``facts.today``; a figure "in the period" counts a
tranche or a signing in the half-year ``periods.reporting_period`` gives it, so a correction
recorded after its half-year was closed shows in the next one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from services.reporting.facts.model import Agreement, Enterprise, Facts, Investment, Project
from services.reporting.periods import reporting_period
from services.reporting.tables.labels import (
    AGREEMENT_STATUSES,
    ENTERPRISE_KINDS,
    LEADING_LEVELS,
    MODES,
    PATHWAYS,
    SEPARATOR,
    VILLAGE_CATEGORIES,
    YES_NO,
    name_of,
    names_of,
)
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import TOTAL_LABEL, Column, Kind, Table, percent, totals_row
from shared.events.catalogue.pairing import Mode, Pathway

ACTIVE = "active"
NEEDS_RELAY = "needs_relay"
UNDER_CONSTRUCTION = "在建"
COMPLETED = "已完工"
_ZERO = Decimal("0.00")

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

NOTE_COMMITTED = "承诺投资、就业岗位、培训人数、采购、捐赠：在帮（未终止）协议承诺之和；已终止协议不计。"
NOTE_DONE = "完成投资：截至统计日已记录、投资日期不晚于统计日的各笔投资之和。"
NOTE_PERIOD = (
    "本期数按填报期归属：某半年度已报送（关账）后才录入或更正的数据，"
    "计入下一个未关账的半年度，已报送的报表不改写。"
)


def _period_note(options: Options) -> str:
    period = options.period
    start, end = period.start, period.end
    span = f"{start.year}年{start.month}月{start.day}日至{end.month}月{end.day}日"
    return f"本期：{period.name}（{span}）。{NOTE_PERIOD}"


def _yuan(values: Iterable[Decimal]) -> Decimal:
    return sum(values, start=_ZERO)


def _group(items: Iterable[T], key: Callable[[T], K]) -> dict[K, list[T]]:
    grouped: dict[K, list[T]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return grouped


def _active(agreements: Iterable[Agreement]) -> list[Agreement]:
    return [a for a in agreements if a.status == ACTIVE]


def _done(facts: Facts) -> list[Investment]:
    """The tranches invested by ``facts.today`` (a tranche dated later is planned, not done)."""
    return [i for i in facts.investments if i.invested_on <= facts.today]


def _in_period(facts: Facts, options: Options, investment: Investment) -> bool:
    counted = reporting_period(
        investment.village_code, investment.invested_on, investment.recorded_at, facts.closings
    )
    return counted == options.period


def _signed_in_period(facts: Facts, options: Options, agreement: Agreement) -> bool:
    counted = reporting_period(
        agreement.village_code, agreement.signed_on, agreement.signed_at, facts.closings
    )
    return counted == options.period


def _invested(investments: Iterable[Investment]) -> dict[uuid.UUID, Decimal]:
    """Yuan invested, by project."""
    total: dict[uuid.UUID, Decimal] = defaultdict(lambda: _ZERO)
    for investment in investments:
        total[investment.project_id] += investment.amount_yuan
    return total


def _commitments(agreements: Sequence[Agreement]) -> dict[str, Any]:
    """What ``agreements`` (the ones in force) commit, under the column keys every table uses."""
    return {
        "investment_committed": _yuan(a.investment_yuan for a in agreements),
        "jobs": sum(a.jobs for a in agreements),
        "trainees": sum(a.trainees for a in agreements),
        "purchases": _yuan(a.purchases_yuan for a in agreements),
        "donations": _yuan(a.donations_yuan for a in agreements),
    }


def _enterprise_names(enterprises: Mapping[uuid.UUID, Enterprise], ids: Iterable[uuid.UUID]) -> str:
    return SEPARATOR.join(enterprises[i].name if i in enterprises else str(i) for i in ids)


_COMMITTED_COLUMNS = (
    Column("investment_committed", "承诺投资（元）", Kind.yuan, summed=True),
    Column("jobs", "承诺就业岗位（个）", Kind.integer, summed=True),
    Column("trainees", "承诺培训（人）", Kind.integer, summed=True),
    Column("purchases", "承诺消费帮扶采购（元）", Kind.yuan, summed=True),
    Column("donations", "承诺公益捐赠（元）", Kind.yuan, summed=True),
)

# -- 村级台账 ---------------------------------------------------------------------------------

VILLAGE_LEDGER_COLUMNS = (
    Column("village_code", "村代码"),
    Column("township_code", "乡镇代码"),
    Column("village", "村名"),
    Column("category", "村类别"),
    Column("former_poverty_village", "原贫困村"),
    Column("enterprises", "在帮企业（家）", Kind.integer),
    Column("agreements", "结对协议（份）", Kind.integer, summed=True),
    Column("agreements_active", "在帮协议（份）", Kind.integer, summed=True),
    Column("agreements_needing_relay", "待接力协议（份）", Kind.integer, summed=True),
    Column("pathways", "帮扶途径"),
    Column("projects", "落地项目（个）", Kind.integer, summed=True),
    Column("projects_completed", "已完工项目（个）", Kind.integer, summed=True),
    _COMMITTED_COLUMNS[0],
    Column("investment_done", "完成投资（元）", Kind.yuan, summed=True),
    *_COMMITTED_COLUMNS[1:],
    Column("beneficiary_households", "项目受益户（户）", Kind.integer, summed=True),
    Column("milestones_reached", "已完成节点（个）", Kind.integer, summed=True),
    Column("milestones", "计划节点（个）", Kind.integer, summed=True),
    Column("income_year", "村集体经济收入年度", Kind.integer),
    Column("income_yuan", "村集体经济收入（元）", Kind.yuan),
)


@table("village-ledger", "村级台账", filed=True)
def village_ledger(facts: Facts, options: Options) -> Table:
    agreements = _group(facts.agreements, lambda a: a.village_code)
    projects = _group(facts.projects, lambda p: p.village_code)
    invested = _invested(_done(facts))
    latest_income = {}
    for income in sorted(facts.incomes, key=lambda i: i.year):
        latest_income[income.village_code] = income
    rows = []
    for village in sorted(facts.villages, key=lambda v: v.village_code):
        own = agreements.get(village.village_code, [])
        active = _active(own)
        own_projects = projects.get(village.village_code, [])
        milestones = [m for p in own_projects for m in p.milestones]
        income = latest_income.get(village.village_code)
        rows.append(
            {
                "village_code": village.village_code,
                "township_code": village.township_code,
                "village": village.name,
                "category": name_of(VILLAGE_CATEGORIES, village.category),
                "former_poverty_village": YES_NO[village.former_poverty_village],
                "enterprises": len({a.enterprise_id for a in active}),
                "agreements": len(own),
                "agreements_active": len(active),
                "agreements_needing_relay": sum(a.status == NEEDS_RELAY for a in own),
                "pathways": names_of(PATHWAYS, (p for a in active for p in a.pathways)),
                "projects": len(own_projects),
                "projects_completed": sum(p.completed_on is not None for p in own_projects),
                "investment_done": _yuan(invested.get(p.project_id, _ZERO) for p in own_projects),
                **_commitments(active),
                "beneficiary_households": sum(p.beneficiary_households for p in own_projects),
                "milestones_reached": sum(m.reached_on is not None for m in milestones),
                "milestones": len(milestones),
                "income_year": income.year if income else None,
                "income_yuan": income.income_yuan if income else None,
            }
        )
    listed = {v.village_code for v in facts.villages}
    totals = totals_row(VILLAGE_LEDGER_COLUMNS, rows)
    totals["enterprises"] = len(
        {a.enterprise_id for a in _active(facts.agreements) if a.village_code in listed}
    )
    return Table(
        name="village-ledger",
        title="村级台账",
        columns=VILLAGE_LEDGER_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        notes=(
            "在帮企业：与该村有在帮协议的企业数；合计行为全域去重数（一家企业结对多村只计一次）。",
            "帮扶途径：在帮协议所列途径。",
            NOTE_COMMITTED,
            "完成投资：该村项目截至统计日、投资日期不晚于统计日的各笔投资之和。",
            "项目受益户：各项目受益户数之和（一户受益于两个项目计两次）。",
            "村集体经济收入：已记录的最近年度及其金额（以最后一次更正为准）；合计行不加总。",
        ),
    )


# -- 企业台账 ---------------------------------------------------------------------------------

ENTERPRISE_LEDGER_COLUMNS = (
    Column("enterprise", "企业名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("kind", "企业类型"),
    Column("leading_level", "龙头企业级别"),
    Column("county_code", "注册地县代码"),
    Column("villages", "结对村（个，在帮）", Kind.integer),
    Column("agreements", "结对协议（份）", Kind.integer, summed=True),
    Column("agreements_active", "在帮协议（份）", Kind.integer, summed=True),
    Column("investment_committed", "承诺投资（元）", Kind.yuan, summed=True),
    Column("projects", "参建项目（个）", Kind.integer),
    Column("investment_done", "参建项目完成投资（元）", Kind.yuan),
    Column("jobs", "承诺就业岗位（个）", Kind.integer, summed=True),
)


@table("enterprise-ledger", "企业台账")
def enterprise_ledger(facts: Facts, options: Options) -> Table:
    agreements = _group(facts.agreements, lambda a: a.enterprise_id)
    projects: dict[uuid.UUID, list[Project]] = defaultdict(list)
    for project in facts.projects:
        for enterprise_id in dict.fromkeys(project.enterprise_ids):
            projects[enterprise_id].append(project)
    invested = _invested(_done(facts))
    rows = []
    for enterprise in sorted(facts.enterprises, key=lambda e: (e.name, e.credit_code)):
        own = agreements.get(enterprise.enterprise_id, [])
        active = _active(own)
        own_projects = projects.get(enterprise.enterprise_id, [])
        rows.append(
            {
                "enterprise": enterprise.name,
                "credit_code": enterprise.credit_code,
                "kind": name_of(ENTERPRISE_KINDS, enterprise.kind),
                "leading_level": name_of(LEADING_LEVELS, enterprise.leading_level),
                "county_code": enterprise.county_code,
                "villages": len({a.village_code for a in active}),
                "agreements": len(own),
                "agreements_active": len(active),
                "investment_committed": _yuan(a.investment_yuan for a in active),
                "projects": len(own_projects),
                "investment_done": _yuan(invested.get(p.project_id, _ZERO) for p in own_projects),
                "jobs": sum(a.jobs for a in active),
            }
        )
    # Distinct over the listed enterprises: a village or a project shared by two is counted once.
    listed = {e.enterprise_id for e in facts.enterprises}
    shared = {p.project_id for p in facts.projects if listed.intersection(p.enterprise_ids)}
    totals = totals_row(ENTERPRISE_LEDGER_COLUMNS, rows)
    totals["villages"] = len({a.village_code for a in _active(facts.agreements) if a.enterprise_id in listed})
    totals["projects"] = len(shared)
    totals["investment_done"] = _yuan(invested.get(p, _ZERO) for p in shared)
    return Table(
        name="enterprise-ledger",
        title="企业台账",
        columns=ENTERPRISE_LEDGER_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        notes=(
            "结对村：该企业有在帮协议的村数。",
            NOTE_COMMITTED,
            "参建项目完成投资：该企业参建项目的全部完成投资；多家企业共建的项目，在每家企业行中全额计入"
            "（不按企业拆分）。",
            "合计行的结对村、参建项目和参建项目完成投资为去重数，一村、一个项目只计一次，故不等于各行之和。",
        ),
    )


# -- 结对帮扶名单 -----------------------------------------------------------------------------

PAIRING_LIST_COLUMNS = (
    Column("township_code", "乡镇代码"),
    Column("village_code", "村代码"),
    Column("village", "村名"),
    Column("enterprise", "企业名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("document_ref", "协议文号"),
    Column("signed_on", "签约日期", Kind.date),
    Column("term_years", "帮扶期限（年）", Kind.integer),
    Column("pathways", "帮扶途径"),
    Column("mode", "振兴模式"),
    *_COMMITTED_COLUMNS[:3],
    Column("status", "状态"),
    Column("terminated_on", "终止日期", Kind.date),
    Column("relays", "接力自"),
    Column("relayed_by", "由谁接力"),
)


@table("pairing-list", "村企结对帮扶名单", filed=True)
def pairing_list(facts: Facts, options: Options) -> Table:
    villages = {v.village_code: v for v in facts.villages}
    enterprises = {e.enterprise_id: e for e in facts.enterprises}
    by_id = {a.agreement_id: a for a in facts.agreements}

    def described(agreement_id: uuid.UUID | None) -> str:
        if agreement_id is None:
            return ""
        other = by_id.get(agreement_id)
        if other is None:
            return str(agreement_id)
        return f"{_enterprise_names(enterprises, [other.enterprise_id])}（{other.document_ref}）"

    def order(a: Agreement) -> tuple[str, Any, str, str]:
        name = enterprises[a.enterprise_id].name if a.enterprise_id in enterprises else ""
        return (a.village_code, a.signed_on, name, str(a.agreement_id))

    agreements = sorted(facts.agreements, key=order)
    rows = []
    for agreement in agreements:
        enterprise = enterprises.get(agreement.enterprise_id)
        village = villages.get(agreement.village_code)
        rows.append(
            {
                "township_code": agreement.village_code[:9],
                "village_code": agreement.village_code,
                "village": village.name if village else "",
                "enterprise": enterprise.name if enterprise else str(agreement.enterprise_id),
                "credit_code": enterprise.credit_code if enterprise else "",
                "document_ref": agreement.document_ref,
                "signed_on": agreement.signed_on,
                "term_years": agreement.term_years,
                "pathways": names_of(PATHWAYS, agreement.pathways),
                "mode": name_of(MODES, agreement.mode),
                "investment_committed": agreement.investment_yuan,
                "jobs": agreement.jobs,
                "trainees": agreement.trainees,
                "status": name_of(AGREEMENT_STATUSES, agreement.status),
                "terminated_on": agreement.terminated_on,
                "relays": described(agreement.relays_agreement_id),
                "relayed_by": described(agreement.relayed_by),
            }
        )
    in_force = [row for row, a in zip(rows, agreements, strict=True) if a.status == ACTIVE]
    return Table(
        name="pairing-list",
        title="村企结对帮扶名单",
        key=("village_code", "credit_code", "document_ref"),
        columns=PAIRING_LIST_COLUMNS,
        rows=tuple(rows),
        totals=totals_row(PAIRING_LIST_COLUMNS, in_force),
        notes=(
            "列出全部协议（在帮、待接力、已接力）；待接力：已终止、尚无接力协议；已接力：已终止、已由接力协议承接。",
            "接力自／由谁接力：对方协议的企业及协议文号。",
            "合计行只加总在帮协议的承诺，已终止协议与接替它的协议不重复计算。",
        ),
    )


# -- 进度表 -----------------------------------------------------------------------------------

PROGRESS_COLUMNS = (
    Column("village_code", "村代码"),
    Column("village", "村名"),
    Column("enterprises", "参建企业"),
    Column("project", "项目名称"),
    Column("industry", "产业类别"),
    Column("registered_on", "立项日期", Kind.date),
    Column("budget", "计划投资（元）", Kind.yuan, summed=True),
    Column("investment_done", "累计完成投资（元）", Kind.yuan, summed=True),
    Column("investment_in_period", "本期完成投资（元）", Kind.yuan, summed=True),
    Column("percent_done", "投资完成率（%）", Kind.percent),
    Column("milestones_reached", "已完成节点（个）", Kind.integer, summed=True),
    Column("milestones", "计划节点（个）", Kind.integer, summed=True),
    Column("milestones_overdue", "逾期未完成节点（个）", Kind.integer, summed=True),
    Column("status", "项目状态"),
    Column("completed_on", "完工日期", Kind.date),
    Column("assets_value", "形成资产（元）", Kind.yuan, summed=True),
)


@table("progress", "村企结对帮扶进度表", filed=True)
def progress(facts: Facts, options: Options) -> Table:
    villages = {v.village_code: v for v in facts.villages}
    enterprises = {e.enterprise_id: e for e in facts.enterprises}
    done = _done(facts)
    cumulative = _invested(done)
    in_period = _invested(i for i in done if _in_period(facts, options, i))
    rows = []
    for project in sorted(
        facts.projects, key=lambda p: (p.village_code, p.registered_on, p.name, str(p.project_id))
    ):
        village = villages.get(project.village_code)
        invested = cumulative.get(project.project_id, _ZERO)
        rows.append(
            {
                "village_code": project.village_code,
                "village": village.name if village else "",
                "enterprises": _enterprise_names(enterprises, project.enterprise_ids),
                "project": project.name,
                "industry": project.industry,
                "registered_on": project.registered_on,
                "budget": project.budget_yuan,
                "investment_done": invested,
                "investment_in_period": in_period.get(project.project_id, _ZERO),
                "percent_done": percent(invested, project.budget_yuan),
                "milestones_reached": sum(m.reached_on is not None for m in project.milestones),
                "milestones": len(project.milestones),
                "milestones_overdue": sum(
                    m.reached_on is None and m.due_on < facts.today for m in project.milestones
                ),
                "status": COMPLETED if project.completed_on is not None else UNDER_CONSTRUCTION,
                "completed_on": project.completed_on,
                "assets_value": project.assets_value_yuan,
            }
        )
    totals = totals_row(PROGRESS_COLUMNS, rows)
    totals["percent_done"] = percent(totals["investment_done"], totals["budget"])
    return Table(
        name="progress",
        title="村企结对帮扶进度表",
        key=("village_code", "project", "registered_on"),
        columns=PROGRESS_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        notes=(
            NOTE_DONE,
            _period_note(options),
            "投资完成率：累计完成投资 ÷ 计划投资；合计行为合计完成投资 ÷ 合计计划投资。",
            "逾期未完成节点：计划日期早于统计日且尚未完成的节点。",
            "形成资产：完工时登记的资产价值；在建项目为空。",
        ),
    )


# -- 统计表 -----------------------------------------------------------------------------------

STATISTICS_COLUMNS = (
    Column("township_code", "乡镇代码"),
    Column("enterprises", "参与企业（家）", Kind.integer),
    Column("villages", "参与村（个）", Kind.integer),
    Column("agreements_active", "在帮协议（份）", Kind.integer, summed=True),
    Column("agreements_signed_in_period", "本期新签协议（份）", Kind.integer, summed=True),
    Column("projects", "落地项目（个）", Kind.integer, summed=True),
    Column("projects_completed", "已完工项目（个）", Kind.integer, summed=True),
    _COMMITTED_COLUMNS[0],
    Column("investment_done", "累计完成投资（元）", Kind.yuan, summed=True),
    Column("investment_in_period", "本期完成投资（元）", Kind.yuan, summed=True),
    *_COMMITTED_COLUMNS[1:],
)


def _taking_part(active: Sequence[Agreement]) -> dict[str, int]:
    return {
        "enterprises": len({a.enterprise_id for a in active}),
        "villages": len({a.village_code for a in active}),
    }


@table("statistics", "帮扶统计表", filed=True)
def statistics(facts: Facts, options: Options) -> Table:
    def township(code: str) -> str:
        return code[:9]

    active = _active(facts.agreements)
    done = _done(facts)
    active_by = _group(active, lambda a: township(a.village_code))
    signed_by = _group(
        (a for a in facts.agreements if _signed_in_period(facts, options, a)),
        lambda a: township(a.village_code),
    )
    projects_by = _group(facts.projects, lambda p: township(p.village_code))
    done_by = _group(done, lambda i: township(i.village_code))
    townships = sorted(
        {v.township_code for v in facts.villages}
        | {township(a.village_code) for a in facts.agreements}
        | {township(p.village_code) for p in facts.projects}
        | {township(i.village_code) for i in facts.investments}
    )
    rows = []
    for code in townships:
        own_active = active_by.get(code, [])
        own_projects = projects_by.get(code, [])
        own_done = done_by.get(code, [])
        rows.append(
            {
                "township_code": code,
                **_taking_part(own_active),
                "agreements_active": len(own_active),
                "agreements_signed_in_period": len(signed_by.get(code, [])),
                "projects": len(own_projects),
                "projects_completed": sum(p.completed_on is not None for p in own_projects),
                "investment_done": _yuan(i.amount_yuan for i in own_done),
                "investment_in_period": _yuan(
                    i.amount_yuan for i in own_done if _in_period(facts, options, i)
                ),
                **_commitments(own_active),
            }
        )
    # An enterprise paired in two townships takes part once in the region: distinct, not a sum.
    totals = totals_row(STATISTICS_COLUMNS, rows) | _taking_part(active)
    return Table(
        name="statistics",
        title="帮扶统计表",
        columns=STATISTICS_COLUMNS,
        rows=tuple(rows),
        totals=totals,
        notes=(
            "参与企业、参与村：有在帮协议的企业、村（去重）；合计行为全域去重数，"
            "一家企业在两个乡镇结对只计一次，故不等于各乡镇之和。",
            _period_note(options) + "本期新签协议按签约日期归属。",
            "落地项目：已立项登记的项目；已完工项目：已登记完工的项目。",
            NOTE_COMMITTED,
            NOTE_DONE,
        ),
    )


# -- 按帮扶途径、按振兴模式统计 ---------------------------------------------------------------


@dataclass(frozen=True)
class _Breakdown:
    name: str
    title: str
    header: str
    labels: Mapping[str, str]
    values: tuple[str, ...]  # every pathway or mode, in the catalogue's order
    of: Callable[[Agreement], Iterable[str]]


def _breakdown_columns(header: str) -> tuple[Column, ...]:
    return (
        Column("label", header),
        Column("agreements_active", "在帮协议（份）", Kind.integer),
        Column("villages", "结对村（个）", Kind.integer),
        Column("enterprises", "参与企业（家）", Kind.integer),
        Column("investment_committed", "承诺投资（元）", Kind.yuan),
        Column("jobs", "承诺就业岗位（个）", Kind.integer),
    )


def _breakdown_row(label: str, agreements: Sequence[Agreement]) -> dict[str, Any]:
    return {
        "label": label,
        "agreements_active": len(agreements),
        **_taking_part(agreements),
        "investment_committed": _yuan(a.investment_yuan for a in agreements),
        "jobs": sum(a.jobs for a in agreements),
    }


def _breakdown(facts: Facts, spec: _Breakdown, notes: tuple[str, ...]) -> Table:
    active = _active(facts.agreements)
    rows = [
        _breakdown_row(spec.labels[value], [a for a in active if value in spec.of(a)])
        for value in spec.values
    ]
    # Totals over the distinct agreements in force, so that none is counted twice.
    totals = _breakdown_row(TOTAL_LABEL, active)
    return Table(
        name=spec.name,
        title=spec.title,
        columns=_breakdown_columns(spec.header),
        rows=tuple(rows),
        totals=totals,
        notes=notes,
    )


_BY_PATHWAY = _Breakdown(
    "statistics-by-pathway", "按帮扶途径统计", "帮扶途径", PATHWAYS, tuple(Pathway), lambda a: a.pathways
)
_BY_MODE = _Breakdown(
    "statistics-by-mode", "按振兴模式统计", "振兴模式", MODES, tuple(Mode), lambda a: (a.mode,)
)


@table(_BY_PATHWAY.name, _BY_PATHWAY.title, filed=True)
def statistics_by_pathway(facts: Facts, options: Options) -> Table:
    return _breakdown(
        facts,
        _BY_PATHWAY,
        (
            "只计在帮协议。一份协议列有多个帮扶途径时，在每个途径行中各计一次（承诺投资、就业岗位也全额计入各行）。",
            "结对村、参与企业：各行为该途径下去重数；合计行为全部在帮协议的去重数，故各行之和可能大于合计。",
        ),
    )


@table(_BY_MODE.name, _BY_MODE.title, filed=True)
def statistics_by_mode(facts: Facts, options: Options) -> Table:
    return _breakdown(
        facts,
        _BY_MODE,
        (
            "只计在帮协议；每份协议只有一种振兴模式。",
            "结对村、参与企业：各行为该模式下去重数；合计行为全部在帮协议的去重数，"
            "一村或一家企业涉及两种模式时只计一次。",
        ),
    )
