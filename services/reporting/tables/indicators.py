"""主要指标: the indicators sheet in the form of the seed plan's table (专栏1 of the 衔接 plan):
each indicator's baseline, target and current value, binding (约束性) or expected (预期性).

Seven are computed from the facts; the other thirteen a county enters (``PUT /indicators/{code}``,
``reporting.indicator_entered``). An entry may also replace an indicator's baseline or target.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.reporting.facts.model import Facts, Household, IndicatorEntry, Survey
from services.reporting.tables.registry import Options, table
from services.reporting.tables.table import Column, Kind, Table, percent

BINDING = "约束性"
EXPECTED = "预期性"


@dataclass(frozen=True)
class Indicator:
    number: int  # 序号 in the seed's table
    code: str  # the indicator's id in the API and in events
    name: str
    unit: str
    baseline: str  # the seed's 2022 baseline, as written there
    target: str  # the seed's 2025 target
    binding: bool  # 约束性, else 预期性
    computed: bool  # this system computes the current value; a county enters the rest
    composite: bool = False  # a value in words (not one number): its baseline and target cannot be entered

    @property
    def title(self) -> str:
        return f"{self.name}（{self.unit}）"


INDICATORS: tuple[Indicator, ...] = (
    Indicator(1, "return_to_poverty_rate", "低收入人口返贫致贫率", "%", "0", "0", True, True),
    Indicator(2, "medical_insurance_rate", "城乡居民人口基本医疗保险参保率", "%", "95.2", "96", True, True),
    Indicator(
        3, "chronic_disease_contract_rate", "脱贫户、监测户家庭慢病签约管理率", "%", "100", "100", True, False
    ),
    Indicator(4, "compulsory_education_retention_rate", "九年义务教育巩固率", "%", "100", "100", True, False),
    Indicator(5, "dropout_rate", "脱贫户、监测户家庭子女义务教育阶段失学辍学率", "%", "0", "0", True, True),
    Indicator(6, "housing_safety_rate", "脱贫户、监测户住房安全保障率", "%", "100", "100", True, True),
    Indicator(7, "drinking_water_safety_rate", "脱贫户、监测户饮水安全保障率", "%", "100", "100", True, True),
    Indicator(
        8, "waste_collection_coverage", "农村生活垃圾收运处置体系覆盖率", "%", "100", "100", True, False
    ),
    Indicator(9, "waste_treatment_rate", "农村生活垃圾治理率", "%", "65", "75", False, False),
    Indicator(10, "sewage_treatment_share", "农村生活污水有效治理比例", "%", "83.6", "88", True, False),
    Indicator(11, "cultural_centre_rate", "公共文化服务中心达标率", "%", "100", "100", True, False),
    Indicator(12, "village_ecommerce_coverage", "村级电商服务覆盖率", "%", "100", "100", True, False),
    Indicator(13, "tap_water_rate", "农村自来水普及率", "%", "97.5", "98", False, False),
    Indicator(14, "grid_reliability_rate", "农村电网供电可靠率", "%", "99.7", "99.9", False, False),
    Indicator(15, "mobile_network_coverage", "农村4G或5G网络覆盖率", "%", "100", "100", False, False),
    Indicator(16, "sanitary_toilet_rate", "农村卫生厕所普及率", "%", "93.9", "95", False, False),
    Indicator(17, "gdp_growth_rate", "地区生产总值增长率", "%", "2.4", "4.9", False, False),
    Indicator(
        18,
        "village_collective_income",
        "村集体经济收入",
        "万元",
        "15万元以上占比100%",
        "20万元以上占比40%；50万元以上占比50%",
        False,
        True,
        composite=True,
    ),
    Indicator(19, "urban_income_growth_rate", "城镇常住居民可支配收入增长率", "%", "4.2", "4.5", True, False),
    Indicator(20, "former_poor_income_growth_rate", "脱贫户人均纯收入增长率", "%", "13.7", "15", True, True),
)
BY_CODE = {i.code: i for i in INDICATORS}

_YEAR = re.compile(r"^\d{4}$")
_TEN_THOUSAND = Decimal(10_000)
INCOME_THRESHOLDS = (Decimal(15), Decimal(20), Decimal(50))  # 万元


@dataclass(frozen=True)
class Value:
    """A computed current value: a number (or words, for a composite) and how it came about."""

    current: Decimal | str | None
    note: str


# ---------------------------------------------------------------- computed indicators


def _of_concern(household: Household | None) -> bool:
    """脱贫户、监测户: a former-poor household, or one monitored now."""
    return household is not None and (household.status == "former_poor" or household.monitored)


def latest_annual(surveys: Iterable[Survey], year: int) -> dict[Any, Survey]:
    """Each household's latest annual survey of ``year`` or before."""
    latest: dict[Any, Survey] = {}
    for survey in surveys:
        if _YEAR.match(survey.period) and int(survey.period) <= year:
            held = latest.get(survey.household_id)
            if held is None or survey.period > held.period:
                latest[survey.household_id] = survey
    return latest


