"""Read models the monitoring service projects from its own stream: ``monitoring-households``.

- ``monitoring_households``: one row per household, as its events left it. ``stage`` follows
  ``domain.Household.when``; the flag's fields describe the open procedure (cleared when a flag
  is rejected or the risk eliminated); ``risk_types`` are the flag's until verification or
  enrolment confirms others, and stay after elimination (the risks that were eliminated).
- ``monitoring_surveys``: the survey of each household and period as last corrected.

No personal field of a household reaches these tables: the sealed blobs stay in the events.
Every write depends only on the household's own row and its event, and the projector applies a
stream's events in order, each once (checkpoint and write in one transaction). Most writes are
upserts or absolute values; the counters (deliveries, amount delivered, times eliminated) add
to the row, which is exact under that once-in-order guarantee and gives the same rows when the
stream is replayed into empty tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

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
    PersonalDataErased,
    Procedure,
    RiskEliminated,
    RiskEliminationProposed,
    RiskEliminationRejected,
    Stage,
)
from shared.events.envelope import Envelope, EventData
from shared.messaging.batched_writes import Write, execute_in_steps
from shared.service import Consumes

_REGISTERED = text(
    """
    INSERT INTO monitoring_households (household_id, village_code, status, members)
    VALUES (:household_id, :village_code, :status, :members)
    ON CONFLICT (household_id) DO UPDATE SET village_code = EXCLUDED.village_code,
        status = EXCLUDED.status, members = EXCLUDED.members
    """
)
_MEMBERS = text(
    "UPDATE monitoring_households SET status = :status, members = :members WHERE household_id = :household_id"
)
_SURVEYED = text(
    """
    INSERT INTO monitoring_surveys (household_id, period, village_code, kind, surveyed_on, survey)
    VALUES (:household_id, :period, :village_code, :kind, :surveyed_on, CAST(:survey AS jsonb))
    ON CONFLICT (household_id, period) DO UPDATE SET village_code = EXCLUDED.village_code,
        kind = EXCLUDED.kind, surveyed_on = EXCLUDED.surveyed_on, survey = EXCLUDED.survey
    """
)
_FLAGGED = text(
    """
    UPDATE monitoring_households SET stage = :stage, flag_id = :flag_id, flag_source = :source,
        urgent = :urgent, risk_types = CAST(:risk_types AS text[]), rules = CAST(:rules AS text[]),
        flagged_on = :flagged_on
    WHERE household_id = :household_id
    """
)
# A step of either procedure: the stage it leads to is named by the event's procedure.
_STEP = text("UPDATE monitoring_households SET stage = :stage WHERE household_id = :household_id")
_VERIFIED_RISKS = text(
    "UPDATE monitoring_households SET risk_types = CAST(:risk_types AS text[]) "
    "WHERE household_id = :household_id"
)
_ENROLLED = text(
    """
    UPDATE monitoring_households SET stage = :stage, category = :category,
        risk_types = CAST(:risk_types AS text[]), enrolled_on = :enrolled_on,
        contact_due_on = :contact_due_on
    WHERE household_id = :household_id
    """
)
# Back to no procedure, or to `eliminated` for a household whose risk was eliminated before.
_REJECTED = text(
    """
    UPDATE monitoring_households SET
        stage = CASE WHEN times_eliminated > 0 THEN CAST(:eliminated AS text) END,
        flag_id = NULL, flag_source = NULL, urgent = false, risk_types = '{}', rules = '{}',
        flagged_on = NULL
    WHERE household_id = :household_id
    """
)
_CONTACT = text(
    """
    UPDATE monitoring_households SET contact_name = :contact_name, contact_unit = :contact_unit,
        contact_phone = :contact_phone, assigned_on = :assigned_on
    WHERE household_id = :household_id
    """
)
_PLANNED = text(
    """
    UPDATE monitoring_households SET measures = ARRAY(
        SELECT DISTINCT m FROM unnest(measures || CAST(:measures AS text[])) AS m ORDER BY m)
    WHERE household_id = :household_id
    """
)
_DELIVERED = text(
    """
    UPDATE monitoring_households SET deliveries = deliveries + 1,
        delivered_yuan = delivered_yuan + :amount_yuan
    WHERE household_id = :household_id
    """
)
_ELIMINATED = text(
    """
    UPDATE monitoring_households SET stage = :stage, eliminated_on = :eliminated_on,
        times_eliminated = times_eliminated + 1, category = NULL, flag_id = NULL, flag_source = NULL,
        urgent = false, rules = '{}', flagged_on = NULL
    WHERE household_id = :household_id
    """
)
_FOLLOWUP = text(
    """
    UPDATE monitoring_households SET last_followup_on = greatest(last_followup_on, :visited_on)
    WHERE household_id = :household_id
    """
)
_ERASED = text("UPDATE monitoring_households SET erased = true WHERE household_id = :household_id")

Decide = Callable[[Envelope, Any], list[Write]]


def _values(items: list[Any]) -> list[str]:
    return [str(item.value) for item in items]


def _household(event: Any, statement: TextClause, **params: Any) -> list[Write]:
    return [(statement, {"household_id": event.household_id, **params})]


def _registered(envelope: Envelope, event: HouseholdRegistered) -> list[Write]:
    return _household(
        event,
        _REGISTERED,
        village_code=event.village_code,
        status=event.status.value,
        members=len(event.members),
    )


def _members(envelope: Envelope, event: HouseholdMembersUpdated) -> list[Write]:
    return _household(event, _MEMBERS, status=event.status.value, members=len(event.members))


def _surveyed(envelope: Envelope, event: HouseholdSurveyed) -> list[Write]:
    survey = event.quarterly if event.quarterly is not None else event.annual
    assert survey is not None  # the model's producer gives exactly one
    return _household(
        event,
        _SURVEYED,
        period=event.period,
        village_code=envelope.region_code,
        kind="quarterly" if event.quarterly is not None else "annual",
        surveyed_on=event.surveyed_on,
        survey=survey.model_dump_json(),
    )


def _flagged(envelope: Envelope, event: HouseholdFlagged) -> list[Write]:
    return _household(
        event,
        _FLAGGED,
        stage=Stage.flagged.value,
        flag_id=event.flag_id,
        source=event.source.value,
        urgent=event.urgent,
        risk_types=_values(event.risk_types),
        rules=list(event.rules),
        flagged_on=event.flagged_on,
    )


_AFTER_STEP = {
    (HouseholdVerified, Procedure.enrolment): Stage.verified,
    (HouseholdVerified, Procedure.elimination): Stage.elimination_verified,
    (HouseholdDeliberated, Procedure.enrolment): Stage.deliberated,
    (HouseholdDeliberated, Procedure.elimination): Stage.elimination_deliberated,
    (HouseholdReviewed, Procedure.enrolment): Stage.reviewed,
    (HouseholdReviewed, Procedure.elimination): Stage.elimination_reviewed,
}


def _step(
    envelope: Envelope, event: HouseholdVerified | HouseholdDeliberated | HouseholdReviewed
) -> list[Write]:
    writes = _household(event, _STEP, stage=_AFTER_STEP[(type(event), event.procedure)].value)
    if isinstance(event, HouseholdVerified) and event.procedure is Procedure.enrolment:
        writes += _household(event, _VERIFIED_RISKS, risk_types=_values(event.risk_types))
    return writes


def _enrolled(envelope: Envelope, event: HouseholdEnrolled) -> list[Write]:
    return _household(
        event,
        _ENROLLED,
        stage=Stage.monitored.value,
        category=event.category.value,
        risk_types=_values(event.risk_types),
        enrolled_on=event.enrolled_on,
        contact_due_on=event.contact_due_on,
    )


def _rejected(envelope: Envelope, event: FlagRejected) -> list[Write]:
    return _household(event, _REJECTED, eliminated=Stage.eliminated.value)


def _contact(envelope: Envelope, event: ContactAssigned) -> list[Write]:
    return [(_CONTACT, event.model_dump())]


def _planned(envelope: Envelope, event: AssistancePlanned) -> list[Write]:
    return _household(event, _PLANNED, measures=sorted({m.measure.value for m in event.measures}))


def _delivered(envelope: Envelope, event: AssistanceDelivered) -> list[Write]:
    amount = event.amount_yuan if event.amount_yuan is not None else Decimal(0)
    return _household(event, _DELIVERED, amount_yuan=amount)


def _proposed(envelope: Envelope, event: RiskEliminationProposed) -> list[Write]:
    return _household(event, _STEP, stage=Stage.elimination_proposed.value)


def _elimination_rejected(envelope: Envelope, event: RiskEliminationRejected) -> list[Write]:
    return _household(event, _STEP, stage=Stage.monitored.value)


def _eliminated(envelope: Envelope, event: RiskEliminated) -> list[Write]:
    return _household(event, _ELIMINATED, stage=Stage.eliminated.value, eliminated_on=event.eliminated_on)


def _followup(envelope: Envelope, event: FollowupRecorded) -> list[Write]:
    return _household(event, _FOLLOWUP, visited_on=event.visited_on)


def _erased(envelope: Envelope, event: PersonalDataErased) -> list[Write]:
    return _household(event, _ERASED)


_APPLY: dict[str, Decide] = {
    HouseholdRegistered.event_type: _registered,
    HouseholdMembersUpdated.event_type: _members,
    HouseholdSurveyed.event_type: _surveyed,
    HouseholdFlagged.event_type: _flagged,
    HouseholdVerified.event_type: _step,
    HouseholdDeliberated.event_type: _step,
    HouseholdReviewed.event_type: _step,
    HouseholdEnrolled.event_type: _enrolled,
    FlagRejected.event_type: _rejected,
    ContactAssigned.event_type: _contact,
    AssistancePlanned.event_type: _planned,
    AssistanceDelivered.event_type: _delivered,
    RiskEliminationProposed.event_type: _proposed,
    RiskEliminationRejected.event_type: _elimination_rejected,
    RiskEliminated.event_type: _eliminated,
    FollowupRecorded.event_type: _followup,
    PersonalDataErased.event_type: _erased,
}


class Households:
    """Monitored and surveyed households (监测对象台账): one projection of every household event."""

    name = "monitoring-households"
    tables = ("monitoring_households", "monitoring_surveys")

    def handles(self, event_type: str) -> bool:
        return event_type in _APPLY

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        for statement, params in _APPLY[envelope.type](envelope, event):
            await conn.execute(statement, params)

    async def apply_many(self, conn: AsyncConnection, events: Sequence[tuple[Envelope, EventData]]) -> None:
        """Every write is keyed by its household's id: a batch goes in steps (batched_writes)."""
        await execute_in_steps(
            conn,
            [
                (envelope.stream_id, write)
                for envelope, event in events
                for write in _APPLY[envelope.type](envelope, event)
            ],
        )


PROJECTIONS: dict[str, Consumes] = {Households.name: Consumes("monitoring", Households)}
