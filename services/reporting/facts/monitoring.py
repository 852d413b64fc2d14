"""The monitoring facts (``monitoring-facts``): each household's state after each of its events.

- ``household_facts``: one row per household as its events left it (stage, category, risk types,
  status, members and labourers), the state the next batch folds its events onto.
- ``household_history``: one row per workflow or household event with the household's whole state
  after it, its date (the step's own: ``flagged_on``, ``enrolled_on``, …) and when it was recorded.
  A table "as of" a moment takes each household's last row recorded by then; durations between
  steps and the counts of a period come from the same rows.
- ``household_surveys``: every survey as recorded (a correction is a later row of the same period).

A batch loads the state of its households in one query, folds the events in Python and writes
in one statement per table. No personal field reaches these tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.clock import china_date
from shared.events.catalogue.monitoring import (
    AssistanceDelivered,
    AssistancePlanned,
    ContactAssigned,
    FlagRejected,
    FollowupRecorded,
    HouseholdDeliberated,
    HouseholdEnrolled,
    HouseholdFlagged,
    HouseholdMembersUpdated,
    HouseholdRegistered,
    HouseholdReviewed,
    HouseholdSurveyed,
    HouseholdVerified,
    LabourAbility,
    Member,
    PersonalDataErased,
    Procedure,
    RiskEliminated,
    RiskEliminationProposed,
    RiskEliminationRejected,
    Stage,
)
from shared.events.envelope import Envelope, EventData
from shared.messaging.batched_writes import copy_rows, driver_connection
from shared.messaging.projector import RawEvent

LABOUR = frozenset({LabourAbility.skilled, LabourAbility.ordinary, LabourAbility.weak})

# The stage a verify / deliberate / review step leads to, by the procedure it belongs to.
_STEP_STAGE: dict[tuple[type[EventData], Procedure], Stage] = {
    (HouseholdVerified, Procedure.enrolment): Stage.verified,
    (HouseholdDeliberated, Procedure.enrolment): Stage.deliberated,
    (HouseholdReviewed, Procedure.enrolment): Stage.reviewed,
    (HouseholdVerified, Procedure.elimination): Stage.elimination_verified,
    (HouseholdDeliberated, Procedure.elimination): Stage.elimination_deliberated,
    (HouseholdReviewed, Procedure.elimination): Stage.elimination_reviewed,
}


@dataclass(frozen=True)
class HouseholdState:
    household_id: uuid.UUID
    village_code: str
    status: str
    members: int
    labourers: int
    registered_at: datetime
    updated_at: datetime
    version: int = 0
    stage: str | None = None
    category: str | None = None
    risk_types: tuple[str, ...] = ()
    flag_id: uuid.UUID | None = None
    times_eliminated: int = 0
    erased: bool = False


@dataclass(frozen=True)
class Step:
    """What one event adds to a household's history besides its state after it."""

    kind: str
    on_date: date
    source: str | None = None
    urgent: bool = False
    reflagged: bool = False
    procedure: str | None = None
    rejected_at_stage: str | None = None
    measure: str | None = None
    amount_yuan: Decimal | None = None
    stable: bool | None = None


def labourers(members: Sequence[Member]) -> int:
    return sum(1 for m in members if m.labour in LABOUR)


def registered(envelope: Envelope, event: HouseholdRegistered | RawEvent) -> tuple[HouseholdState, Step]:
    """A registration's state and step, from the event or (a rebuild's hot path) its stored data."""
    if isinstance(event, HouseholdRegistered):
        hid, village, status = event.household_id, event.village_code, event.status.value
        members, working = len(event.members), labourers(event.members)
    else:
        hid, village, status = uuid.UUID(event["household_id"]), event["village_code"], event["status"]
        members, working = len(event["members"]), sum(1 for m in event["members"] if m["labour"] in LABOUR)
    at = envelope.recorded_at
    state = HouseholdState(
        household_id=hid,
        village_code=village,
        status=status,
        members=members,
        labourers=working,
        registered_at=at,
        updated_at=at,
        version=envelope.stream_version,
    )
    return state, Step("registered", china_date(envelope.occurred_at))


