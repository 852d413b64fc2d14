"""Load every stream a ledger names in one query, plan, and append the whole file in one session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.pairing.ledger_import.plan import Plan, plan, streams_of
from services.pairing.ledger_import.rows import LedgerRow
from shared.events.envelope import Envelope
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import EventStore


@dataclass(frozen=True)
class LedgerImport:
    store: EventStore
    max_active_enterprises: int

    async def run(
        self,
        ctx: CommandContext,
        rows: Sequence[LedgerRow],
        *,
        covers: Callable[[str], bool],
        write: bool,
    ) -> Plan:
        """The plan; appended (all streams in one statement) only when ``write`` and nothing was
        refused. A stream another writer moved meanwhile refuses the whole append (409)."""
        streams = streams_of(rows)
        async with self.store.session() as session:
            loaded = await session.load_many(streams) if streams else {}
            decided = await asyncio.to_thread(self._plan, rows, loaded, covers)
            if not write or decided.errors:
                return decided
            for append in decided.appends:
                envelopes = wrap(
                    ctx, append.stream_id, append.expected_version, append.region_code, append.events
                )
                session.append(append.expected_version, envelopes)
        return decided

    def _plan(
        self, rows: Sequence[LedgerRow], loaded: dict[str, list[Envelope]], covers: Callable[[str], bool]
    ) -> Plan:
        # Decoding a few thousand streams is CPU work: off the event loop, with the planning.
        stored = {stream: [decode(envelope) for envelope in history] for stream, history in loaded.items()}
        return plan(rows, stored, max_active_enterprises=self.max_active_enterprises, covers=covers)
