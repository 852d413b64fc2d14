"""The reporting service's own records, projected from its own stream (``reporting-records``):
supervision cards (``card_history``), period closings and indicator values entered by counties.
Each row is keyed by its event, so a replay into empty tables gives the same rows."""

from __future__ import annotations

import json

from sqlalchemy import text

from shared.events.catalogue.reporting import IndicatorEntered, PeriodClosed, SupervisionCardChanged
from shared.events.envelope import Envelope, EventData
from shared.messaging.batched_writes import StepwiseProjection, Write

_CARD = text(
    """
    INSERT INTO card_history (event_id, subject, subject_id, village_code, card, previous, reasons,
        judged_on, version, recorded_at)
    VALUES (:event_id, :subject, :subject_id, :village_code, :card, :previous, CAST(:reasons AS jsonb),
        :judged_on, :version, :at)
    """
)
_CLOSED = text(
    """
    INSERT INTO period_closings (county_code, period, closed_at, due_on, tables, filing_id, recorded_at)
    VALUES (:county_code, :period, :closed_at, :due_on, CAST(:tables AS jsonb), :filing_id, :at)
    """
)
_INDICATOR = text(
    """
    INSERT INTO indicator_entries (event_id, region_code, indicator, year, baseline, target, current,
        note, recorded_at)
    VALUES (:event_id, :region_code, :indicator, :year, :baseline, :target, :current, :note, :at)
    """
)


def _writes(envelope: Envelope, event: EventData) -> list[Write]:
    at = envelope.recorded_at
    match event:
        case SupervisionCardChanged():
            return [
                (
                    _CARD,
                    {
                        "event_id": envelope.event_id,
                        "subject": event.subject.value,
                        "subject_id": event.subject_id,
                        "village_code": event.village_code,
                        "card": event.card.value,
                        "previous": event.previous.value if event.previous else None,
                        "reasons": json.dumps(
                            [r.model_dump(mode="json") for r in event.reasons], ensure_ascii=False
                        ),
                        "judged_on": event.judged_on,
                        "version": envelope.stream_version,
                        "at": at,
                    },
                )
            ]
        case PeriodClosed():
            values = event.model_dump(include={"county_code", "period", "closed_at", "due_on", "filing_id"})
            return [(_CLOSED, {**values, "tables": json.dumps(event.tables), "at": at})]
        case IndicatorEntered():
            return [(_INDICATOR, {**event.model_dump(), "event_id": envelope.event_id, "at": at})]
    return []


_HANDLED = frozenset(t.event_type for t in (SupervisionCardChanged, PeriodClosed, IndicatorEntered))


class ReportingRecords(StepwiseProjection):
    name = "reporting-records"
    tables = ("card_history", "period_closings", "indicator_entries")
    handled = _HANDLED

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        return _writes(envelope, event)
