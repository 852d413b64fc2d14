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
from shared.messaging.projector import Delivery, Prepared, Projector
from shared.messaging.stream_reader import read_stream
from shared.runtime.collector import collector_paused

log = logging.getLogger(__name__)
_PATIENCE_STEP_S = 0.05
# Events applied per transaction in a replay. Each transaction has its fixed costs (a commit's
# flush, a round trip per statement, a checkpoint row per stream), so larger ones rebuild faster:
# 12,900 events/s at 1,000 and 21,200 at 10,000 in bench/rebuild.py; the memory it holds grows
# with it (two batches in hand), not with the stream.
REBUILD_BATCH = 10_000


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
    batch_size: int = REBUILD_BATCH,
) -> int:
    """Reset the projection and replay the stream as it stands now; return events read.

    The next chunk is read, parsed and decoded while one is applied, so that this process's work
    overlaps the database's (``stream_reader``: memory stays bounded whatever the stream's length).
    """
    with collector_paused():  # a replay holds two batches of parsed events, no reference cycle
        return await _replay(projector, js, spec, subject or spec.subjects[0], batch_size)


async def _replay(
    projector: Projector, js: JetStreamContext, spec: StreamSpec, subject: str, batch_size: int
) -> int:
    await reset(projector)
    chunks = read_stream(js, spec.name, subject, batch=batch_size)
    read, waiting = 0, []

    async def next_prepared() -> tuple[list[Delivery], Prepared] | None:
        chunk = await anext(chunks, None)
        return None if chunk is None else (chunk, await _prepared(projector, chunk))

    pending = asyncio.ensure_future(next_prepared())
    try:
        while (ready := await pending) is not None:
            pending = asyncio.ensure_future(next_prepared())
            chunk, prepared = ready
            read += len(chunk)
            waiting = await _apply(projector, [*waiting, *chunk], prepared=None if waiting else prepared)
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


async def _prepared(projector: Projector, chunk: list[Delivery], step: int = 100) -> Prepared:
    """``projector.prepare`` a slice at a time, letting the batch being applied go on between."""
    parts = []
    for start in range(0, len(chunk), step):
        parts.append(projector.prepare(chunk[start : start + step]))
        await asyncio.sleep(0)
    return Prepared([p for part in parts for p in part.parsed], [e for part in parts for e in part.events])


async def _apply(
    projector: Projector,
    deliveries: Sequence[Delivery],
    patience_s: float = 0.0,
    prepared: Prepared | None = None,
) -> list[Delivery]:
    """Apply, re-applying what waited on a predecessor while that makes progress, and for up
    to ``patience_s`` when it does not (a predecessor the live consumer has not committed yet)."""
    pending, waited = list(deliveries), 0.0
    while pending:
        outcomes = await projector.apply_batch(pending, prepared)
        prepared = None
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
