"""The survey import: rows in chunks, each chunk one lookup of the ID index, one load of the
matched households' streams, a decision in Python, and one transaction (keys, index rows and
every event of the chunk in one append).

The next chunk is loaded and decided while the database writes the one before (one write in
flight; a chunk naming a household of the chunk being written waits for that write). A chunk is
atomic; the chunks before it stay written when a later one fails, and importing the batch again
completes it (rows already imported come back "unchanged"). A chunk that lost a race (another
writer appended to one of its households, or registered one of its ID numbers) is decided again
from a fresh read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from services.monitoring import keys
from services.monitoring.domain import Household, household_stream
from services.monitoring.personal import MasterKeys
from services.monitoring.platform.decide import ChunkDecision, SurveyDecider, Tally
from services.monitoring.platform.layout import HEAD_ID
from services.monitoring.platform.offload import OFFLOAD_MIN_ROWS, decided_elsewhere
from services.monitoring.platform.report import RowError, masked
from services.monitoring.platform.rows import SurveyRow
from shared.eventstore.repository import rebuild
from shared.eventstore.store import ConcurrencyConflict, EventStore

CHUNK_ROWS = 2_000
_LOOKUP_ROWS = 20_000  # digests per query of the ID index
_SLICE_ROWS = 200  # rows decided between turns of the event loop
_ATTEMPTS = 3
_RACES = ("person_index_pkey",)


@dataclass
class ImportOutcome:
    tally: Tally = field(default_factory=Tally)
    errors: list[RowError] = field(default_factory=list)


class _LostRace(Exception):
    pass


@dataclass
class _Batch:
    """One run's state: where each ID digest's household is, and what came of the rows."""

    decider: SurveyDecider
    write: bool
    found: dict[bytes, uuid.UUID]
    named_again: set[bytes]  # digests on several rows (other quarters)
    planned: dict[bytes, Household] = field(default_factory=dict)  # a dry run's new households named again
    outcome: ImportOutcome = field(default_factory=ImportOutcome)

    def account(self, decision: ChunkDecision) -> None:
        self.outcome.tally.add(decision.tally)
        self.outcome.errors += decision.errors
        self.found.update(decision.created_ids)
        for digest, household in decision.created.items():
            assert household.household_id is not None
            self.found[digest] = household.household_id
            if not self.write and digest in self.named_again:
                self.planned[digest] = household


@dataclass(frozen=True)
class SurveyImport:
    store: EventStore
    masters: MasterKeys
    chunk_rows: int = CHUNK_ROWS

    async def run(self, decider: SurveyDecider, rows: Sequence[SurveyRow], *, write: bool) -> ImportOutcome:
        """Import ``rows`` (already checked on their own and across the batch); without ``write``
        decide everything and write nothing (a dry run)."""
        found = await self._find([row.digest for row in rows])
        kept, errors = same_household_twice(rows, found)
        named_again = {digest for digest, n in Counter(row.digest for row in kept).items() if n > 1}
        batch = _Batch(decider, write, found, named_again)
        batch.outcome.errors += errors
        if write:
            # Rows of households new to the service and named once: decided in worker processes.
            alone = [row for row in kept if row.digest not in found and row.digest not in named_again]
            if len(alone) >= OFFLOAD_MIN_ROWS:
                chunks = [alone[i : i + self.chunk_rows] for i in range(0, len(alone), self.chunk_rows)]
                async for chunk, decision in decided_elsewhere(decider, chunks):
                    await self._written(batch, chunk, decision)
                taken = {row.number for row in alone}
                kept = [row for row in kept if row.number not in taken]
        writing: asyncio.Task[None] | None = None
        previous: list[SurveyRow] = []
        try:
            for start in range(0, len(kept), self.chunk_rows):
                chunk = kept[start : start + self.chunk_rows]
                if writing is not None and _overlap(chunk, previous, found):
                    await writing
                    writing = None
                decision = await self._decided(batch, chunk)
                if writing is not None:
                    await writing
                if write:
                    writing = asyncio.create_task(self._written(batch, chunk, decision))
                else:
                    batch.account(decision)
                previous = chunk
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                await asyncio.wait([writing])  # a chunk is written whole, whatever stopped the next
        return batch.outcome

    async def _decided(self, batch: _Batch, chunk: list[SurveyRow]) -> ChunkDecision:
        """Load the chunk's stored households and decide its rows.

        On the event loop, a slice at a time with a turn of the loop between slices (other
        requests wait some 50 ms at most). In a worker thread the import was a fifth slower: each
        of a row's eight ``os.urandom`` calls (ids, nonces, keys) releases the GIL, and getting it
        back from a busy event loop took up to the switch interval (bench/README.md).
        """
        ids = {row.digest: batch.found[row.digest] for row in chunk if row.digest in batch.found}
        wanted = {hid for digest, hid in ids.items() if digest not in batch.planned}
        async with self.store.session() as session:
            loaded = await session.load_many(household_stream(hid) for hid in wanted)
        stored: dict[uuid.UUID, Household] = {}
        known: dict[bytes, Household] = {}
        decision = ChunkDecision()
        for start in range(0, len(chunk), _SLICE_ROWS):
            part = chunk[start : start + _SLICE_ROWS]
            for row in part:
                hid = ids.get(row.digest)
                if hid is None or row.digest in known:
                    continue
                household = batch.planned.get(row.digest) or stored.get(hid)
                if household is None:
                    household = stored[hid] = rebuild(Household, loaded[household_stream(hid)])
                known[row.digest] = household
            decision.merge(batch.decider.decide(part, known))
            await asyncio.sleep(0)
        return decision

    async def _written(self, batch: _Batch, chunk: list[SurveyRow], decision: ChunkDecision) -> None:
        """Write the decision; after a lost race, read the chunk's households again, decide, retry."""
        for _ in range(_ATTEMPTS):
            try:
                await self._write(decision)
                batch.account(decision)
                return
            except _LostRace:
                batch.found.update(await self._find([row.digest for row in chunk]))
                decision = await self._decided(batch, chunk)
        batch.account(_lost(chunk))

    async def _write(self, decision: ChunkDecision) -> None:
        try:
            async with self.store.session(transaction=True) as session:
                await keys.store_keys(session.conn, self.masters, decision.new_keys)
                await keys.index_many(session.conn, decision.index_rows)
                for expected, rows in decision.appended_rows:
                    session.append_rows(expected, rows)
        except (ConcurrencyConflict, asyncpg.DeadlockDetectedError):
            # Another import of these ID numbers in another order may wait on ours as we on it.
            raise _LostRace from None
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name not in _RACES:
                raise
            raise _LostRace from None

    async def _find(self, digests: Sequence[bytes]) -> dict[bytes, uuid.UUID]:
        found: dict[bytes, uuid.UUID] = {}
        async with self.store.session() as session:
            for start in range(0, len(digests), _LOOKUP_ROWS):
                found.update(await keys.find_households(session.conn, digests[start : start + _LOOKUP_ROWS]))
        return found