def fold(state: HouseholdState | None, envelope: Envelope, event: EventData) -> tuple[HouseholdState, Step]:
    """The household's state after ``event``, and the step it records. Pure."""
    at = envelope.recorded_at
    if isinstance(event, HouseholdRegistered):
        return registered(envelope, event)
    if state is None:
        raise LookupError(f"{envelope.stream_id}: {envelope.type} before the household's registration")
    state = replace(state, version=envelope.stream_version, updated_at=at)
    match event:
        case HouseholdMembersUpdated():
            after = replace(
                state,
                status=event.status.value,
                members=len(event.members),
                labourers=labourers(event.members),
            )
            return after, Step("members_updated", china_date(envelope.occurred_at))
        case HouseholdFlagged():
            after = replace(
                state,
                stage=Stage.flagged.value,
                flag_id=event.flag_id,
                risk_types=tuple(r.value for r in event.risk_types),
                category=None if state.stage == Stage.eliminated.value else state.category,
            )
            step = Step(
                "flagged",
                event.flagged_on,
                source=event.source.value,
                urgent=event.urgent,
                reflagged=event.reflagged,
            )
            return after, step
        case HouseholdVerified() | HouseholdDeliberated() | HouseholdReviewed():
            stage = _STEP_STAGE[(type(event), event.procedure)]
            after = replace(state, stage=stage.value)
            if (
                isinstance(event, HouseholdVerified)
                and event.procedure is Procedure.enrolment
                and event.risk_types
            ):
                after = replace(after, risk_types=tuple(r.value for r in event.risk_types))
            on = {
                HouseholdVerified: "verified_on",
                HouseholdDeliberated: "deliberated_on",
                HouseholdReviewed: "reviewed_on",
            }[type(event)]
            kind = stage.value.removeprefix("elimination_")
            return after, Step(kind, getattr(event, on), procedure=event.procedure.value)
        case HouseholdEnrolled():
            after = replace(
                state,
                stage=Stage.monitored.value,
                category=event.category.value,
                risk_types=tuple(r.value for r in event.risk_types),
            )
            return after, Step("enrolled", event.enrolled_on, procedure=Procedure.enrolment.value)
        case FlagRejected():
            back = Stage.eliminated.value if state.times_eliminated else None
            after = replace(state, stage=back, flag_id=None, risk_types=())
            return after, Step(
                "flag_rejected", event.rejected_on, procedure="enrolment", rejected_at_stage=event.stage.value
            )
        case ContactAssigned():
            return state, Step("contact_assigned", event.assigned_on)
        case AssistancePlanned():
            measures = ",".join(sorted({m.measure.value for m in event.measures}))
            return state, Step("assistance_planned", event.planned_on, measure=measures)
        case AssistanceDelivered():
            step = Step(
                "assistance_delivered",
                event.delivered_on,
                measure=event.measure.value,
                amount_yuan=event.amount_yuan,
            )
            return state, step
        case RiskEliminationProposed():
            after = replace(state, stage=Stage.elimination_proposed.value)
            return after, Step("elimination_proposed", event.proposed_on, procedure="elimination")
        case RiskEliminationRejected():
            after = replace(state, stage=Stage.monitored.value)
            return after, Step(
                "elimination_rejected",
                event.rejected_on,
                procedure="elimination",
                rejected_at_stage=event.stage.value,
            )
        case RiskEliminated():
            after = replace(
                state,
                stage=Stage.eliminated.value,
                times_eliminated=state.times_eliminated + 1,
                category=None,
                flag_id=None,
            )
            return after, Step("eliminated", event.eliminated_on, procedure="elimination")
        case FollowupRecorded():
            return state, Step("followup", event.visited_on, stable=event.stable)
        case PersonalDataErased():
            return replace(state, erased=True), Step("erased", event.erased_on)
    raise LookupError(f"monitoring facts do not fold {envelope.type}")


