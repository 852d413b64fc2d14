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
    relays_agreement_id: uuid.UUID | None = Field(
        default=None,
        description="Set on a relay (接力帮扶): the terminated agreement it takes over from",
    )


@event("pairing.village_income_recorded")
class VillageIncomeRecorded(EventData):
    """The village collective economy's income (村集体经济收入) for one year; a later record for
    the same year corrects the earlier one. Stream: the village's."""

    village_code: str
    year: int = Field(ge=2000, le=2100)
    income_yuan: Decimal = Field(ge=0, decimal_places=2)


@event("pairing.agreement_terminated")
class AgreementTerminated(EventData):
    """A pairing agreement ended before its term. Stream: the village's.

    Without a successor the agreement "needs relay" until another enterprise signs an agreement
    whose ``relays_agreement_id`` names it.
    """

    agreement_id: uuid.UUID
    enterprise_id: uuid.UUID
    village_code: str
    terminated_on: date
    reason: str
    successor_agreement_id: uuid.UUID | None = Field(
        default=None, description="The relay agreement signed in the same command, if any"
    )


class FundingSource(StrEnum):
    """资金来源."""

    enterprise = "enterprise"  # 企业自筹
    integrated_agricultural = "integrated_agricultural"  # 统筹整合涉农资金
    connection = "connection"  # 衔接资金
    bank_loan = "bank_loan"  # 银行贷款
    other = "other"  # 其他


class Funding(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: FundingSource
    amount_yuan: Decimal = Field(gt=0, decimal_places=2)


class HolderKind(StrEnum):
    """Who holds a share of a project's benefits (利益联结)."""

    village_collective = "village_collective"  # 村集体
    village_group = "village_group"  # 村民小组
    enterprise = "enterprise"  # 企业
    villagers = "villagers"  # 村民 / 农户
    cooperative = "cooperative"  # 合作社
    other = "other"


class Share(BaseModel):
    """One line of the interest-linkage / shareholding table (股份占比); the lines sum to 100."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    holder: HolderKind
    holder_name: str | None = Field(default=None, max_length=200)
    percent: Decimal = Field(gt=0, le=100, decimal_places=2)


class MilestonePlan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    milestone_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="Unique in the project")
    name: str = Field(min_length=1, max_length=200)
    due_on: date


@event("pairing.project_registered")
class ProjectRegistered(EventData):
    """A project was registered for a village (项目入库). Stream: ``project-<project_id>``."""

    project_id: uuid.UUID
    village_code: str
    agreement_ids: list[uuid.UUID] = Field(
        description="The pairing agreements it is built under (may be empty)"
    )
    enterprise_ids: list[uuid.UUID] = Field(min_length=1, description="The enterprises building it")
    name: str
    industry: str
    budget_yuan: Decimal = Field(gt=0, decimal_places=2)
    funding: list[Funding] = Field(min_length=1, description="By source; sums to the budget")
    shareholding: list[Share] = Field(min_length=1, description="Sums to exactly 100 percent")
    beneficiary_households: int = Field(ge=0)
    jobs: int = Field(ge=0)
    milestones: list[MilestonePlan]


@event("pairing.project_investment_recorded")
class ProjectInvestmentRecorded(EventData):
    """One tranche of investment put into a project (资金到位). Stream: the project's."""

    project_id: uuid.UUID
    village_code: str
    tranche: int = Field(ge=1, description="1, 2, 3, … in the order recorded")
    source: FundingSource
    amount_yuan: Decimal = Field(gt=0, decimal_places=2)
    invested_on: date
    evidence_ref: str | None = None


@event("pairing.project_milestone_reached")
class ProjectMilestoneReached(EventData):
    project_id: uuid.UUID
    village_code: str
    milestone_id: str
    reached_on: date
    evidence_ref: str = Field(description="Document number, photo or file hash proving it")


@event("pairing.project_milestone_overdue")
class ProjectMilestoneOverdue(EventData):
    """A milestone's due date passed unmet; raised once per milestone by the service's scheduler."""

    project_id: uuid.UUID
    village_code: str
    milestone_id: str
    due_on: date
    detected_on: date


class AssetKind(StrEnum):
    """Project assets (扶贫项目资产)."""

    operating = "operating"  # 经营性资产
    public_welfare = "public_welfare"  # 公益性资产
    household = "household"  # 到户类资产


class Asset(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AssetKind
    description: str = Field(min_length=1, max_length=500)
    value_yuan: Decimal = Field(ge=0, decimal_places=2)
    handed_to: str = Field(
        min_length=1, max_length=200, description="Who owns it, e.g. the village collective"
    )
    handed_over_on: date | None = Field(
        default=None, description="When it passes to them, e.g. after a benefit period; None: at completion"
    )


@event("pairing.project_completed")
class ProjectCompleted(EventData):
    """A project was completed and accepted, leaving these assets. Stream: the project's."""

    project_id: uuid.UUID
    village_code: str
    completed_on: date
    assets: list[Asset]


class BindingForm(StrEnum):
    """双绑 binding forms."""

    production = "production"  # 生产带动
    equity = "equity"  # 入股分红
    order = "order"  # 订单收购
    custody = "custody"  # 托管服务
    labour = "labour"  # 务工就业


class BindingKind(StrEnum):
    cooperative_household = "cooperative_household"  # 合作社绑定农户
    enterprise_cooperative = "enterprise_cooperative"  # 龙头企业绑定合作社


@event("pairing.cooperative_registered")
class CooperativeRegistered(EventData):
    """A farmers' cooperative (农民专业合作社). Stream: ``cooperative-<cooperative_id>``."""

    cooperative_id: uuid.UUID
    code: str = Field(description="Its unified social credit code")
    name: str
    village_code: str
    leading_industry: str


@event("pairing.binding_established")
class BindingEstablished(EventData):
    """A 双绑 binding: a cooperative binds a household, or a leading enterprise binds a cooperative.
    Stream: the cooperative's."""

    binding_id: uuid.UUID
    kind: BindingKind
    cooperative_id: uuid.UUID
    household_id: uuid.UUID | None = Field(default=None, description="Set for cooperative_household")
    household_village_code: str | None = Field(default=None, description="The household's village")
    enterprise_id: uuid.UUID | None = Field(default=None, description="Set for enterprise_cooperative")
    form: BindingForm
    started_on: date
    ends_on: date | None = None


@event("pairing.binding_ended")
class BindingEnded(EventData):
    binding_id: uuid.UUID
    cooperative_id: uuid.UUID
    ended_on: date
    reason: str