def _overlap(chunk: list[SurveyRow], previous: list[SurveyRow], found: dict[bytes, uuid.UUID]) -> bool:
    """Whether ``chunk`` names a household that ``previous`` names (by the same or another member's
    ID number): then it waits until ``previous`` is written."""
    digests = {row.digest for row in previous}
    households = {found[d] for d in digests if d in found}
    return any(row.digest in digests or found.get(row.digest) in households for row in chunk)


def _lost(chunk: list[SurveyRow]) -> ChunkDecision:
    lost = ChunkDecision()
    lost.errors = [
        RowError(
            row.number,
            HEAD_ID.header,
            masked(row.id_number),
            "other requests changed these households while the batch was imported: send the batch again",
            "concurrent_change",
            HEAD_ID.field,
        )
        for row in chunk
    ]
    return lost


def same_household_twice(
    rows: Sequence[SurveyRow], found: dict[bytes, uuid.UUID]
) -> tuple[list[SurveyRow], list[RowError]]:
    """Rows naming one stored household (by different members' ID numbers) for the same quarter:
    none of them is imported, as for one ID number on several rows (rows.once_in_batch)."""
    rows_of: dict[tuple[uuid.UUID, str], list[SurveyRow]] = defaultdict(list)
    for row in rows:
        hid = found.get(row.digest)
        if hid is not None:
            rows_of[(hid, row.period)].append(row)
    refused: dict[int, str] = {}
    for (_, period), same in rows_of.items():
        if len(same) > 1:
            numbers = "、".join(str(r.number) for r in same)
            for row in same:
                refused[row.number] = (
                    f"rows {numbers} name the same household (by its members' ID numbers) for {period}: "
                    "none of them is imported"
                )
    if not refused:
        return list(rows), []
    errors = [
        RowError(
            r.number, HEAD_ID.header, masked(r.id_number), refused[r.number], "once_in_batch", HEAD_ID.field
        )
        for r in rows
        if r.number in refused
    ]
    return [r for r in rows if r.number not in refused], errors
