"""Applying delivered events exactly once: checkpoint and state change in one transaction.

Per aggregate, a projector applies version N only right after N-1: an older version is a
redelivery (acknowledged, nothing changes), a newer one waits for its predecessor (negative
acknowledgement with a delay). An event that fails ``max_attempts`` times, or can never be
parsed, goes to the dead letters with the reason, and the events behind it go on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.envelope import Envelope, EventData
from shared.events.registry import decode, latest_version
from shared.messaging.checkpoints import (
    DeadLetter,
    advance,
    claim,
    current,
    lock_streams,
    record_dead_letter,
)

log = logging.getLogger(__name__)


class Projection(Protocol):
    """A read model fed by events. Its subject filter must take whole aggregates."""

    name: str
    tables: Sequence[str]

    def handles(self, event_type: str) -> bool: ...

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None: ...


class BatchProjection(Projection, Protocol):
    """A projection that applies a batch's events together (see batched_writes), in their order."""

    async def apply_many(
        self, conn: AsyncConnection, events: Sequence[tuple[Envelope, EventData]]
    ) -> None: ...


@dataclass(frozen=True)
class Delivery:
    subject: str
    payload: bytes
    stream_sequence: int | None
    attempt: int


@dataclass(frozen=True)
class Outcome:
    """``retry_after`` None means acknowledge; a number means redeliver after that many seconds."""

    retry_after: float | None = None
    note: str = "applied"

    @property
    def ack(self) -> bool:
        return self.retry_after is None


class RawEvent(dict[str, Any]):
    """An event's ``data`` as stored (JSON values), for a projection's ``raw_types``."""


class PoisonEvent(Exception):
    """An event that no retry can make applicable (its data does not fit its model)."""


