"""Events of the monitoring service (防返贫动态监测). Field names are the public contract.

Every event of a household lives in its stream ``household-<household_id>``; its region is the
household's village. Personal fields (names, citizen ID numbers, phone numbers) never appear in
clear: they travel as ``sealed`` ciphertext under the household's own key, which an erasure
destroys (crypto-shredding), so every other field stays readable and every statistic unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventData
from shared.events.registry import event

Sealed = str  # "v1.<base64url(nonce ‖ AES-GCM ciphertext)>": personal fields under the household's key
Yuan = Decimal
QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
YEAR_PATTERN = r"^\d{4}$"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HouseholdStatus(StrEnum):
    former_poor = "former_poor"  # 脱贫户
    ordinary = "ordinary"  # 一般农户
    low_income = "low_income"  # 农村低收入人口 (低保、特困等)


class Relation(StrEnum):
    """Relation to the head of the household (与户主关系)."""

    head = "head"
    spouse = "spouse"
    child = "child"
    child_in_law = "child_in_law"
    grandchild = "grandchild"
    parent = "parent"
    grandparent = "grandparent"
    sibling = "sibling"
    other = "other"


class LabourAbility(StrEnum):
    """劳动技能."""

    skilled = "skilled"  # 技能劳动力
    ordinary = "ordinary"  # 普通劳动力
    weak = "weak"  # 弱劳动力或半劳动力
    lost = "lost"  # 丧失劳动力
    none = "none"  # 无劳动力 (children, students)


class Schooling(StrEnum):
    """Schooling of a member: level reached, or school attended now (在校生情况)."""

    not_of_school_age = "not_of_school_age"
    preschool = "preschool"
    compulsory_in_school = "compulsory_in_school"  # 义务教育在校
    compulsory_dropped_out = "compulsory_dropped_out"  # 义务教育阶段失学辍学
    senior_in_school = "senior_in_school"  # 高中、中职在校
    higher_in_school = "higher_in_school"  # 高职、大学在校
    illiterate = "illiterate"
    primary = "primary"
    junior_secondary = "junior_secondary"
    senior_secondary = "senior_secondary"
    higher = "higher"


class RiskType(StrEnum):
    """风险类型."""

    illness = "illness"  # 因病
    disability = "disability"  # 因残
    schooling = "schooling"  # 因学
    disaster = "disaster"  # 因灾
    accident = "accident"  # 因意外事故
    failed_industry = "failed_industry"  # 因产业项目失败
    unstable_employment = "unstable_employment"  # 因务工就业不稳
    lack_of_labour = "lack_of_labour"  # 缺劳动力
    housing_safety = "housing_safety"  # 住房安全
    drinking_water_safety = "drinking_water_safety"  # 饮水安全
    income_drop = "income_drop"  # 收入骤减或低于监测范围 (rule-found, before verification names the cause)
    other = "other"  # 其他


class FlagSource(StrEnum):
    self_declared = "self_declared"  # 农户自主申报
    cadre_visit = "cadre_visit"  # 干部走访排查
    department_alert = "department_alert"  # 部门筛查预警
    rule = "rule"  # a monitoring rule applied to a survey


class Department(StrEnum):
    civil_affairs = "civil_affairs"  # 民政
    health = "health"  # 卫健
    medical_insurance = "medical_insurance"  # 医保
    housing = "housing"  # 住建
    education = "education"  # 教育
    disabled_persons_federation = "disabled_persons_federation"  # 残联
    emergency_management = "emergency_management"  # 应急管理


class MonitoredCategory(StrEnum):
    """监测对象类别."""

    unstable_after_exit = "unstable_after_exit"  # 脱贫不稳定户
    marginal_at_risk = "marginal_at_risk"  # 边缘易致贫户
    sudden_severe_hardship = "sudden_severe_hardship"  # 突发严重困难户


class Procedure(StrEnum):
    """Which procedure a verify / deliberate / review step belongs to."""

    enrolment = "enrolment"  # 识别纳入
    elimination = "elimination"  # 风险消除


class Stage(StrEnum):
    """Where a household stands; each stage names the step it waits for."""

    flagged = "flagged"  # waits for verification at home (入户核实)
    verified = "verified"  # waits for village deliberation and public notice (民主评议、公示)
    deliberated = "deliberated"  # waits for township review (乡镇审核)
    reviewed = "reviewed"  # waits for county approval (县级审定)
    monitored = "monitored"  # a monitored household (监测户)
    elimination_proposed = "elimination_proposed"
    elimination_verified = "elimination_verified"
    elimination_deliberated = "elimination_deliberated"
    elimination_reviewed = "elimination_reviewed"
    eliminated = "eliminated"  # risk eliminated (风险消除); followed up, may be flagged again


class AssistanceMeasure(StrEnum):
    """帮扶措施."""

    industry = "industry"  # 产业帮扶
    employment = "employment"  # 就业帮扶
    health = "health"  # 健康帮扶
    education = "education"  # 教育帮扶
    social_assistance = "social_assistance"  # 综合保障 (低保、特困、临时救助)
    housing = "housing"  # 住房安全保障
    water = "water"  # 饮水安全保障
    finance = "finance"  # 金融帮扶 (小额信贷、防贫保险)
    public_welfare_job = "public_welfare_job"  # 公益岗位
    motivation = "motivation"  # 扶志扶智


class Member(_Part):
    """A member's facts. ``sealed`` holds ``{"name", "id_number"}``; the rest are statistics."""

    member_no: int = Field(ge=1, description="1-based, stable within the household")
    relation: Relation
    age: int = Field(ge=0, le=130)
    labour: LabourAbility
    disability_grade: int | None = Field(default=None, ge=1, le=4, description="1 (most severe) to 4")
    chronic_illness: bool = False
    schooling: Schooling
    sealed: Sealed = Field(description="The member's name and citizen ID number, sealed (see above)")