_LOAD = text(
    """
    SELECT household_id, village_code, status, members, labourers, registered_at, updated_at, version,
           stage, category, risk_types, flag_id, times_eliminated, erased
    FROM household_facts WHERE household_id = ANY(:ids)
    """
)
_STATE_COLUMNS = (
    "household_id",
    "village_code",
    "status",
    "members",
    "labourers",
    "registered_at",
    "updated_at",
    "version",
    "stage",
    "category",
    "risk_types",
    "flag_id",
    "times_eliminated",
    "erased",
)
# One statement for a batch's households: each column as an array (risk types joined by commas,
# since PostgreSQL's arrays of arrays must be rectangular). Per-row executions cost the database
# more than the rows themselves.
_STATE_TYPES = (
    "uuid",
    "text",
    "text",
    "int",
    "int",
    "timestamptz",
    "timestamptz",
    "int",
    "text",
    "text",
    "text",
    "uuid",
    "int",
    "bool",
)
_SAVE = f"""
    INSERT INTO household_facts ({", ".join(_STATE_COLUMNS)})
    SELECT {", ".join("string_to_array(c11, ',')" if i == 11 else f"c{i}" for i in range(1, 15))}
    FROM unnest({", ".join(f"${i}::{t}[]" for i, t in enumerate(_STATE_TYPES, start=1))})
        AS t({", ".join(f"c{i}" for i in range(1, 15))})
    ON CONFLICT (household_id) DO UPDATE SET village_code = EXCLUDED.village_code,
        status = EXCLUDED.status, members = EXCLUDED.members, labourers = EXCLUDED.labourers,
        updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, stage = EXCLUDED.stage,
        category = EXCLUDED.category, risk_types = EXCLUDED.risk_types, flag_id = EXCLUDED.flag_id,
        times_eliminated = EXCLUDED.times_eliminated, erased = EXCLUDED.erased
"""
HISTORY_COLUMNS = (
    "event_id",
    "household_id",
    "version",
    "village_code",
    "kind",
    "on_date",
    "recorded_at",
    "status",
    "members",
    "labourers",
    "stage",
    "category",
    "risk_types",
    "flag_id",
    "source",
    "urgent",
    "reflagged",
    "procedure",
    "rejected_at_stage",
    "measure",
    "amount_yuan",
    "stable",
)
SURVEY_COLUMNS = (
    "event_id",
    "household_id",
    "village_code",
    "period",
    "surveyed_on",
    "recorded_at",
    "members",
    "per_capita_income_yuan",
    "rigid_expenses_yuan",
    "medical_insured_all",
    "housing_safe",
    "drinking_water_safe",
    "children_of_compulsory_age",
    "out_of_school",
    "labourers",
    "employed",
)


def survey_row(envelope: Envelope, event: HouseholdSurveyed) -> tuple[Any, ...]:
    """A ``household_surveys`` row, in ``SURVEY_COLUMNS`` order."""
    q, a = event.quarterly, event.annual
    return (
        envelope.event_id,
        event.household_id,
        envelope.region_code,
        event.period,
        event.surveyed_on,
        envelope.recorded_at,
        q.members if q else None,
        q.per_capita_net_income_yuan if q else None,
        q.expenses.total() if q else None,
        a.medical_insured_all if a else None,
        a.housing_safe if a else None,
        a.drinking_water_safe if a else None,
        a.children_of_compulsory_age if a else None,
        a.out_of_school if a else None,
        a.labourers if a else None,
        a.employed if a else None,
    )


def raw_survey_row(envelope: Envelope, data: RawEvent) -> tuple[Any, ...]:
    """``survey_row`` of a survey read straight from its stored data (the hot path of a rebuild:
    surveys are most of a monitoring stream). Equal to ``survey_row`` of the decoded event."""
    q, a = data.get("quarterly"), data.get("annual")
    expenses = None
    if q is not None:
        expenses = sum((Decimal(v) for v in (q.get("expenses") or {}).values()), start=Decimal(0))
    return (
        envelope.event_id,
        uuid.UUID(data["household_id"]),
        envelope.region_code,
        data["period"],
        date.fromisoformat(data["surveyed_on"]),
        envelope.recorded_at,
        q["members"] if q else None,
        Decimal(q["per_capita_net_income_yuan"]) if q else None,
        expenses,
        a["medical_insured_all"] if a else None,
        a["housing_safe"] if a else None,
        a["drinking_water_safe"] if a else None,
        a.get("children_of_compulsory_age", 0) if a else None,
        a.get("out_of_school", 0) if a else None,
        a.get("labourers", 0) if a else None,
        a.get("employed", 0) if a else None,
    )


