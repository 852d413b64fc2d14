"""The outbox relay: publishes committed events to JetStream in commit order, never skipping one.

Rows are read by (transaction_id, global_position) and only from transactions older than every
transaction still running in this database, so a transaction that took a lower position but
committed later is still ahead of the cursor when it becomes visible (PLUMBING, "outbox").
Transactions of other databases on the cluster do not hold it back (``_FETCH``).
The cursor moves only after JetStream acknowledged the rows; after a crash the rows past it are
published again with the same ``Nats-Msg-Id`` and JetStream drops the duplicates.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import asyncpg
from nats.js import JetStreamContext

from shared.db.engine import SERVER_SETTINGS, asyncpg_dsn
from shared.events.subjects import subject_for

log = logging.getLogger(__name__)

_LEADER_KEY = 7_460_002

# transaction_id goes out as text (asyncpg has no xid8 codec) under another name: ORDER BY an
# output column named transaction_id would sort the text, '999' after '1000'.
# Every statement stands alone, in autocommit: one round trip each. A single UPDATE is atomic
# and durable at its own commit; a single SELECT takes one snapshot, all pg_current_snapshot needs.
# The horizon: the oldest transaction running when the statement's snapshot was taken, leaving
# out those pg_stat_activity shows running in another database (they cannot write this events
# table). pg_stat_activity is read after the snapshot, so a transaction that ended in between is
# not found there and still counts: the horizon can only be too low for one poll, never too high.
# A role that may not see other sessions' xids (no pg_read_all_stats) gets the cluster-wide one.
_FETCH = """
    WITH snap AS MATERIALIZED (SELECT pg_current_snapshot() AS s),
    elsewhere AS MATERIALIZED (
        SELECT backend_xid FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
    ),
    horizon AS MATERIALIZED (
        SELECT coalesce(
            (SELECT min(x) FROM pg_snapshot_xip((SELECT s FROM snap)) AS x
             WHERE NOT EXISTS (SELECT 1 FROM elsewhere e WHERE e.backend_xid = x::xid)),
            (SELECT pg_snapshot_xmax(s) FROM snap)
        ) AS h
    )
    SELECT global_position, transaction_id::text AS tx, event_id::text, type, region_code, envelope::text
    FROM events
    WHERE (transaction_id, global_position) > ($1::text::xid8, $2)
      AND transaction_id < (SELECT h FROM horizon)
    ORDER BY transaction_id, global_position
    LIMIT $3