class RigidExpenses(_Part):
    """Compliant out-of-pocket expenses of the household (合规自付支出), yuan, over 12 months."""

    medical: Yuan = Field(default=Decimal(0), ge=0, decimal_places=2)
    schooling: Yuan = Field(default=Decimal(0), ge=0, decimal_places=2)
    disaster: Yuan = Field(default=Decimal(0), ge=0, decimal_places=2)
    accident: Yuan = Field(default=Decimal(0), ge=0, decimal_places=2)

    def total(self) -> Decimal:
        return self.medical + self.schooling + self.disaster + self.accident


class QuarterlySurvey(_Part):
    """季度监测: members, per-capita net income and rigid expenses, each over the 12 months to the
    quarter's end (so that a quarter compares with the monitoring line, which is per year)."""

    members: int = Field(ge=1, le=50)
    per_capita_net_income_yuan: Yuan = Field(ge=-1_000_000, decimal_places=2)
    expenses: RigidExpenses = RigidExpenses()


class AnnualSurvey(_Part):
    """年度监测: social security, schooling, labour and employment, housing and water, assistance."""

    pension_insured: int = Field(ge=0, description="Members in a basic pension scheme")
    medical_insured_all: bool = Field(description="Every member has basic medical insurance")
    minimum_living_allowance: bool = False  # 低保
    extreme_poverty_support: bool = False  # 特困供养
    children_of_compulsory_age: int = Field(default=0, ge=0)
    out_of_school: int = Field(default=0, ge=0, description="Of them, out of school (失学辍学)")
    labourers: int = Field(default=0, ge=0)
    employed: int = Field(default=0, ge=0, description="Of the labourers, employed (务工就业)")
    housing_safe: bool
    drinking_water_safe: bool
    assistance_received_yuan: Yuan = Field(default=Decimal(0), ge=0, decimal_places=2)

    @property
    def education_guaranteed(self) -> bool:
        return self.out_of_school == 0


class PlannedMeasure(_Part):
    measure: AssistanceMeasure
    risk_type: RiskType = Field(description="The risk the measure answers")
    description: str = Field(min_length=1, max_length=500)
    budget_yuan: Yuan | None = Field(default=None, ge=0, decimal_places=2)


@event("monitoring.household_registered")
class HouseholdRegistered(EventData):
    """A rural household is on record. ``sealed`` holds the household's ``{"phone"}``."""

    household_id: uuid.UUID
    village_code: str = Field(description="12-digit division code of its village")
    status: HouseholdStatus
    members: list[Member] = Field(min_length=1)
    sealed: Sealed = Field(description="The household's phone number, sealed")
    batch_id: str | None = Field(default=None, description="The provincial import batch that created it")


@event("monitoring.household_members_updated")
class HouseholdMembersUpdated(EventData):
    """Members joined or left (人口自然增减) or their facts changed: the whole list as it is now."""

    household_id: uuid.UUID
    members: list[Member] = Field(min_length=1)
    status: HouseholdStatus
    sealed: Sealed = Field(description="The household's phone number, sealed")


@event("monitoring.household_surveyed")
class HouseholdSurveyed(EventData):
    """A quarterly or annual survey. A later survey of the same period corrects it; none is rewritten."""

    household_id: uuid.UUID
    survey_id: uuid.UUID
    period: str = Field(description="`2026Q3` for a quarterly survey, `2026` for an annual one")
    surveyed_on: date
    quarterly: QuarterlySurvey | None = None
    annual: AnnualSurvey | None = None
    batch_id: str | None = Field(default=None, description="The provincial import batch it came in")


