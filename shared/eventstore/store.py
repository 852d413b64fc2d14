"""The PostgreSQL event store: append with an expected version, load a stream.

Raw asyncpg rather than SQLAlchemy on this path: a command is CPU-bound on its round trips
(bench/README.md). A command costs two: one read of the streams it decides on, and one
``INSERT … SELECT unnest(…)`` of everything it decided. No explicit transaction is needed: the
single statement is atomic, and the primary key ``(stream_id, stream_version)`` refuses it whole
when another writer took one of its versions first.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg

from shared.events.envelope import Envelope

_APPEND = """
    INSERT INTO events (event_id, stream_id, stream_version, type, schema_version,
                        region_code, recorded_at, envelope)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[],
                         $6::text[], $7::timestamptz[], $8::json[])
"""
_LOAD = (
    "SELECT stream_id, envelope::text FROM events WHERE stream_id = ANY($1::text[]) "
    "AND stream_version > $2 ORDER BY stream_id, stream_version"
)
_VERSION = "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1"
_KEY = re.compile(r"\(stream_id, stream_version\)=\((?P<stream>.+), (?P<version>\d+)\)")


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream since it was loaded (the API answers 409)."""

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} moved past version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


EventRow = tuple[uuid.UUID, str, int, str, int, str, datetime, str]
"""An envelope as the row it is stored as (its JSON last): plain values, cheap to pass between processes."""


def event_row(e: Envelope) -> EventRow:
    return (
        e.event_id,
        e.stream_id,
        e.stream_version,
        e.type,
        e.schema_version,
        e.region_code,
        e.recorded_at,
        e.model_dump_json(),
    )


async def append_envelopes(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
    """Insert ``envelopes`` in one statement, inside whatever transaction ``conn`` is in.

    Keep the transaction short: while it runs, the relay holds back every later commit.
    """
    await append_rows(conn, [event_row(e) for e in envelopes])


async def append_rows(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> None:
    """``append_envelopes`` for envelopes already turned into rows."""
    columns = [list(column) for column in zip(*rows, strict=True)]
    try:
        await conn.execute(_APPEND, *columns)
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "events_pkey":
            raise
        stream, version = _conflicting_key(exc, rows)
        raise ConcurrencyConflict(stream, version - 1) from None


def _conflicting_key(exc: asyncpg.UniqueViolationError, rows: Sequence[EventRow]) -> tuple[str, int]:
    match = _KEY.search(exc.detail or "")
    if match:
        return match["stream"], int(match["version"])
    return rows[0][1], rows[0][2]


class EventStoreSession:
    """Reads for one command, and the appends it decides, written together when it ends."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.pending: list[EventRow] = []

    async def load(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        return (await self.load_many([stream_id], after_version))[stream_id]

    async def load_many(self, stream_ids: Iterable[str], after_version: int = 0) -> dict[str, list[Envelope]]:
        """Several streams in one round trip; a stream with no events maps to ``[]``."""
        ids = list(dict.fromkeys(stream_ids))
        streams: dict[str, list[Envelope]] = defaultdict(list)
        for stream_id, envelope in await self.conn.fetch(_LOAD, ids, after_version):
            streams[stream_id].append(Envelope.model_validate_json(envelope))
        return {stream_id: streams[stream_id] for stream_id in ids}

    async def version(self, stream_id: str) -> int:
        return int(await self.conn.fetchval(_VERSION, stream_id))

    def append(self, expected_version: int, envelopes: Sequence[Envelope]) -> None:
        """Add events of one stream whose versions follow ``expected_version``.

        Written when the session ends without an exception, all streams in one statement: a
        command's appends to several streams succeed or fail together.
        """
        self.append_rows(expected_version, [event_row(e) for e in envelopes])

    def append_rows(self, expected_version: int, rows: Sequence[EventRow]) -> None:
        """``append`` for envelopes already turned into rows (``event_row``)."""
        if not rows:
            return
        stream_id = rows[0][1]
        for offset, row in enumerate(rows, start=1):
            if row[1] != stream_id or row[2] != expected_version + offset:
                raise ValueError("envelopes must be one stream's consecutive versions after expected")
        self.pending.extend(rows)

    async def flush(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, []
            await append_rows(self.conn, pending)


class EventStore:
    def __init__(self, pool: asyncpg.Pool, after_append: Callable[[], Awaitable[None]] | None = None) -> None:
        self.pool = pool
        self.after_append = after_append

    @asynccontextmanager
    async def session(self, *, transaction: bool = False) -> AsyncIterator[EventStoreSession]:
        """Appends made in the block are written when it ends without an exception.

        With ``transaction``, the block's own writes on ``session.conn`` (e.g. an index the
        command keeps unique) commit or roll back together with the appends.
        """
        async with self.pool.acquire() as conn:
            session = EventStoreSession(conn)
            async with conn.transaction() if transaction else contextlib.nullcontext():
                yield session
                appended = bool(session.pending)
                await session.flush()
        if appended and self.after_append is not None:
            await self.after_append()

    async def load(self, stream_id: str) -> list[Envelope]:
        async with self.pool.acquire() as conn:
            return await EventStoreSession(conn).load(stream_id)