class Projector:
    def __init__(
        self,
        engine: AsyncEngine,
        projection: Projection,
        *,
        max_attempts: int = 5,
        max_gap_waits: int = 120,
    ) -> None:
        self.engine = engine
        self.projection = projection
        self.max_attempts = max_attempts
        self.max_gap_waits = max_gap_waits

    @property
    def name(self) -> str:
        return self.projection.name

    async def apply_batch(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        """Apply a batch in one transaction; if one event fails, redo it event by event."""
        parsed = [_parse(d) for d in deliveries]
        try:
            async with self.engine.begin() as conn:
                return await self._apply_together(conn, deliveries, parsed)
        except Exception as exc:
            log.info("projector %s: batch failed (%r); applying event by event", self.name, exc)
        async with self.engine.begin() as conn:
            return [await self._apply_alone(conn, d, p) for d, p in zip(deliveries, parsed, strict=True)]

    async def _apply_together(
        self, conn: AsyncConnection, deliveries: Sequence[Delivery], parsed: list[Envelope | str]
    ) -> list[Outcome]:
        """The fast path: every checkpoint of the batch locked in one statement, moved in one."""
        envelopes = [p for p in parsed if isinstance(p, Envelope)]
        standing = await lock_streams(conn, self.name, [e.stream_id for e in envelopes]) if envelopes else {}
        advanced: dict[str, int] = {}
        outcomes = []
        together = hasattr(self.projection, "apply_many")
        pending: list[tuple[Envelope, EventData]] = []
        for delivery, envelope in zip(deliveries, parsed, strict=True):
            if isinstance(envelope, str):
                await self._dead_letter(conn, delivery, None, envelope)
                outcomes.append(Outcome(note="dead-lettered"))
            elif envelope.stream_version == standing[envelope.stream_id] + 1:
                # A failure, here or in apply_many, sends the batch down the slow path.
                event = self._decoded(envelope)
                if event is not None and together:
                    pending.append((envelope, event))
                elif event is not None:
                    await self.projection.apply(conn, envelope, event)
                standing[envelope.stream_id] = advanced[envelope.stream_id] = envelope.stream_version
                outcomes.append(Outcome())
            else:
                outcomes.append(await self._not_next(conn, delivery, envelope, standing[envelope.stream_id]))
        if pending:
            await self.projection.apply_many(conn, pending)  # type: ignore[attr-defined]
        await advance(conn, self.name, advanced)
        return outcomes

    async def _apply_alone(
        self, conn: AsyncConnection, delivery: Delivery, parsed: Envelope | str
    ) -> Outcome:
        """The slow path: each event in its own savepoint, so that one failure is isolated."""
        if isinstance(parsed, str):
            await self._dead_letter(conn, delivery, None, parsed)
            return Outcome(note="dead-lettered")
        envelope = parsed
        try:
            async with conn.begin_nested():
                claimed = await claim(conn, self.name, envelope.stream_id, envelope.stream_version)
                if claimed:
                    await self._apply(conn, envelope)
        except Exception as exc:
            poison = isinstance(exc, PoisonEvent)
            if not poison and delivery.attempt < self.max_attempts:
                return Outcome(retry_after=min(0.5 * delivery.attempt, 10.0), note=repr(exc))
            # Give up on this event but not on its stream: move the checkpoint past it.
            await claim(conn, self.name, envelope.stream_id, envelope.stream_version)
            await self._dead_letter(conn, delivery, envelope, f"apply failed: {exc!r}")
            return Outcome(note="dead-lettered")
        if claimed:
            return Outcome()
        return await self._not_next(
            conn, delivery, envelope, await current(conn, self.name, envelope.stream_id)
        )

    async def _not_next(
        self, conn: AsyncConnection, delivery: Delivery, envelope: Envelope, applied_up_to: int
    ) -> Outcome:
        """An event that is not its stream's next: a redelivery, or one ahead of a missing one."""
        if applied_up_to >= envelope.stream_version:
            return Outcome(note="duplicate")
        if delivery.attempt >= self.max_gap_waits:
            reason = f"version {applied_up_to + 1} of {envelope.stream_id} never arrived"
            await self._dead_letter(conn, delivery, envelope, reason)
            return Outcome(note="dead-lettered")
        return Outcome(retry_after=min(0.1 * delivery.attempt, 2.0), note="waiting for predecessor")

    async def _apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        event = self._decoded(envelope)
        if event is not None:
            await self.projection.apply(conn, envelope, event)

    def _decoded(self, envelope: Envelope) -> EventData | RawEvent | None:
        """The event, when the projection handles its type.

        A projection may name types it reads straight from the envelope's ``data`` (``raw_types``,
        for the few types that make most of a stream): their model's validation is most of what
        such an event costs, and the producing service validated it when it was stored. Only the
        latest schema version is passed raw; an older one is upcast and validated as usual."""
        if not self.projection.handles(envelope.type):
            return None
        if envelope.type in getattr(
            self.projection, "raw_types", ()
        ) and envelope.schema_version == latest_version(envelope.type):
            return RawEvent(envelope.data)
        try:
            return decode(envelope)
        except (ValidationError, LookupError) as exc:
            raise PoisonEvent(f"data does not fit {envelope.type} v{envelope.schema_version}: {exc}") from exc

    async def _dead_letter(
        self, conn: AsyncConnection, delivery: Delivery, envelope: Envelope | None, reason: str
    ) -> None:
        log.warning("projector %s: dead letter seq=%s: %s", self.name, delivery.stream_sequence, reason)
        await record_dead_letter(
            conn,
            DeadLetter(
                consumer=self.name,
                subject=delivery.subject,
                stream_sequence=delivery.stream_sequence,
                reason=reason,
                payload=delivery.payload.decode("utf-8", errors="replace"),
                attempts=delivery.attempt,
                event_id=str(envelope.event_id) if envelope else None,
                stream_id=envelope.stream_id if envelope else None,
                stream_version=envelope.stream_version if envelope else None,
            ),
        )


def _parse(delivery: Delivery) -> Envelope | str:
    """The envelope, or the reason it cannot be read."""
    try:
        return Envelope.model_validate_json(delivery.payload)
    except ValidationError as exc:
        return f"not an event envelope: {exc.errors(include_url=False)[:3]}"
    except Exception as exc:
        return f"unreadable message: {exc!r}"
