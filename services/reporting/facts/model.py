"""The facts of a region as they stood at one moment: what every reporting table is computed from.

Plain values (no I/O): ``facts.load`` reads them from the projections; the table builders
(``services/reporting/tables/``) are pure functions of a ``Facts``. Each item is as it was known
"as of" ``Facts.as_of`` (statuses, reached milestones and ended bindings included).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Village:
    village_code: str
    name: str
    category: str
    former_poverty_village: bool

    @property
    def township_code(self) -> str:
        return self.village_code[:9]

    @property
    def county_code(self) -> str:
        return self.village_code[:6]


@dataclass(frozen=True)
class VillageIncome:
    """The collective economy's income (村集体经济收入) of a year, as last corrected."""

    village_code: str
    year: int
    income_yuan: Decimal


@dataclass(frozen=True)
class Enterprise:
    enterprise_id: uuid.UUID
    name: str
    credit_code: str
    kind: str
    county_code: str
    leading_level: str | None


@dataclass(frozen=True)
class Agreement:
    agreement_id: uuid.UUID
    village_code: str
    enterprise_id: uuid.UUID
    signed_on: date
    term_years: int
    document_ref: str
    pathways: tuple[str, ...]
    mode: str
    investment_yuan: Decimal
    jobs: int
    trainees: int
    purchases_yuan: Decimal
    donations_yuan: Decimal
    status: str  # active · needs_relay (terminated, no relay yet) · relayed
    relays_agreement_id: uuid.UUID | None
    terminated_on: date | None
    relayed_by: uuid.UUID | None
    signed_at: datetime
    terminated_at: datetime | None


@dataclass(frozen=True)
class Milestone:
    milestone_id: str
    name: str
    due_on: date
    reached_on: date | None
    overdue_detected_on: date | None


@dataclass(frozen=True)
class Project:
    project_id: uuid.UUID
    village_code: str
    agreement_ids: tuple[uuid.UUID, ...]
    enterprise_ids: tuple[uuid.UUID, ...]
    name: str
    industry: str
    budget_yuan: Decimal
    funding: tuple[tuple[str, Decimal], ...]  # (source, yuan)
    beneficiary_households: int
    jobs: int
    registered_on: date
    completed_on: date | None
    assets_value_yuan: Decimal | None
    milestones: tuple[Milestone, ...]


@dataclass(frozen=True)
class Investment:
    project_id: uuid.UUID
    village_code: str
    tranche: int
    source: str
    amount_yuan: Decimal
    invested_on: date
    recorded_at: datetime


@dataclass(frozen=True)
class Cooperative:
    cooperative_id: uuid.UUID
    name: str
    village_code: str
    leading_industry: str


@dataclass(frozen=True)
class Binding:
    binding_id: uuid.UUID
    kind: str  # cooperative_household · enterprise_cooperative
    cooperative_id: uuid.UUID
    village_code: str  # the cooperative's
    household_id: uuid.UUID | None
    household_village_code: str | None
    enterprise_id: uuid.UUID | None
    form: str
    started_on: date
    ends_on: date | None
    ended_on: date | None

    def active_on(self, day: date) -> bool:
        """In force on ``day``: started, not ended, not past its planned end."""
        if self.started_on > day:
            return False
        if self.ended_on is not None and self.ended_on <= day:
            return False
        return self.ends_on is None or self.ends_on >= day


@dataclass(frozen=True)
class Household:
    """A household's state (no personal field): status, members, stage of its procedure."""

    household_id: uuid.UUID
    village_code: str
    status: str  # former_poor · ordinary · low_income
    members: int
    labourers: int
    stage: str | None  # monitoring Stage, or None: in no procedure and never eliminated
    category: str | None
    risk_types: tuple[str, ...]
    times_eliminated: int
    erased: bool

    @property
    def monitored(self) -> bool:
        """A monitored household (监测户): enrolled, and its risk not (yet) eliminated."""
        return self.stage is not None and (self.stage == "monitored" or self.stage.startswith("elimination_"))


@dataclass(frozen=True)
class HouseholdStep:
    """One event of a household's procedure, with the household's state after it."""

    household_id: uuid.UUID
    village_code: str
    version: int
    kind: str  # registered, members_updated, flagged, verified, deliberated, reviewed, enrolled,
    # flag_rejected, contact_assigned, assistance_planned, assistance_delivered, elimination_proposed,
    # elimination_rejected, eliminated, followup, erased (a step of the elimination procedure has
    # kind verified/deliberated/reviewed with procedure "elimination")
    on_date: date
    recorded_at: datetime
    status: str
    stage: str | None
    category: str | None
    risk_types: tuple[str, ...]
    source: str | None
    urgent: bool
    reflagged: bool
    procedure: str | None
    rejected_at_stage: str | None
    measure: str | None
    amount_yuan: Decimal | None
    stable: bool | None


@dataclass(frozen=True)
class Survey:
    """A household's survey of a period as last corrected (quarterly ``2026Q3`` or annual ``2026``)."""

    household_id: uuid.UUID
    village_code: str
    period: str
    surveyed_on: date
    members: int | None
    per_capita_income_yuan: Decimal | None
    rigid_expenses_yuan: Decimal | None
    medical_insured_all: bool | None
    housing_safe: bool | None
    drinking_water_safe: bool | None
    children_of_compulsory_age: int | None
    out_of_school: int | None
    labourers: int | None
    employed: int | None


@dataclass(frozen=True)
class CardState:
    """An agreement's or a project's supervision card (红黄绿牌) as last judged."""

    subject: str  # agreement · project
    subject_id: uuid.UUID
    village_code: str
    card: str  # green · yellow · red
    reasons: tuple[str, ...]  # the reasons' texts (Chinese)
    since: date  # judged_on of the change that gave it this card


@dataclass(frozen=True)
class IndicatorEntry:
    """A value a county entered for an indicator (its last entry for the region and year)."""

    region_code: str
    indicator: str
    year: int
    baseline: Decimal | None
    target: Decimal | None
    current: Decimal | None
    note: str | None


@dataclass(frozen=True)
class Facts:
    region: str  # the division-code prefix they cover ("" for everything)
    as_of: datetime  # what was recorded by then
    today: date  # the China date of as_of: what "overdue" and "active" are judged against
    villages: tuple[Village, ...] = ()
    incomes: tuple[VillageIncome, ...] = ()
    enterprises: tuple[Enterprise, ...] = ()
    agreements: tuple[Agreement, ...] = ()
    projects: tuple[Project, ...] = ()
    investments: tuple[Investment, ...] = ()
    cooperatives: tuple[Cooperative, ...] = ()
    bindings: tuple[Binding, ...] = ()
    households: tuple[Household, ...] = ()
    steps: tuple[HouseholdStep, ...] = ()
    surveys: tuple[Survey, ...] = ()
    cards: tuple[CardState, ...] = ()
    indicator_entries: tuple[IndicatorEntry, ...] = ()
    # Periods closed by then: (county code, period name) → when (services/reporting/periods.py).
    closings: dict[tuple[str, str], datetime] = field(default_factory=dict)
