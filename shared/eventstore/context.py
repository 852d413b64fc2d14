"""Who and when: what a command handler adds to the domain's events to make envelopes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, TypeAdapter

from shared.events.envelope import Actor, Envelope, EventData
from shared.eventstore.store import EventRow
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


_INSTANT = TypeAdapter(AwareDatetime)


def wrapped_rows(
    ctx: CommandContext,
    stream_id: str,
    after_version: int,
    region_code: str,
    events: Sequence[EventData],
    occurred_at: datetime | None = None,
) -> list[EventRow]:
    """``wrap`` and then ``event_row``, without the ``Envelope`` between: the same JSON, each
    event's data serialised once (a bulk import makes two envelopes a row). The envelope's fields
    come from checked values; the region code is checked here."""
    if len(region_code) != 12 or not region_code.isdigit():
        raise ValueError(f"an event's region code has 12 digits, not {region_code!r}")
    stream = json.dumps(stream_id)
    common = (
        f'"region_code":"{region_code}",'
        f'"occurred_at":{_INSTANT.dump_json(occurred_at or ctx.now).decode()},'
        f'"recorded_at":{_INSTANT.dump_json(ctx.now).decode()},'
        f'"actor":{ctx.actor.model_dump_json()},'
        f'"correlation_id":{json.dumps(ctx.correlation_id)},"causation_id":{json.dumps(ctx.causation_id)}'
    )
    rows: list[EventRow] = []
    for offset, event in enumerate(events, start=1):
        event_id, version = uuid7(), after_version + offset
        text = (
            f'{{"event_id":"{event_id}","type":"{event.event_type}","schema_version":{event.schema_version},'
            f'"stream_id":{stream},"stream_version":{version},{common},"data":{event.model_dump_json()}}}'
        )
        rows.append(
            (event_id, stream_id, version, event.event_type, event.schema_version, region_code, ctx.now, text)
        )
    return rows
