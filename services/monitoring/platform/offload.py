"""Deciding the rows of households new to the service in worker processes.

An import is CPU-bound in Python (bench/README.md): deciding a row — a new household's key,
sealed fields, events and envelopes — costs some 0.15–0.2 ms, on the one core the service's
process also serves the API, the relay and the projector from. Rows of households not on record
(and named once in the batch) need nothing the process holds, so a large batch sends them, a
chunk at a time, to two worker processes, which answer in plain values (envelopes as the rows
they are stored as); the service's process writes each chunk in order and decides the other rows
itself. Small batches stay in the process: starting the workers costs more than they save.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import multiprocessing
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from services.monitoring.platform.decide import ChunkDecision, SurveyDecider
from services.monitoring.platform.rows import SurveyRow

OFFLOAD_MIN_ROWS = 5_000  # new households' rows in a batch worth the worker processes
WORKERS = 2  # the machines have two cores; the service's own process writes what they decide
_AHEAD = 2 * WORKERS  # chunks decided ahead of the one being written
_MIN_ROW_BYTES = 60  # a survey row in CSV is some 120 bytes

_pool: ProcessPoolExecutor | None = None


def decide_new(decider: SurveyDecider, rows: Sequence[SurveyRow]) -> ChunkDecision:
    """In the worker: decide rows of households not on record (nothing else is known there)."""
    gc.disable()  # what a chunk makes has no reference cycles (collector.py)
    try:
        decision = decider.decide(rows, {})
    finally:
        gc.enable()
    # Plain values back: created households as their ids.
    return ChunkDecision(
        new_keys=decision.new_keys,
        index_rows=decision.index_rows,
        errors=decision.errors,
        tally=decision.tally,
        appended_rows=decision.appended_rows,
        created_ids={digest: h.household_id for digest, h in decision.created.items() if h.household_id},
    )


def workers() -> ProcessPoolExecutor:
    """The worker processes, started at the first large import and kept for the next ones."""
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"))
    return _pool


def warm_up(size: int) -> None:
    """For an upload large enough to share out, start the workers while the file is read, so
    that their start costs the import nothing."""
    if size >= OFFLOAD_MIN_ROWS * _MIN_ROW_BYTES:
        pool = workers()
        for _ in range(WORKERS):
            pool.submit(int)


async def decided_elsewhere(
    decider: SurveyDecider, chunks: Sequence[list[SurveyRow]]
) -> AsyncIterator[tuple[list[SurveyRow], ChunkDecision]]:
    """Each chunk with its decision, in order, decided by the workers a few chunks ahead (bounded,
    so that decisions do not pile up faster than they are written). A chunk no worker could take
    is decided here."""
    global _pool
    pool = workers()
    loop = asyncio.get_running_loop()
    ahead: deque[tuple[list[SurveyRow], asyncio.Future[ChunkDecision]]] = deque()
    pending = iter(chunks)
    for chunk in itertools.islice(pending, _AHEAD):
        ahead.append((chunk, _submitted(loop, pool, decider, chunk)))
    while ahead:
        chunk, job = ahead.popleft()
        try:
            decision = await job
        except BrokenProcessPool:  # a worker died: the rest is decided here
            _pool = None
            for _, doomed in ahead:  # they failed the same way: take their errors, decide them here
                if doomed.done():
                    doomed.exception()
                else:
                    doomed.cancel()
            for rest in itertools.chain([chunk], (waiting for waiting, _ in ahead), pending):
                yield rest, decider.decide(rest, {})
            return
        for following in itertools.islice(pending, 1):
            ahead.append((following, _submitted(loop, pool, decider, following)))
        yield chunk, decision


def _submitted(
    loop: asyncio.AbstractEventLoop, pool: ProcessPoolExecutor, decider: SurveyDecider, chunk: list[SurveyRow]
) -> asyncio.Future[ChunkDecision]:
    try:
        return loop.run_in_executor(pool, decide_new, decider, chunk)
    except BrokenProcessPool as broken:  # a pool whose worker died refuses new work at once
        refused: asyncio.Future[ChunkDecision] = loop.create_future()
        refused.set_exception(broken)
        return refused