@event("monitoring.household_flagged")
class HouseholdFlagged(EventData):
    """A household was found at risk of (returning to) poverty, which starts the approval steps."""

    household_id: uuid.UUID
    flag_id: uuid.UUID
    source: FlagSource
    risk_types: list[RiskType] = Field(min_length=1)
    rules: list[str] = Field(default_factory=list, description="For source rule: the rules that fired")
    period: str | None = Field(default=None, description="For source rule: the survey period")
    department: Department | None = Field(default=None, description="For source department_alert")
    urgent: bool = Field(default=False, description="Disaster or accident: help first, steps after")
    flagged_on: date
    note: str | None = None
    reflagged: bool = Field(default=False, description="The household's risk had been eliminated before")


@event("monitoring.household_verified")
class HouseholdVerified(EventData):
    """入户核实: a township officer verified the household at home."""

    household_id: uuid.UUID
    procedure: Procedure
    verified_on: date
    risk_types: list[RiskType] = Field(description="The risks verification confirmed")
    findings: str


@event("monitoring.household_deliberated")
class HouseholdDeliberated(EventData):
    """民主评议、公示: the village deliberated and posted a public notice."""

    household_id: uuid.UUID
    procedure: Procedure
    deliberated_on: date
    votes_for: int = Field(ge=0)
    votes_against: int = Field(ge=0)
    notice_from: date
    notice_until: date = Field(description="The last day of the public notice")


@event("monitoring.household_reviewed")
class HouseholdReviewed(EventData):
    """乡镇审核: the township reviewed the case after the public notice."""

    household_id: uuid.UUID
    procedure: Procedure
    reviewed_on: date
    opinion: str


@event("monitoring.household_enrolled")
class HouseholdEnrolled(EventData):
    """县级审定: the county approved; the household is a monitored household of one category."""

    household_id: uuid.UUID
    flag_id: uuid.UUID
    category: MonitoredCategory
    risk_types: list[RiskType] = Field(min_length=1)
    enrolled_on: date
    contact_due_on: date = Field(description="A contact must be assigned by this day")


@event("monitoring.flag_rejected")
class FlagRejected(EventData):
    """A step of the enrolment procedure rejected the flag; the household is not monitored."""

    household_id: uuid.UUID
    flag_id: uuid.UUID
    stage: Stage = Field(description="The stage the flag was at")
    reason: str
    rejected_on: date


@event("monitoring.contact_assigned")
class ContactAssigned(EventData):
    """帮扶联系人: a cadre assigned to help the household (replaces an earlier one)."""

    household_id: uuid.UUID
    contact_name: str
    contact_unit: str
    contact_phone: str | None = None
    assigned_on: date


@event("monitoring.assistance_planned")
class AssistancePlanned(EventData):
    """An assistance plan by risk type (帮扶计划)."""

    household_id: uuid.UUID
    plan_id: uuid.UUID
    planned_on: date
    measures: list[PlannedMeasure] = Field(min_length=1)


@event("monitoring.assistance_delivered")
class AssistanceDelivered(EventData):
    """Assistance reached the household (帮扶措施落实)."""

    household_id: uuid.UUID
    delivery_id: uuid.UUID
    measure: AssistanceMeasure
    delivered_on: date
    description: str
    amount_yuan: Yuan | None = Field(default=None, ge=0, decimal_places=2)


@event("monitoring.risk_elimination_proposed")
class RiskEliminationProposed(EventData):
    """村提出名单: the village proposes to mark the risk eliminated; the conditions held."""

    household_id: uuid.UUID
    proposed_on: date
    quarters_above_line: list[str] = Field(description="The quarters whose income stayed above the line")
    note: str | None = None


@event("monitoring.risk_elimination_rejected")
class RiskEliminationRejected(EventData):
    """A step of the elimination procedure rejected it; the household stays monitored."""

    household_id: uuid.UUID
    stage: Stage
    reason: str
    rejected_on: date


@event("monitoring.risk_eliminated")
class RiskEliminated(EventData):
    """区县审定: the county marked the risk eliminated (风险消除)."""

    household_id: uuid.UUID
    eliminated_on: date


@event("monitoring.followup_recorded")
class FollowupRecorded(EventData):
    """跟踪回访 of a household whose risk was eliminated."""

    household_id: uuid.UUID
    visited_on: date
    stable: bool = Field(description="False when the visit found the risk back (then flag it)")
    note: str


@event("monitoring.personal_data_erased")
class PersonalDataErased(EventData):
    """The household's key was destroyed: its sealed fields are unreadable from now on, everywhere."""

    household_id: uuid.UUID
    erased_on: date
    reason: str