"""
# In commit-order index order with LIMIT 1: a bare EXISTS may be planned as a sequential scan,
# which reaches the newest rows (the held-back ones) last; polled every 5 ms while another
# transaction in the cluster is open, that scan was most of PostgreSQL's CPU (bench/README.md).
_HELD_BACK = (
    "SELECT 1 FROM events WHERE (transaction_id, global_position) > ($1::text::xid8, $2) "
    "ORDER BY transaction_id, global_position LIMIT 1"
)
_INIT = (
    "INSERT INTO relay_cursor (relay, last_tx, last_position) VALUES ($1, '0', 0) "
    "ON CONFLICT (relay) DO NOTHING"
)
_READ_CURSOR = "SELECT last_tx::text AS tx, last_position FROM relay_cursor WHERE relay = $1"
# The first transaction id this server has not given yet, and the newest one stored with an event.
_TRANSACTIONS = (
    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text, (SELECT max(transaction_id)::text FROM events)"
)
_MOVE_CURSOR = (
    "UPDATE relay_cursor SET last_tx = $1::text::xid8, last_position = $2, "
    "relayed = relayed + $3, updated_at = now() WHERE relay = $4"
)


class PublishFailed(Exception):
    """JetStream did not acknowledge a row; the cursor stays before it."""


class RestoredElsewhere(Exception):
    """The events (or the cursor) carry transaction ids this server has not reached: they were
    restored from another PostgreSQL server. Published by commit order, the restored events not
    yet relayed would wait for ever and every new one sort before the cursor: the relay stops
    until they are renumbered (docs/deploy.md, "Restore")."""


@dataclass
class RelayStats:
    published: int = 0
    duplicates: int = 0
    batches: int = 0
    failures: int = 0
    last_error: str | None = field(default=None)
    # Why the relay cannot publish at all (not a passing failure), for /readyz.
    blocked: str | None = field(default=None)


class OutboxRelay:
    """Run one per service database: a PostgreSQL advisory lock elects a single active relay."""

    def __init__(
        self,
        database_url: str,
        js: JetStreamContext,
        *,
        subject_root: str,
        stream_name: str,
        name: str = "jetstream",
        batch_size: int = 500,
        ack_timeout: float = 5.0,
    ) -> None:
        self.database_url = database_url
        self._conn: asyncpg.Connection | None = None
        self.js = js
        self.subject_root = subject_root
        self.stream_name = stream_name
        self.name = name
        self.batch_size = batch_size
        self.ack_timeout = ack_timeout
        self.stats = RelayStats()
        self._wake = asyncio.Event()
        self.cursor: tuple[int, int] = (0, 0)

    async def run(self) -> None:
        """Relay until cancelled, starting over after any database or broker failure."""
        backoff = 0.2
        while True:
            published = self.stats.published
            try:
                await self._run_as_leader()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.stats.published > published:
                    backoff = 0.2  # it had recovered since the last failure: a new outage
                self.stats.failures += 1
                self.stats.last_error = repr(exc)
                log.warning("relay %s failed, retrying in %.1fs: %r", self.name, backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _run_as_leader(self) -> None:
        # The relay's one connection: it holds the advisory lock, and every statement runs on it.
        leadership = await self._connection()
        try:
            # Another process holds the lock: poll for it (no event tells when it is released).
            while not await leadership.fetchval(  # noqa: ASYNC110
                "SELECT pg_try_advisory_lock($1)", _LEADER_KEY
            ):
                await asyncio.sleep(1.0)
            await self._load_cursor()
            while True:
                self._wake.clear()
                if await self.relay_once():
                    continue
                if await self._held_back():
                    await asyncio.sleep(0.005)  # an older transaction is still open: look again soon
                    continue
                # The timeout is only a safety net: wake() is called after each append.
                # (asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation
                # that arrives as the wait ends, and the relay then outlives stop_runtime.)
                try:
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                except TimeoutError:
                    pass
        finally:
            self._conn = None
            leadership.terminate()

    def wake(self) -> None:
        """Events were appended: look for them now rather than at the next safety poll."""
        self._wake.set()

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                asyncpg_dsn(self.database_url), server_settings=SERVER_SETTINGS
            )
        return self._conn

    async def aclose(self) -> None:
        """Close the relay's connection (``run`` closes it itself when cancelled)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.terminate()

    async def _load_cursor(self) -> None:
        conn = await self._connection()
        await conn.execute(_INIT, self.name)
        row = await conn.fetchrow(_READ_CURSOR, self.name)
        self.cursor = (int(row[0]), int(row[1]))
        next_tx, newest = await conn.fetchrow(_TRANSACTIONS)
        ahead = max(self.cursor[0], int(newest or 0))
        if ahead >= int(next_tx):
            self.stats.blocked = (
                f"events carry transaction ids up to {ahead}, beyond this server's {next_tx}: restored "
                "from another PostgreSQL server; renumber them (docs/deploy.md, Restore)"
            )
            raise RestoredElsewhere(self.stats.blocked)
        self.stats.blocked = None

    async def _held_back(self) -> bool:
        tx, pos = self.cursor
        return await (await self._connection()).fetchval(_HELD_BACK, str(tx), pos) is not None

    async def relay_once(self) -> int:
        """Publish the next batch of committed rows; return how many were relayed."""
        tx, pos = self.cursor
        conn = await self._connection()
        rows = await conn.fetch(_FETCH, str(tx), pos, self.batch_size)
        if not rows:
            return 0
        acked, error = await self._publish(rows)
        if acked:
            last = rows[acked - 1]
            await conn.execute(_MOVE_CURSOR, last[1], last[0], acked, self.name)
            self.cursor = (int(last[1]), int(last[0]))
            self.stats.published += acked
            self.stats.batches += 1
        if error is not None:
            raise PublishFailed(f"row {acked + 1} of {len(rows)} not acknowledged: {error!r}")
        return acked

    async def _publish(self, rows: list) -> tuple[int, BaseException | None]:
        """Publish rows pipelined on one connection (JetStream keeps their order);
        return how many leading rows were acknowledged, and the first error."""
        futures = []
        try:
            for row in rows:
                subject = subject_for(self.subject_root, row[4], row[3])
                futures.append(
                    await self.js.publish_async(
                        subject,
                        row[5].encode(),
                        stream=self.stream_name,
                        headers={"Nats-Msg-Id": row[2]},
                    )
                )
            async with asyncio.timeout(self.ack_timeout):
                done = await asyncio.gather(*futures, return_exceptions=True)
        except Exception as exc:  # a timeout or a connection failure part-way through
            for future in futures:
                future.cancel()
            done = [
                f.result() if f.done() and not f.cancelled() and not f.exception() else exc for f in futures
            ]
            done += [exc] * (len(rows) - len(done))
        acked = 0
        for result in done:
            if isinstance(result, BaseException):
                return acked, result
            if result.duplicate:
                self.stats.duplicates += 1
            acked += 1
        return acked, None