@dataclass
class _Batch:
    states: dict[uuid.UUID, HouseholdState] = field(default_factory=dict)
    changed: set[uuid.UUID] = field(default_factory=set)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    surveys: list[tuple[Any, ...]] = field(default_factory=list)


class MonitoringFacts:
    """Monitoring statistics, 双绑 coverage and stage times are computed from these rows."""

    name = "reporting-monitoring-facts"
    # Most of a monitoring stream, read straight from their data (see Projector._decoded).
    raw_types = frozenset({HouseholdSurveyed.event_type, HouseholdRegistered.event_type})
    tables = ("household_facts", "household_history", "household_surveys")

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("monitoring.")

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        await self.apply_many(conn, [(envelope, event)])

    async def apply_many(self, conn: AsyncConnection, events: Sequence[tuple[Envelope, EventData]]) -> None:
        batch = _Batch()
        ids = list(
            {
                _household_id(e)
                for _, e in events
                if not isinstance(e, HouseholdRegistered | HouseholdSurveyed | RawEvent)
            }
        )
        if ids:
            for row in (await conn.execute(_LOAD, {"ids": ids})).mappings():
                batch.states[row["household_id"]] = HouseholdState(
                    **{**row, "risk_types": tuple(row["risk_types"])}
                )
        for envelope, event in events:
            if isinstance(event, RawEvent) and envelope.type == HouseholdSurveyed.event_type:
                batch.surveys.append(raw_survey_row(envelope, event))
                continue
            if isinstance(event, HouseholdSurveyed):
                batch.surveys.append(survey_row(envelope, event))
                continue
            if isinstance(event, RawEvent):  # a registration
                state, step = registered(envelope, event)
            else:
                state, step = fold(batch.states.get(_household_id(event)), envelope, event)
            hid = state.household_id
            batch.states[hid] = state
            batch.changed.add(hid)
            batch.history.append(_history_row(envelope, state, step))
        if batch.changed:
            raw = await driver_connection(conn)
            rows = [_state_row(batch.states[h]) for h in batch.changed]
            await raw.execute(_SAVE, *(list(column) for column in zip(*rows, strict=True)))
        # Append-only rows keyed by their event: COPY, the cheapest way in.
        await copy_rows(conn, "household_history", HISTORY_COLUMNS, batch.history)
        await copy_rows(conn, "household_surveys", SURVEY_COLUMNS, batch.surveys)


def _household_id(event: EventData) -> uuid.UUID:
    return event.household_id  # type: ignore[attr-defined, no-any-return]


def _state_row(s: HouseholdState) -> tuple[Any, ...]:
    return (
        s.household_id,
        s.village_code,
        s.status,
        s.members,
        s.labourers,
        s.registered_at,
        s.updated_at,
        s.version,
        s.stage,
        s.category,
        ",".join(s.risk_types),
        s.flag_id,
        s.times_eliminated,
        s.erased,
    )


def _history_row(envelope: Envelope, state: HouseholdState, step: Step) -> tuple[Any, ...]:
    """A ``household_history`` row, in ``HISTORY_COLUMNS`` order."""
    return (
        envelope.event_id,
        state.household_id,
        state.version,
        state.village_code,
        step.kind,
        step.on_date,
        envelope.recorded_at,
        state.status,
        state.members,
        state.labourers,
        state.stage,
        state.category,
        list(state.risk_types),
        state.flag_id,
        step.source,
        step.urgent,
        step.reflagged,
        step.procedure,
        step.rejected_at_stage,
        step.measure,
        step.amount_yuan,
        step.stable,
    )
