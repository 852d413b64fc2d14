"""``wrapped_rows`` makes the very envelopes ``wrap`` makes, as stored rows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.catalogue.monitoring import HouseholdSurveyed, QuarterlySurvey
from shared.events.envelope import Actor, Envelope
from shared.eventstore.context import CommandContext, wrap, wrapped_rows
from shared.eventstore.store import event_row


@pytest.mark.parametrize("causation", [None, 'survey-import:"B-1"'])
def test_the_same_envelope_as_wrap_makes(causation: str | None) -> None:
    now = datetime(2026, 11, 2, 2, 0, 0, 123456, tzinfo=UTC)
    ctx = CommandContext(Actor(id='p"1', role="platform", region_code="15"), now, "c-1", causation)
    survey = QuarterlySurvey(members=3, per_capita_net_income_yuan="8000.50")  # type: ignore[arg-type]
    events = [
        HouseholdSurveyed(
            household_id=uuid.uuid4(),
            survey_id=uuid.uuid4(),
            period=f"2026Q{q}",
            surveyed_on=now.date(),
            quarterly=survey,
            batch_id="批次-1",
        )
        for q in (1, 2)
    ]
    occurred = now - timedelta(days=1)
    rows = wrapped_rows(ctx, "household-1", 4, "150602100001", events, occurred)
    envelopes = wrap(ctx, "household-1", 4, "150602100001", events, occurred)
    for row, envelope in zip(rows, envelopes, strict=True):
        made = Envelope.model_validate_json(row[7])
        assert made == envelope.model_copy(update={"event_id": made.event_id})
        expected = event_row(envelope.model_copy(update={"event_id": row[0]}))
        assert row[:7] == expected[:7] and json.loads(row[7]) == json.loads(expected[7])


def test_a_region_code_is_checked() -> None:
    ctx = CommandContext(Actor(id="p", role="platform", region_code="15"), datetime.now(UTC), "c")
    with pytest.raises(ValueError, match="12 digits"):
        wrapped_rows(ctx, "s", 0, "1506", [])