def return_to_poverty(facts: Facts, year: int) -> Value:
    concerned = {h.household_id for h in facts.households if h.status in ("former_poor", "low_income")}
    enrolled = {
        s.household_id
        for s in facts.steps
        if s.kind == "enrolled" and s.on_date.year == year and s.household_id in concerned
    }
    return Value(
        percent(len(enrolled), len(concerned)),
        f"{year}年纳入监测的脱贫户和低收入户{len(enrolled)}户÷脱贫户和低收入户{len(concerned)}户"
        "（以纳入监测代表返贫致贫风险）",
    )


def medical_insurance(facts: Facts, year: int) -> Value:
    answered = [s for s in latest_annual(facts.surveys, year).values() if s.medical_insured_all is not None]
    insured = sum(1 for s in answered if s.medical_insured_all)
    return Value(
        percent(insured, len(answered)),
        f"按户计：最近一次年度监测全家参保的{insured}户÷有年度监测的{len(answered)}户（户级近似，非人口参保率）",
    )


def _concerned_surveys(facts: Facts, year: int) -> list[Survey]:
    households = {h.household_id: h for h in facts.households}
    return [
        s for s in latest_annual(facts.surveys, year).values() if _of_concern(households.get(s.household_id))
    ]


def dropout(facts: Facts, year: int) -> Value:
    surveys = [
        s
        for s in _concerned_surveys(facts, year)
        if s.children_of_compulsory_age is not None and s.out_of_school is not None
    ]
    out = sum(s.out_of_school or 0 for s in surveys)
    children = sum(s.children_of_compulsory_age or 0 for s in surveys)
    return Value(
        percent(out, children),
        f"脱贫户、监测户最近一次年度监测：失学辍学{out}人÷义务教育阶段子女{children}人",
    )


def _safe_share(facts: Facts, year: int, flag: Callable[[Survey], bool | None], what: str) -> Value:
    answers = [flag(s) for s in _concerned_surveys(facts, year)]
    known = [a for a in answers if a is not None]
    safe = sum(1 for a in known if a)
    return Value(percent(safe, len(known)), f"脱贫户、监测户最近一次年度监测：{what}{safe}户÷{len(known)}户")


def housing(facts: Facts, year: int) -> Value:
    return _safe_share(facts, year, lambda s: s.housing_safe, "住房安全")


def drinking_water(facts: Facts, year: int) -> Value:
    return _safe_share(facts, year, lambda s: s.drinking_water_safe, "饮水安全")


def collective_income(facts: Facts, year: int) -> Value:
    years = [i.year for i in facts.incomes if i.year <= year]
    if not years:
        return Value(None, "尚无村集体经济收入记录")
    latest = max(years)
    incomes = [i.income_yuan / _TEN_THOUSAND for i in facts.incomes if i.year == latest]
    shares = [(t, percent(sum(1 for x in incomes if x >= t), len(incomes))) for t in INCOME_THRESHOLDS]
    words = "；".join(f"{t}万元以上占比{share}%" for t, share in shares)
    return Value(words, f"{latest}年有收入记录的{len(incomes)}个村中，收入不低于各档的村所占比例（各档累计）")


