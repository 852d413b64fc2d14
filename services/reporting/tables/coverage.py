"""双绑覆盖情况: how many eligible households a cooperative binds, by village and by township,
against the target of full coverage; and how many cooperatives a leading enterprise binds.

A household is eligible (有产业发展条件及意愿的脱贫户、"三类"监测对象) when it is a former-poor
household or a monitored one now, and has at least one labourer — the system's stand-in for "the
conditions and the wish to develop an industry", which no event records. Erased households stay:
erasure removes personal data, not the statistics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.reporting.facts.model import Facts, Household
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import Column, Kind, Table, percent, totals_row

TARGET_PERCENT = Decimal(100)

NOTES = (
    "符合条件户：脱贫户或当前监测户（监测对象，风险未消除），且劳动力人数大于0"
    "（以有劳动力代表“有产业发展条件及意愿”）；已注销个人信息的农户仍计入统计。",
    "已绑定户：在统计日有生效中的合作社绑定农户关系（同一户绑定多个合作社只计一次）；按农户所在村统计。",
    "覆盖率＝已绑定的符合条件户÷符合条件户；目标100%；差距＝目标－覆盖率（百分点）。",
    "龙头企业绑定合作社：在统计日有生效中的龙头企业绑定合作社关系的合作社；按合作社所在村统计。",
)


def eligible(household: Household) -> bool:
    return (household.status == "former_poor" or household.monitored) and household.labourers > 0


@dataclass
class _Count:
    villages: int = 0
    eligible: int = 0
    bound: int = 0
    bound_all: int = 0
    cooperatives: int = 0
    cooperatives_bound: int = 0

    def add(self, other: _Count) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self) -> dict[str, Any]:
        rate = percent(self.bound, self.eligible)
        return {
            "eligible": self.eligible,
            "bound": self.bound,
            "unbound": self.eligible - self.bound,
            "rate": rate,
            "target": TARGET_PERCENT,
            "gap": TARGET_PERCENT - rate if rate is not None else None,
            "bound_all": self.bound_all,
            "cooperatives": self.cooperatives,
            "cooperatives_bound": self.cooperatives_bound,
        }


def by_village(facts: Facts) -> dict[str, _Count]:
    """The counts of every village of the facts: registered, or home to a household or a cooperative."""
    day = facts.today
    active = [b for b in facts.bindings if b.active_on(day)]
    bound_households = {b.household_id for b in active if b.kind == "cooperative_household"}
    bound_cooperatives = {b.cooperative_id for b in active if b.kind == "enterprise_cooperative"}
    counts: dict[str, _Count] = defaultdict(lambda: _Count(villages=1))
    for village in facts.villages:
        counts.setdefault(village.village_code, _Count(villages=1))
    for household in facts.households:
        count = counts[household.village_code]
        is_bound = household.household_id in bound_households
        count.bound_all += is_bound
        if eligible(household):
            count.eligible += 1
            count.bound += is_bound
    for cooperative in facts.cooperatives:
        count = counts[cooperative.village_code]
        count.cooperatives += 1
        count.cooperatives_bound += cooperative.cooperative_id in bound_cooperatives
    return counts


def _sum(counts: Iterable[_Count]) -> _Count:
    total = _Count()
    for count in counts:
        total.add(count)
    return total


_FIGURES = (
    Column("eligible", "符合条件户数", Kind.integer, summed=True),
    Column("bound", "已绑定户数", Kind.integer, summed=True),
    Column("unbound", "未绑定户数", Kind.integer, summed=True),
    Column("rate", "覆盖率（%）", Kind.percent),
    Column("target", "目标（%）", Kind.percent),
    Column("gap", "差距（百分点）", Kind.percent),
    Column("bound_all", "绑定农户总数（含其他农户）", Kind.integer, summed=True),
    Column("cooperatives", "合作社数", Kind.integer, summed=True),
    Column("cooperatives_bound", "龙头企业绑定合作社数", Kind.integer, summed=True),
)


def _table(
    name: str, title: str, columns: tuple[Column, ...], rows: list[dict[str, Any]], whole: _Count
) -> Table:
    """The 合计 row is the region's own figures: its rate computed from the sums, not averaged."""
    figures = whole.row()
    totals = {
        **totals_row(columns, rows),
        "rate": figures["rate"],
        "target": figures["target"],
        "gap": figures["gap"],
    }
    return Table(name, title, columns, tuple(rows), totals, NOTES)


@table("coverage", "双绑覆盖情况（按村）", filed=True)
def coverage(facts: Facts, options: Options) -> Table:
    names = {v.village_code: v.name for v in facts.villages}
    counts = by_village(facts)
    columns = (
        Column("village_code", "村（社区）代码"),
        Column("village", "村（社区）"),
        Column("township_code", "乡镇（街道）代码"),
        *_FIGURES,
    )
    rows = [
        {
            "village_code": code,
            "village": names.get(code, ""),
            "township_code": code[:9],
            **counts[code].row(),
        }
        for code in sorted(counts)
    ]
    return _table("coverage", "双绑覆盖情况（按村）", columns, rows, _sum(counts.values()))


@table("coverage-townships", "双绑覆盖情况（按乡镇）", filed=True)
def coverage_townships(facts: Facts, options: Options) -> Table:
    townships: dict[str, _Count] = defaultdict(_Count)
    for code, count in by_village(facts).items():
        townships[code[:9]].add(count)
    columns = (
        Column("township_code", "乡镇（街道）代码"),
        Column("villages", "村数", Kind.integer, summed=True),
        *_FIGURES,
    )
    rows = [
        {"township_code": code, "villages": townships[code].villages, **townships[code].row()}
        for code in sorted(townships)
    ]
    return _table("coverage-townships", "双绑覆盖情况（按乡镇）", columns, rows, _sum(townships.values()))
