"""Load an aggregate from its stream and append what it decided: the three lines of every command."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from shared.aggregate import Aggregate
from shared.events.envelope import EventData
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import EventStoreSession

A = TypeVar("A", bound=Aggregate)


async def load(session: EventStoreSession, stream_id: str, cls: type[A]) -> A:
    return cls.from_history(decode(envelope) for envelope in await session.load(stream_id))


async def save(
    session: EventStoreSession,
    ctx: CommandContext,
    stream_id: str,
    aggregate: Aggregate,
    region_code: str,
    events: Sequence[EventData],
) -> None:
    """Append ``events`` after the version ``aggregate`` was loaded at."""
    await session.append(aggregate.version, wrap(ctx, stream_id, aggregate.version, region_code, events))
