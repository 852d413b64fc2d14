"""Events of the reporting service: supervision cards, period closings and entered indicators.
Field names are the public contract."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventData
from shared.events.registry import event


class Card(StrEnum):
    """红黄绿牌督办."""

    green = "green"  # on track
    yellow = "yellow"  # a milestone overdue, or investment behind the plan
    red = "red"  # overdue longer than the red threshold, or a terminated agreement without a relay


class CardSubject(StrEnum):
    agreement = "agreement"
    project = "project"


class CardReason(BaseModel):
    """Why a card has its colour: a rule's code, the colour it calls for and the facts in words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        description="`milestone_overdue`, `milestone_overdue_long`, `investment_behind_plan`, "
        "`needs_relay`, `needs_relay_long`, `relayed` (green: handed over)"
    )
    card: Card
    text: str = Field(description="In Chinese, for the officer who reads the card")


@event("reporting.supervision_card_changed")
class SupervisionCardChanged(EventData):
    """An agreement's or a project's card changed colour. Stream: ``card-<subject>-<subject_id>``;
    region: its village."""

    subject: CardSubject
    subject_id: uuid.UUID
    village_code: str
    card: Card
    previous: Card | None = Field(description="None for the first card of the subject")
    reasons: list[CardReason] = Field(
        description="Why; empty when green, except `relayed` for an agreement another has taken over"
    )
    judged_on: date = Field(description="The China date the rules were applied on")


@event("reporting.period_closed")
class PeriodClosed(EventData):
    """A county closed a half-year period: its tables are filed as they stood at ``closed_at`` and
    never rewritten; later corrections count in the next period. Stream:
    ``period-<county_code>-<period>``; region: the county (its code padded with zeros)."""

    county_code: str = Field(description="6-digit county code")
    period: str = Field(pattern=r"^\d{4}H[12]$", description="`2026H1` (Jan–Jun) or `2026H2` (Jul–Dec)")
    period_start: date
    period_end: date
    due_on: date = Field(description="The day the tables were due upward (20 June, 21 December)")
    closed_at: datetime = Field(description="The moment the filed tables were taken")
    tables: dict[str, str] = Field(
        description="Each filed table's name and the SHA-256 of its content as filed (hex)"
    )
    filing_id: uuid.UUID = Field(
        description="Where the filed tables are kept: GET /periods/{county}/{period}"
    )


@event("reporting.indicator_entered")
class IndicatorEntered(EventData):
    """A county entered the value of an indicator this system cannot compute (or its baseline and
    target). Stream: ``indicators-<region_code>``."""

    region_code: str = Field(description="The division-code prefix the value is for")
    indicator: str = Field(description="The indicator's code, e.g. `medical_insurance_rate`")
    year: int = Field(ge=2000, le=2100)
    baseline: Decimal | None = None
    target: Decimal | None = None
    current: Decimal | None = None
    note: str | None = Field(default=None, max_length=500)
