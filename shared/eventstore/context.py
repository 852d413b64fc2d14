"""Who and when: what a command handler adds to the domain's events to make envelopes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.events.envelope import Actor, Envelope, EventData
from shared.ids import uuid7


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    now: datetime
    correlation_id: str
    causation_id: str | None = None


def wrap(
    ctx: CommandContext,
    stream_id: str,
    after_version: int,
    region_code: str,
    events: Sequence[EventData],
    occurred_at: datetime | None = None,
) -> list[Envelope]:
    """Envelopes for ``events``, numbered after ``after_version`` in ``stream_id``."""
    return [
        Envelope(
            event_id=uuid7(),
            type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=after_version + offset,
            region_code=region_code,
            occurred_at=occurred_at or ctx.now,
            recorded_at=ctx.now,
            actor=ctx.actor,
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            data=event.model_dump(mode="json"),
        )
        for offset, event in enumerate(events, start=1)
    ]
