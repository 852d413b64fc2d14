"""Events of the pairing service (万企兴万村 · 村企结对). Field names are the public contract."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventData
from shared.events.registry import event


class EnterpriseKind(StrEnum):
    private_enterprise = "private_enterprise"  # 民营企业
    chamber_of_commerce = "chamber_of_commerce"  # 商会
    state_owned = "state_owned"  # 国有企业
    research_institute = "research_institute"  # 科研院所
    leading_agricultural = "leading_agricultural"  # 农业龙头企业
    cooperative = "cooperative"  # 合作社


class LeadingLevel(StrEnum):
    """Level at which an enterprise is recognised as a leading enterprise (龙头企业)."""

    national = "national"
    provincial = "provincial"
    city = "city"
    county = "county"


class VillageCategory(StrEnum):
    demonstration = "demonstration"  # 示范村
    key_support = "key_support"  # 重点帮扶村
    overall_advance = "overall_advance"  # 整体推进村


class Pathway(StrEnum):
    """帮扶途径."""

    industry = "industry"  # 产业
    employment = "employment"  # 就业
    consumption = "consumption"  # 消费
    donation = "donation"  # 公益
    technology = "technology"  # 科技
    trade = "trade"  # 商贸
    talent = "talent"  # 人才
    culture = "culture"  # 文化
    ecology = "ecology"  # 生态
    organisation = "organisation"  # 组织
    finance = "finance"  # 金融


class Mode(StrEnum):
    """振兴模式."""

    leading_enterprise = "leading_enterprise"  # 龙头带动
    enclave_cluster = "enclave_cluster"  # 飞地抱团
    labour_cooperation = "labour_cooperation"  # 劳务合作
    chain_relocation = "chain_relocation"  # 产业链下沉
    agri_tourism = "agri_tourism"  # 农旅融合
    order_farming = "order_farming"  # 订单合作


class Commitments(BaseModel):
    """What an enterprise commits to a village in a pairing agreement. Money in yuan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    investment_yuan: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)
    jobs: int = Field(default=0, ge=0)
    trainees: int = Field(default=0, ge=0)
    purchases_yuan: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)
    donations_yuan: Decimal = Field(default=Decimal(0), ge=0, decimal_places=2)


@event("pairing.enterprise_registered")
class EnterpriseRegistered(EventData):
    """An enterprise joined the programme. Stream: ``enterprise-<enterprise_id>``."""

    enterprise_id: uuid.UUID
    name: str
    credit_code: str = Field(description="统一社会信用代码, 18 characters")
    kind: EnterpriseKind
    county_code: str = Field(description="6-digit code of the county where it is registered")
    contact_name: str | None = None
    contact_phone: str | None = None
    leading_level: LeadingLevel | None = Field(
        default=None, description="Set when it is a leading enterprise (龙头企业)"
    )


@event("pairing.village_registered")
class VillageRegistered(EventData):
    """A village joined the programme. Stream: ``village-<village_code>``."""

    village_code: str = Field(description="12-digit statistical division code")
    name: str
    category: VillageCategory
    former_poverty_village: bool = False


@event("pairing.agreement_signed")
class AgreementSigned(EventData):
    """An enterprise and a village signed a pairing agreement (结对帮扶协议).

    Stream: the village's (``village-<village_code>``): the village is the boundary that keeps
    "at most N active enterprises" and "one active agreement per pair" true under concurrency.
    """

    agreement_id: uuid.UUID
    enterprise_id: uuid.UUID
    village_code: str
    signed_on: date
    term_years: int = Field(ge=1)
    document_ref: str = Field(description="The written agreement's document number or file hash")
    pathways: list[Pathway] = Field(min_length=1)
    mode: Mode
    commitments: Commitments
