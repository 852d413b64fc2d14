"""Load an aggregate from its stream and append what it decided: the three lines of every command."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

from shared.aggregate import Aggregate
from shared.events.envelope import Envelope, EventData
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import EventStoreSession

A = TypeVar("A", bound=Aggregate)


async def load(session: EventStoreSession, stream_id: str, cls: type[A]) -> A:
    return rebuild(cls, await session.load(stream_id))


def rebuild(cls: type[A], history: Iterable[Envelope]) -> A:
    return cls.from_history(decode(envelope) for envelope in history)


def save(
    session: EventStoreSession,
    ctx: CommandContext,
    stream_id: str,
    aggregate: Aggregate,
    region_code: str,
    events: Sequence[EventData],
) -> None:
    """Append ``events`` after the version ``aggregate`` was loaded at (written as the session ends)."""
    session.append(aggregate.version, wrap(ctx, stream_id, aggregate.version, region_code, events))
