"""The Chinese names the monitoring tables print for the monitoring catalogue's enum values.

Keyed by the enum members (``StrEnum``, so the stored string values look them up too), in the
catalogue's order; the same wording as the provincial platform's exchange layout.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.events.catalogue.monitoring import FlagSource, MonitoredCategory, RiskType, Stage

CATEGORIES: Mapping[str, str] = {
    MonitoredCategory.unstable_after_exit: "脱贫不稳定户",
    MonitoredCategory.marginal_at_risk: "边缘易致贫户",
    MonitoredCategory.sudden_severe_hardship: "突发严重困难户",
}
RISKS: Mapping[str, str] = {
    RiskType.illness: "因病",
    RiskType.disability: "因残",
    RiskType.schooling: "因学",
    RiskType.disaster: "因灾",
    RiskType.accident: "因意外事故",
    RiskType.failed_industry: "因产业项目失败",
    RiskType.unstable_employment: "因务工就业不稳",
    RiskType.lack_of_labour: "缺劳动力",
    RiskType.housing_safety: "住房安全",
    RiskType.drinking_water_safety: "饮水安全",
    RiskType.income_drop: "收入骤减或低于监测范围",
    RiskType.other: "其他",
}
STAGES: Mapping[str, str] = {
    Stage.flagged: "待入户核实",
    Stage.verified: "待民主评议",
    Stage.deliberated: "待乡镇审核",
    Stage.reviewed: "待县级审定",
    Stage.monitored: "监测帮扶中",
    Stage.elimination_proposed: "风险消除待核实",
    Stage.elimination_verified: "风险消除待评议",
    Stage.elimination_deliberated: "风险消除待乡镇审核",
    Stage.elimination_reviewed: "风险消除待县级审定",
    Stage.eliminated: "风险已消除",
}
SOURCES: Mapping[str, str] = {
    FlagSource.self_declared: "农户自主申报",
    FlagSource.cadre_visit: "干部走访排查",
    FlagSource.department_alert: "部门筛查预警",
    FlagSource.rule: "监测规则预警",
}
# The steps of the enrolment procedure whose time the stage-times table gives, keyed as
# ``Options.stage_deadlines`` (settings.stage_deadlines) keys them.
STEPS: Mapping[str, str] = {
    "verification": "入户核实",
    "deliberation": "民主评议公示",
    "township_review": "乡镇审核",
    "county_approval": "县级审定",
    "contact": "明确帮扶责任人",
}
