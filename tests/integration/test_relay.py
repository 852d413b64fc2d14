"""The outbox relay: commit order, no gaps with concurrent writers, JetStream drops duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import text

from shared.events.catalogue.pairing import VillageCategory, VillageRegistered
from shared.events.envelope import Actor, Envelope
from shared.events.subjects import subject_for
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import ConcurrencyConflict, EventStore, EventStoreSession, append_envelopes
from shared.messaging.append_signal import AppendSignal, wake_subject
from shared.messaging.relay import OutboxRelay
from shared.messaging.streams import connect
from shared.settings import Settings
from tests.support.apps import wait_until
from tests.support.infra import Broker, Database, body, jetstream, service_database, uncommitted_append

_NEW_CURSOR = "INSERT INTO relay_cursor (relay, last_tx, last_position) VALUES ('jetstream', '0', 0)"
ACTOR = Actor(id="tester", role="federation_officer", region_code="150602")
REGION = "150602103201"


def events_for(stream_id: str, after: int, count: int = 1) -> list[Envelope]:
    ctx = CommandContext(actor=ACTOR, now=datetime.now(UTC), correlation_id=stream_id)
    data = [
        VillageRegistered(
            village_code=REGION,
            name=f"{stream_id}:{after + i + 1}",
            category=VillageCategory.key_support,
        )
        for i in range(count)
    ]
    return wrap(ctx, stream_id, after, REGION, data)


def make_relay(db: Database, broker: Broker, settings: Settings, name: str = "jetstream") -> OutboxRelay:
    return OutboxRelay(
        db.url,
        broker.js,
        subject_root=settings.subject_root,
        stream_name=broker.spec.name,
        name=name,
        batch_size=100,
    )


@contextlib.asynccontextmanager
async def relaying(relay: OutboxRelay) -> AsyncIterator[OutboxRelay]:
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def relay_until(relay: OutboxRelay, expected: int) -> None:
    """Call relay_once until ``expected`` rows in all were relayed (other transactions in the
    cluster may hold back the snapshot horizon for a moment)."""
    done = 0

    async def step() -> bool:
        nonlocal done
        done += await relay.relay_once()
        return done >= expected

    await wait_until(step, 10, f"{expected} rows relayed", interval=0.02)
    assert done == expected


async def test_a_late_commit_with_a_lower_position_is_not_skipped(settings: Settings) -> None:
    async with service_database(settings) as db, jetstream(settings) as broker:
        relay = make_relay(db, broker, settings)
        async with db.engine.begin() as conn:
            await conn.execute(text(_NEW_CURSOR))
        [a] = events_for("village-a", 0)
        [b] = events_for("village-b", 0)

        async with uncommitted_append(db.store.pool, [a]) as tx_a:  # A takes the lower position ...
            async with db.store.session() as s:
                s.append(0, [b])  # ... B takes the next one and commits first.
            positions = dict(await db.rows("SELECT event_id::text, global_position FROM events"))
            assert list(positions) == [str(b.event_id)]  # A is not visible yet

            # A reader of "position > last" would publish B now and skip A forever.
            # The relay holds B back while the older transaction A is open.
            assert await relay.relay_once() == 0
            assert await relay.relay_once() == 0
            assert await broker.messages() == 0
            assert relay.cursor == (0, 0)

            await tx_a.commit()

        rows = dict(await db.rows("SELECT event_id::text, global_position FROM events"))
        assert rows[str(a.event_id)] < rows[str(b.event_id)]

        await relay_until(relay, 2)
        published = await broker.read_all()
        assert [m.headers["Nats-Msg-Id"] for m in published] == [str(a.event_id), str(b.event_id)]
        assert [body(m)["event_id"] for m in published] == [str(a.event_id), str(b.event_id)]
        assert published[0].subject == subject_for(settings.subject_root, REGION, a.type)
        assert Envelope.model_validate_json(published[0].data) == a

        # The cursor is stored: both rows count as sent.
        cursor = await db.rows("SELECT last_position, relayed FROM relay_cursor")
        assert cursor == [(rows[str(b.event_id)], 2)]
        assert await relay.relay_once() == 0
        await relay.aclose()


async def test_commit_order_compares_transaction_ids_as_numbers(settings: Settings) -> None:
    """Transaction ids 9, 10, 100 (long committed, as after a restore) go out in that order: a
    cursor compared as text would put '10' and '100' before '9' and skip rows."""
    async with service_database(settings) as db, jetstream(settings) as broker:
        rows = [events_for(f"village-{tx}", 0)[0] for tx in ("100", "9", "10")]
        async with db.store.pool.acquire() as conn:
            for tx, envelope in zip(("100", "9", "10"), rows, strict=True):
                await append_envelopes(conn, [envelope])
                await conn.execute(
                    "UPDATE events SET transaction_id = $1::text::xid8 WHERE event_id = $2",
                    tx,
                    envelope.event_id,
                )
        async with contextlib.aclosing(make_relay(db, broker, settings)) as relay:
            relay.batch_size = 2  # the cursor must carry over from one batch to the next
            await relay_until(relay, 3)
            assert relay.cursor[0] == 100
        published = await broker.read_all()
        assert [body(m)["stream_id"] for m in published] == ["village-9", "village-10", "village-100"]


async def test_the_running_relay_waits_for_an_open_transaction(settings: Settings) -> None:
    async with service_database(settings) as db, jetstream(settings) as broker:
        relay = make_relay(db, broker, settings)
        async with relaying(relay):
            [a] = events_for("village-a", 0)
            async with uncommitted_append(db.store.pool, [a]) as tx_a:
                for i in range(3):
                    async with db.store.session() as s:
                        s.append(i, events_for("village-b", i))
                # Nothing behind A goes out, however long A stays open.
                await asyncio.sleep(0.5)
                assert await broker.messages() == 0
                await tx_a.commit()
            await wait_until(lambda: _count(broker, 4), 10, "all four published")
            published = await broker.read_all()
            assert body(published[0])["event_id"] == str(a.event_id)
            assert [body(m)["stream_version"] for m in published[1:]] == [1, 2, 3]
            row = await db.rows("SELECT relayed FROM relay_cursor WHERE relay = 'jetstream'")
            assert row == [(4,)]


async def test_a_transaction_open_in_another_database_does_not_hold_the_relay_back(
    settings: Settings,
) -> None:
    """The horizon is this database's: another service's long transaction on the same cluster
    (a rebuild's batch, say) does not delay this service's events; one of its own still does."""
    async with (
        service_database(settings) as db,
        service_database(settings, "monitoring") as other,
        jetstream(settings) as broker,
    ):
        relay = make_relay(db, broker, settings)
        async with db.engine.begin() as conn:
            await conn.execute(text(_NEW_CURSOR))
        async with other.store.pool.acquire() as conn, conn.transaction():
            other_xid = int(await conn.fetchval("SELECT pg_current_xact_id()::text"))  # assigns one
            async with db.store.session() as s:
                s.append(0, events_for("village-a", 0))
            async with db.engine.connect() as conn_here:
                horizon = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"
                xmin = int((await conn_here.execute(text(horizon))).scalar_one())
            assert xmin <= other_xid  # the cluster-wide horizon would hold the event back
            await relay_until(relay, 1)

            [b] = events_for("village-b", 0)
            async with uncommitted_append(db.store.pool, [b]):
                async with db.store.session() as s:
                    s.append(1, events_for("village-a", 1))
                assert await relay.relay_once() == 0  # behind an open transaction of its own
        assert await broker.messages() == 1
        await relay.aclose()


async def _count(broker: Broker, n: int) -> bool:
    return await broker.messages() >= n


async def test_concurrent_writers_every_event_published_once_in_stream_order(
    settings: Settings,
) -> None:
    writers, per_writer, streams = 16, 100, 24
    total = writers * per_writer
    async with (
        service_database(settings, pool_size=12) as db,
        jetstream(settings) as broker,
        relaying(make_relay(db, broker, settings)) as relay,
    ):
        conflicts = 0

        async def writer(w: int) -> None:
            nonlocal conflicts
            rng = random.Random(w)
            written = 0
            while written < per_writer:
                stream = f"village-{rng.randrange(streams)}"
                count = rng.choice((1, 1, 1, 2, 3))
                count = min(count, per_writer - written)
                try:
                    async with db.store.pool.acquire() as conn, conn.transaction():
                        version = await EventStoreSession(conn).version(stream)
                        await asyncio.sleep(rng.random() * 0.002)
                        await append_envelopes(conn, events_for(stream, version, count))
                        # Commit late: later transactions overtake this one.
                        await asyncio.sleep(rng.random() * 0.004)
                except ConcurrencyConflict:
                    conflicts += 1
                    continue
                written += count

        await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(writers))), 60)
        assert await db.scalar("SELECT count(*) FROM events") == total

        await wait_until(lambda: _count(broker, total), 30, f"{total} events in JetStream")
        published = await broker.read_all()
        stored = dict(await db.rows("SELECT event_id::text, stream_id FROM events"))

        ids = [m.headers["Nats-Msg-Id"] for m in published]
        assert len(ids) == total
        assert len(set(ids)) == total, "an event was published twice"
        assert set(ids) == set(stored), "the stream and the store disagree"
        assert all(body(m)["event_id"] == m.headers["Nats-Msg-Id"] for m in published)

        # Per aggregate, JetStream holds 1, 2, 3, ... in order: no inversion, no gap.
        versions: dict[str, list[int]] = defaultdict(list)
        for m in published:
            envelope = body(m)
            versions[envelope["stream_id"]].append(envelope["stream_version"])
        for stream_id, seen in versions.items():
            assert seen == list(range(1, len(seen) + 1)), stream_id

        # Nothing more trickles in afterwards, and the cursor counted every row once.
        await asyncio.sleep(0.3)
        assert await broker.messages() == total
        assert relay.stats.duplicates == 0
        assert await db.scalar("SELECT relayed FROM relay_cursor") == total
        assert conflicts > 0, "the writers never contended; the test proves less than it says"


async def test_republishing_after_a_cursor_reset_is_deduplicated(settings: Settings) -> None:
    async with service_database(settings) as db, jetstream(settings) as broker:
        for i in range(5):
            async with db.store.session() as s:
                s.append(i, events_for("village-d", i))
        async with relaying(make_relay(db, broker, settings)) as first:
            await wait_until(lambda: _count(broker, 5), 10, "five events published")
        assert first.stats.duplicates == 0
        before = await broker.read_all()
        assert len(before) == 5
        assert await db.rows("SELECT last_tx <> '0', relayed FROM relay_cursor") == [(True, 5)]

        # A crash between JetStream's ack and the cursor update: the relay restarts from an old
        # cursor and publishes the same rows again, with the same Nats-Msg-Id.
        async with db.engine.begin() as conn:
            await conn.execute(text("UPDATE relay_cursor SET last_tx = '0', last_position = 0"))
        async with relaying(make_relay(db, broker, settings)) as again:
            await wait_until(lambda: again.stats.published >= 5, 10, "five rows re-published")
        assert again.stats.duplicates == 5, "JetStream did not report the re-publish as duplicates"
        assert await broker.messages() == 5
        after = await broker.read_all()
        assert [(m.headers["Nats-Msg-Id"], m.data) for m in after] == [
            (m.headers["Nats-Msg-Id"], m.data) for m in before
        ]

        # With the cursor moved on again, a further pass publishes nothing at all.
        assert await db.scalar("SELECT relayed FROM relay_cursor") == 10
        async with contextlib.aclosing(make_relay(db, broker, settings)) as third:
            third.cursor = again.cursor
            assert await third.relay_once() == 0
        assert await broker.messages() == 5


async def test_each_append_wakes_the_relay_of_any_instance_over_nats(settings: Settings) -> None:
    """The store signals after every commit that appended; the signal reaches a relay in another
    process (here: another connection), and a session that appended nothing sends none."""
    async with service_database(settings) as db, jetstream(settings) as broker:
        subject = wake_subject(settings.subject_root, "pairing")
        signals: asyncio.Queue[bytes] = asyncio.Queue()
        await AppendSignal(broker.nc, subject).listen(lambda: signals.put_nowait(b"woken"))
        writer_nc = await connect(settings.nats_url, "test-writer")
        try:
            store = EventStore(db.store.pool, after_append=AppendSignal(writer_nc, subject).appended)
            async with store.session() as s:
                s.append(0, events_for("village-signal", 0, 2))
            assert await asyncio.wait_for(signals.get(), timeout=5) == b"woken"

            async with store.session() as s:
                assert len(await s.load("village-signal")) == 2
            with contextlib.suppress(ConcurrencyConflict):
                async with store.session() as s:
                    s.append(0, events_for("village-signal", 0))
            await writer_nc.flush()
            await broker.nc.flush()
            assert signals.empty()  # neither a read nor a refused append signals
        finally:
            await writer_nc.close()


async def test_events_restored_from_another_server_stop_the_relay_until_renumbered(
    settings: Settings,
) -> None:
    """A dump restored into a new PostgreSQL server keeps transaction ids that server has not
    reached: the relay says so (and /readyz with it) instead of publishing nothing in silence."""
    async with service_database(settings) as db, jetstream(settings) as broker:
        async with db.store.session() as s:
            s.append(0, events_for("village-a", 0, 2))
        far = "99999999999"  # as if from a server that had run far longer
        async with db.engine.begin() as conn:
            await conn.execute(text(f"UPDATE events SET transaction_id = '{far}'"))
        relay = make_relay(db, broker, settings)
        async with relaying(relay):
            await wait_until(lambda: relay.stats.blocked is not None, 10, "the relay to stop")
            assert far in (relay.stats.blocked or "") and "docs/deploy.md" in (relay.stats.blocked or "")
            assert await broker.messages() == 0
            # The renumbering of docs/deploy.md: none published yet, so every event is "2".
            async with db.engine.begin() as conn:
                await conn.execute(text("UPDATE events SET transaction_id = '2'"))
            await wait_until(lambda: _count(broker, 2), 15, "both published after the renumbering")
            assert relay.stats.blocked is None
