"""The PostgreSQL event store: append with an expected version, load a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.envelope import Envelope

_INSERT = text(
    """
    INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                        region_code, recorded_at, envelope)
    VALUES (:event_id, :stream_id, :stream_version, :type, :schema_version,
            :region_code, :recorded_at, CAST(:envelope AS json))
    """
)
_LOAD = text(
    "SELECT envelope::text FROM events WHERE stream_id = :s AND stream_version > :after "
    "ORDER BY stream_version"
)
_VERSION = text("SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = :s")


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream since it was loaded (the API answers 409)."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} moved past version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class EventStoreSession:
    """One connection and one transaction: loads and the append that follows them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def load(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = await self.conn.execute(_LOAD, {"s": stream_id, "after": after_version})
        return [Envelope.model_validate_json(row[0]) for row in rows]

    async def version(self, stream_id: str) -> int:
        return int((await self.conn.execute(_VERSION, {"s": stream_id})).scalar_one())

    async def append(self, expected_version: int, envelopes: Sequence[Envelope]) -> None:
        """Append events of one stream whose versions follow ``expected_version``.

        The primary key (stream_id, stream_version) refuses a second writer at the same version.
        The insert must be the transaction's first write: its transaction id orders the relay.
        """
        if not envelopes:
            return
        stream_id = envelopes[0].stream_id
        for offset, envelope in enumerate(envelopes, start=1):
            if envelope.stream_id != stream_id or envelope.stream_version != expected_version + offset:
                raise ValueError("envelopes must be one stream's consecutive versions after expected")
        try:
            await self.conn.execute(_INSERT, [_row(e) for e in envelopes])
        except IntegrityError as exc:
            if "events_pkey" in str(exc.orig):
                raise ConcurrencyConflict(stream_id, expected_version) from None
            raise


class EventStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[EventStoreSession]:
        """A transaction that commits when the block ends without an exception."""
        async with self.engine.begin() as conn:
            yield EventStoreSession(conn)

    async def load(self, stream_id: str) -> list[Envelope]:
        async with self.engine.connect() as conn:
            return await EventStoreSession(conn).load(stream_id)


def _row(envelope: Envelope) -> dict[str, object]:
    return {
        "event_id": envelope.event_id,
        "stream_id": envelope.stream_id,
        "stream_version": envelope.stream_version,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "region_code": envelope.region_code,
        "recorded_at": envelope.recorded_at,
        "envelope": envelope.model_dump_json(),
    }