def former_poor_income_growth(facts: Facts, year: int) -> Value:
    """Per-capita net income of the former-poor households surveyed in Q4 of both the latest year
    (up to ``year``) and the year before: Σ(per-capita income × members) ÷ Σ members in each year,
    and the later year's over the earlier's, less one, in percent."""
    former_poor = {h.household_id for h in facts.households if h.status == "former_poor"}
    q4: dict[int, dict[Any, Survey]] = {}
    for s in facts.surveys:
        if (
            s.household_id in former_poor
            and s.period.endswith("Q4")
            and s.per_capita_income_yuan is not None
            and s.members
        ):
            q4.setdefault(int(s.period[:4]), {})[s.household_id] = s
    years = sorted(y for y in q4 if y <= year and y - 1 in q4)
    if not years:
        return Value(None, "无连续两年第四季度监测的脱贫户")
    later, earlier = q4[years[-1]], q4[years[-1] - 1]
    panel = later.keys() & earlier.keys()

    def per_capita(surveys: dict[Any, Survey]) -> Decimal:
        income = sum(
            (surveys[h].per_capita_income_yuan or Decimal(0)) * (surveys[h].members or 0) for h in panel
        )
        return Decimal(income) / sum(surveys[h].members or 0 for h in panel)

    before, after = per_capita(earlier), per_capita(later)
    growth = percent(after - before, before) if before > 0 else None
    return Value(
        growth,
        f"两年第四季度均有监测的脱贫户{len(panel)}户：{years[-1] - 1}年人均纯收入"
        f"{before.quantize(Decimal('0.01'))}元，{years[-1]}年{after.quantize(Decimal('0.01'))}元",
    )


COMPUTE: dict[str, Callable[[Facts, int], Value]] = {
    "return_to_poverty_rate": return_to_poverty,
    "medical_insurance_rate": medical_insurance,
    "dropout_rate": dropout,
    "housing_safety_rate": housing,
    "drinking_water_safety_rate": drinking_water,
    "village_collective_income": collective_income,
    "former_poor_income_growth_rate": former_poor_income_growth,
}
if set(COMPUTE) != {i.code for i in INDICATORS if i.computed}:
    raise RuntimeError("every computed indicator has its computation, and only those")


# ---------------------------------------------------------------- entered values


def _covering(entries: Iterable[IndicatorEntry], region: str, code: str) -> list[IndicatorEntry]:
    """The entries for ``region`` itself or a region enclosing it (not those for a part of it)."""
    return [e for e in entries if e.indicator == code and region.startswith(e.region_code)]


def entered(
    entries: Iterable[IndicatorEntry], region: str, code: str, year: int, attribute: str
) -> IndicatorEntry | None:
    """The entry that gives ``attribute`` (baseline, target or current): the most specific region's.

    The current value is the year's; a baseline or target holds from the year it was entered on,
    until a later year's entry replaces it.
    """
    candidates = [
        e
        for e in _covering(entries, region, code)
        if getattr(e, attribute) is not None
        and (e.year == year if attribute == "current" else e.year <= year)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda e: (len(e.region_code), e.year))


def _shown(value: Decimal | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return f"{value.normalize():f}"


def _row(indicator: Indicator, facts: Facts, year: int) -> dict[str, Any]:
    entries = facts.indicator_entries
    baseline = entered(entries, facts.region, indicator.code, year, "baseline")
    target = entered(entries, facts.region, indicator.code, year, "target")
    notes = []
    if indicator.computed:
        value = COMPUTE[indicator.code](facts, year)
        current, source = value.current, "系统计算"
        notes.append(value.note)
    else:
        entry = entered(entries, facts.region, indicator.code, year, "current")
        current = entry.current if entry else None
        source = f"填报（{entry.region_code}）" if entry else "待填报"
        if entry and entry.note:
            notes.append(entry.note)
    return {
        "number": indicator.number,
        "name": indicator.title,
        "baseline": _shown(baseline.baseline) if baseline else indicator.baseline,
        "target": _shown(target.target) if target else indicator.target,
        "current": _shown(current),
        "binding": BINDING if indicator.binding else EXPECTED,
        "source": source,
        "note": "；".join(notes),
        "code": indicator.code,
    }


COLUMNS = (
    Column("number", "序号", Kind.integer),
    Column("name", "指标名称"),
    Column("baseline", "基础值"),
    Column("target", "目标值"),
    Column("current", "当前值"),
    Column("binding", "属性"),
    Column("source", "来源"),
    Column("note", "说明"),
    Column("code", "指标代码"),
)


@table("indicators", "主要指标", filed=True)
def indicators(facts: Facts, options: Options) -> Table:
    year = facts.today.year
    return Table(
        "indicators",
        "主要指标",
        COLUMNS,
        tuple(_row(indicator, facts, year) for indicator in INDICATORS),
        None,
        (
            f"当前值为{year}年的值；基础值、目标值默认取规划（2022年基础值、2025年目标值），县可填报替换。",
            "填报值取本区域的填报，无则取上级区域的填报。",
            "户级指标以农户最近一次年度监测为准；“脱贫户、监测户”指脱贫户及当前监测户。",
            "返贫致贫率以当年纳入监测的脱贫户和低收入户计；医疗保险参保率按户计"
            "（全家参保户占比），为近似值。",
        ),
    )
