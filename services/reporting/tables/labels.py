"""The Chinese names the reporting tables print for the catalogue's enum values.

Plain mappings, keyed by the enum members (``StrEnum``, so the stored string values look them up
too) in the catalogue's order; ``name_of`` falls back to the raw value for one the mapping lacks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.events.catalogue.pairing import (
    EnterpriseKind,
    FundingSource,
    LeadingLevel,
    Mode,
    Pathway,
    VillageCategory,
)

PATHWAYS: Mapping[str, str] = {
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
MODES: Mapping[str, str] = {
    Mode.leading_enterprise: "龙头带动",
    Mode.enclave_cluster: "飞地抱团",
    Mode.labour_cooperation: "劳务合作",
    Mode.chain_relocation: "产业链下沉",
    Mode.agri_tourism: "农旅融合",
    Mode.order_farming: "订单合作",
}
# Agreement.status of the facts (services/reporting/facts/pairing.py sets them).
AGREEMENT_STATUSES: Mapping[str, str] = {
    "active": "在帮",
    "needs_relay": "待接力",
    "relayed": "已接力",
}
VILLAGE_CATEGORIES: Mapping[str, str] = {
    VillageCategory.demonstration: "示范村",
    VillageCategory.key_support: "重点帮扶村",
    VillageCategory.overall_advance: "整体推进村",
}
ENTERPRISE_KINDS: Mapping[str, str] = {
    EnterpriseKind.private_enterprise: "民营企业",
    EnterpriseKind.chamber_of_commerce: "商会",
    EnterpriseKind.state_owned: "国有企业",
    EnterpriseKind.research_institute: "科研院所",
    EnterpriseKind.leading_agricultural: "农业龙头企业",
    EnterpriseKind.cooperative: "合作社",
}
LEADING_LEVELS: Mapping[str, str] = {
    LeadingLevel.national: "国家级",
    LeadingLevel.provincial: "省级",
    LeadingLevel.city: "市级",
    LeadingLevel.county: "县级",
}
FUNDING_SOURCES: Mapping[str, str] = {
    FundingSource.enterprise: "企业自筹",
    FundingSource.integrated_agricultural: "统筹整合涉农资金",
    FundingSource.connection: "衔接资金",
    FundingSource.bank_loan: "银行贷款",
    FundingSource.other: "其他",
}
YES_NO: Mapping[bool, str] = {True: "是", False: "否"}

SEPARATOR = "、"  # between the names of a list in one cell, as the ledgers write them


def name_of(names: Mapping[str, str], value: str | None) -> str:
    """The Chinese name of ``value``; the value itself when unknown, "" for None."""
    if value is None:
        return ""
    return names.get(value, value)


def names_of(names: Mapping[str, str], values: Iterable[str]) -> str:
    """The Chinese names of ``values`` in the mapping's order, joined with 、."""
    chosen = set(values)
    known = [name for value, name in names.items() if value in chosen]
    unknown = sorted(chosen - set(names))
    return SEPARATOR.join(known + unknown)
