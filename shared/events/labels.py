"""The vocabulary of the public contract in Chinese, as the county's forms name it.

One mapping per enumeration of the event catalogue (``shared.events.catalogue``): each value's
Chinese name, keyed by the enum members in the catalogue's order. The members are ``StrEnum``s, so
the plain string values stored in events and tables look the names up too.

The ledger import, the exchange with the provincial platform and the reporting tables all print
and read these names; words only one context uses (the reporting tables' step names, the
ledger's 帮扶 suffix, …) stay in that context's module.
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.events.catalogue.monitoring import (
    AssistanceMeasure,
    FlagSource,
    HouseholdStatus,
    MonitoredCategory,
    RiskType,
    Stage,
)
from shared.events.catalogue.pairing import (
    EnterpriseKind,
    FundingSource,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
)

# Pairing (结对帮扶).

ENTERPRISE_KINDS: Mapping[EnterpriseKind, str] = {
    EnterpriseKind.private_enterprise: "民营企业",
    EnterpriseKind.chamber_of_commerce: "商会",
    EnterpriseKind.state_owned: "国有企业",
    EnterpriseKind.research_institute: "科研院所",
    EnterpriseKind.leading_agricultural: "农业龙头企业",
    EnterpriseKind.cooperative: "合作社",
}
LEADING_LEVELS: Mapping[LeadingLevel, str] = {
    LeadingLevel.national: "国家级",
    LeadingLevel.provincial: "省级",
    LeadingLevel.city: "市级",
    LeadingLevel.county: "县级",
}
VILLAGE_CATEGORIES: Mapping[VillageCategory, str] = {
    VillageCategory.demonstration: "示范村",
    VillageCategory.key_support: "重点帮扶村",
    VillageCategory.overall_advance: "整体推进村",
}
PATHWAYS: Mapping[Pathway, str] = {  # 帮扶途径
    Pathway.industry: "产业",
    Pathway.employment: "就业",
    Pathway.consumption: "消费",
    Pathway.donation: "公益",
    Pathway.technology: "科技",
    Pathway.trade: "商贸",
    Pathway.talent: "人才",
    Pathway.culture: "文化",
    Pathway.ecology: "生态",
    Pathway.organisation: "组织",
    Pathway.finance: "金融",
}
MODES: Mapping[Mode, str] = {  # 振兴模式
    Mode.leading_enterprise: "龙头带动",
    Mode.enclave_cluster: "飞地抱团",
    Mode.labour_cooperation: "劳务合作",
    Mode.chain_relocation: "产业链下沉",
    Mode.agri_tourism: "农旅融合",
    Mode.order_farming: "订单合作",
}
FUNDING_SOURCES: Mapping[FundingSource, str] = {
    FundingSource.enterprise: "企业自筹",
    FundingSource.integrated_agricultural: "统筹整合涉农资金",
    FundingSource.connection: "衔接资金",
    FundingSource.bank_loan: "银行贷款",
    FundingSource.other: "其他",
}

# Monitoring (防止返贫监测).

HOUSEHOLD_STATUSES: Mapping[HouseholdStatus, str] = {  # 户类型
    HouseholdStatus.former_poor: "脱贫户",
    HouseholdStatus.ordinary: "一般农户",
    HouseholdStatus.low_income: "低收入户",
}
STAGES: Mapping[Stage, str] = {  # 监测阶段: each names the step the household waits for
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
MONITORED_CATEGORIES: Mapping[MonitoredCategory, str] = {  # 监测对象类别
    MonitoredCategory.unstable_after_exit: "脱贫不稳定户",
    MonitoredCategory.marginal_at_risk: "边缘易致贫户",
    MonitoredCategory.sudden_severe_hardship: "突发严重困难户",
}
RISK_TYPES: Mapping[RiskType, str] = {  # 风险类型
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
FLAG_SOURCES: Mapping[FlagSource, str] = {  # 识别来源
    FlagSource.self_declared: "农户自主申报",
    FlagSource.cadre_visit: "干部走访排查",
    FlagSource.department_alert: "部门筛查预警",
    FlagSource.rule: "监测规则预警",
}
ASSISTANCE_MEASURES: Mapping[AssistanceMeasure, str] = {  # 帮扶措施
    AssistanceMeasure.industry: "产业帮扶",
    AssistanceMeasure.employment: "就业帮扶",
    AssistanceMeasure.health: "健康帮扶",
    AssistanceMeasure.education: "教育帮扶",
    AssistanceMeasure.social_assistance: "综合保障",
    AssistanceMeasure.housing: "住房安全保障",
    AssistanceMeasure.water: "饮水安全保障",
    AssistanceMeasure.finance: "金融帮扶",
    AssistanceMeasure.public_welfare_job: "公益岗位",
    AssistanceMeasure.motivation: "扶志扶智",
}
