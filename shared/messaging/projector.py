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
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.envelope import Envelope, EventData
from shared.events.registry import decode, latest_version
from shared.messaging.checkpoints import (
    DeadLetter,
    advance,
    advance_from,
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


_CHECKPOINTS_FIRST = text("LOCK TABLE consumer_checkpoints IN ROW EXCLUSIVE MODE")


class _NotAsExpected(Exception):
    """A checkpoint did not stand where a batch's first event of its stream needs it."""


def consecutive_runs(parsed: Sequence[Envelope | str]) -> dict[str, tuple[int, int]] | None:
    """Each stream's (first, last) version in a batch whose events of one stream follow one
    another without a gap or a repeat; None when one does not (or a message is unreadable)."""
    runs: dict[str, tuple[int, int]] = {}
    for envelope in parsed:
        if not isinstance(envelope, Envelope):
            return None
        run = runs.get(envelope.stream_id)
        if run is None:
            runs[envelope.stream_id] = (envelope.stream_version, envelope.stream_version)
        elif envelope.stream_version == run[1] + 1:
            runs[envelope.stream_id] = (run[0], envelope.stream_version)
        else:
            return None
    return runs


class PoisonEvent(Exception):
    """An event that no retry can make applicable (its data does not fit its model)."""


@dataclass(frozen=True)
class Prepared:
    """A batch read before it is applied: each message's envelope (or why it cannot be read) and
    its event (None when the projection does not handle it, or the error decoding it raised)."""

    parsed: list[Envelope | str]
    events: list[EventData | RawEvent | PoisonEvent | None]


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

    def prepare(self, deliveries: Sequence[Delivery]) -> Prepared:
        """Parse and decode a batch (pure): a replay prepares the next batch while one is applied."""
        parsed = [_parse(d) for d in deliveries]
        return Prepared(parsed, [self._decoded_or_error(p) for p in parsed])

    async def apply_batch(
        self, deliveries: Sequence[Delivery], prepared: Prepared | None = None
    ) -> list[Outcome]:
        """Apply a batch in one transaction; if one event fails, redo it event by event."""
        prepared = prepared or self.prepare(deliveries)
        parsed = prepared.parsed
        if (runs := consecutive_runs(parsed)) is not None:
            try:
                async with self.engine.begin() as conn:
                    return await self._apply_expected(conn, prepared, runs)
            except _NotAsExpected:
                pass  # rolled back: the checkpoints stood elsewhere; the locking path sorts it out
            except Exception as exc:
                log.info("projector %s: batch failed (%r); applying event by event", self.name, exc)
                return await self._apply_each(deliveries, parsed)
        try:
            async with self.engine.begin() as conn:
                return await self._apply_together(conn, deliveries, prepared)
        except Exception as exc:
            log.info("projector %s: batch failed (%r); applying event by event", self.name, exc)
        return await self._apply_each(deliveries, parsed)

    async def _apply_each(
        self, deliveries: Sequence[Delivery], parsed: list[Envelope | str]
    ) -> list[Outcome]:
        async with self.engine.begin() as conn:
            return [await self._apply_alone(conn, d, p) for d, p in zip(deliveries, parsed, strict=True)]

    async def _apply_expected(
        self, conn: AsyncConnection, prepared: Prepared, runs: dict[str, tuple[int, int]]
    ) -> list[Outcome]:
        """The common case, in one round trip for the checkpoints: each stream's events in the batch
        follow one another, and its checkpoint stands right before the first of them. Move every
        checkpoint on the condition that it stood there, then apply the events; if one did not (a
        redelivery, a gap, another consumer's replay or batch), roll the whole batch back."""
        # Checkpoints before the read model, as on the locking path: a reset (replay.reset) waits
        # for this batch, or this batch for the reset, and neither is a deadlock's victim.
        await conn.execute(_CHECKPOINTS_FIRST)
        # Moved first, not after applying: each statement reads what was committed when it began,
        # so the writes must come after the statement that found the stream's previous version
        # committed. Applied first, a batch of version 2 could read the read model before another
        # instance committed version 1, then find its checkpoint and commit a lost update.
        if not await advance_from(conn, self.name, runs):
            raise _NotAsExpected
        pending: list[tuple[Envelope, EventData]] = []
        for envelope, event in zip(prepared.parsed, prepared.events, strict=True):
            assert isinstance(envelope, Envelope)
            await self._take(conn, envelope, event, pending)
        await self._apply_pending(conn, pending)
        return [Outcome() for _ in prepared.parsed]

    async def _apply_together(
        self, conn: AsyncConnection, deliveries: Sequence[Delivery], prepared: Prepared
    ) -> list[Outcome]:
        """The fast path: every checkpoint of the batch locked in one statement, moved in one."""
        parsed = prepared.parsed
        envelopes = [p for p in parsed if isinstance(p, Envelope)]
        standing = await lock_streams(conn, self.name, [e.stream_id for e in envelopes]) if envelopes else {}
        advanced: dict[str, int] = {}
        outcomes = []
        pending: list[tuple[Envelope, EventData]] = []
        for delivery, envelope, event in zip(deliveries, parsed, prepared.events, strict=True):
            if isinstance(envelope, str):
                await self._dead_letter(conn, delivery, None, envelope)
                outcomes.append(Outcome(note="dead-lettered"))
            elif envelope.stream_version == standing[envelope.stream_id] + 1:
                # A failure, here or in apply_many, sends the batch down the slow path.
                await self._take(conn, envelope, event, pending)
                standing[envelope.stream_id] = advanced[envelope.stream_id] = envelope.stream_version
                outcomes.append(Outcome())
            else:
                outcomes.append(await self._not_next(conn, delivery, envelope, standing[envelope.stream_id]))
        await self._apply_pending(conn, pending)
        await advance(conn, self.name, advanced)
        return outcomes

    async def _take(
        self,
        conn: AsyncConnection,
        envelope: Envelope,
        event: EventData | RawEvent | PoisonEvent | None,
        pending: list[tuple[Envelope, EventData]],
    ) -> None:
        """Apply an event that is next in its stream now, or keep it for ``apply_many``."""
        if isinstance(event, PoisonEvent):
            raise event
        if event is None:
            return
        if hasattr(self.projection, "apply_many"):
            pending.append((envelope, event))  # type: ignore[arg-type]
        else:
            await self.projection.apply(conn, envelope, event)  # type: ignore[arg-type]

    async def _apply_pending(self, conn: AsyncConnection, pending: list[tuple[Envelope, EventData]]) -> None:
        if pending:
            await self.projection.apply_many(conn, pending)  # type: ignore[attr-defined]

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

    def _decoded_or_error(self, parsed: Envelope | str) -> EventData | RawEvent | PoisonEvent | None:
        if isinstance(parsed, str):
            return None
        try:
            return self._decoded(parsed)
        except PoisonEvent as poison:
            return poison

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
