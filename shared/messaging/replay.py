"""Rebuilding a projection: empty it, then replay its stream from the first event.

The live durable consumer may keep running: the checkpoints make every event apply once,
whichever of the two delivers it first, and the live one waits for the replay to fill gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from nats.js import JetStreamContext
from sqlalchemy import text

from shared.events.subjects import StreamSpec
from shared.messaging.projector import Delivery, Projector
from shared.messaging.stream_reader import read_stream

log = logging.getLogger(__name__)
_PATIENCE_STEP_S = 0.05


async def reset(projector: Projector) -> None:
    tables = ", ".join(projector.projection.tables)
    async with projector.engine.begin() as conn:
        # Lock in the projector's order, checkpoints before the read model: a live batch that has
        # claimed a checkpoint finishes first and none claims until this commits. TRUNCATE first
        # deadlocks with such a batch (it holds the checkpoint row this DELETE needs).
        await conn.execute(text("LOCK TABLE consumer_checkpoints IN SHARE ROW EXCLUSIVE MODE"))
        await conn.execute(text(f"TRUNCATE {tables}"))
        await conn.execute(
            text("DELETE FROM consumer_checkpoints WHERE consumer = :c"), {"c": projector.name}
        )


async def rebuild(
    projector: Projector,
    js: JetStreamContext,
    spec: StreamSpec,
    *,
    subject: str | None = None,
    batch_size: int = 1000,
) -> int:
    """Reset the projection and replay the stream as it stands now; return events read.

    The next chunk is read while one is applied (``stream_reader``: memory stays bounded
    whatever the stream's length)."""
    await reset(projector)
    chunks = read_stream(js, spec.name, subject or spec.subjects[0], batch=batch_size)
    read, waiting = 0, []
    pending = asyncio.ensure_future(anext(chunks, None))
    try:
        while (chunk := await pending) is not None:
            pending = asyncio.ensure_future(anext(chunks, None))
            read += len(chunk)
            waiting = await _apply(projector, [*waiting, *chunk])
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        await chunks.aclose()
    # The live consumer may still be committing a predecessor: give it a moment, then
    # dead-letter what still waits, with the reason.
    waiting = await _apply(projector, waiting, patience_s=5.0)
    if waiting:
        await projector.apply_batch([_final(d, projector) for d in waiting])
    log.info("rebuilt %s from %d events", projector.name, read)
    return read


async def _apply(
    projector: Projector, deliveries: Sequence[Delivery], patience_s: float = 0.0
) -> list[Delivery]:
    """Apply, re-applying what waited on a predecessor while that makes progress, and for up
    to ``patience_s`` when it does not (a predecessor the live consumer has not committed yet)."""
    pending, waited = list(deliveries), 0.0
    while pending:
        outcomes = await projector.apply_batch(pending)
        still = [
            Delivery(d.subject, d.payload, d.stream_sequence, d.attempt + 1)
            for d, o in zip(pending, outcomes, strict=True)
            if not o.ack
        ]
        if len(still) == len(pending):
            if waited >= patience_s:
                return still
            await asyncio.sleep(_PATIENCE_STEP_S)
            waited += _PATIENCE_STEP_S
        pending = still
    return []


def _final(delivery: Delivery, projector: Projector) -> Delivery:
    attempts = max(projector.max_attempts, projector.max_gap_waits)
    return Delivery(delivery.subject, delivery.payload, delivery.stream_sequence, attempts)
