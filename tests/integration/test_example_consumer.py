"""examples/consumer.py against real JetStream: events of two counties in the four streams, and
the example (run as downstream teams run it, a process of its own) following one of them.

It gets its county's events from its start date and no others, each once across restarts, a
republished event, a lost durable consumer and a message redelivered before it was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from shared.events.envelope import Actor, Envelope
from shared.events.subjects import stream_for, subject_for
from shared.messaging.streams import ensure_stream
from shared.settings import SERVICES, Settings
from tests.support.apps import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer.py"
COUNTY = "150602"  # the county the consumer follows
OTHER = "150603"  # its neighbour in the same city, whose events it must not get
DURABLE = "county-150602-test"
EVENT_TYPES = {
    "pairing": "pairing.village_registered",
    "monitoring": "monitoring.household_flagged",
    "reporting": "reporting.indicator_entered",
    "notification": "notification.reminder_due",
}


def envelope(service: str, region_code: str, note: str) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(
        event_id=uuid.uuid4(),
        type=EVENT_TYPES[service],
        schema_version=1,
        stream_id=f"test-{uuid.uuid4()}",
        stream_version=1,
        region_code=region_code,
        occurred_at=now,
        recorded_at=now,
        actor=Actor(id="tester", role="platform", region_code=region_code[:6]),
        # The example keeps whatever `data` holds; it does not read the fields.
        data={"note": note},
    )


class Streams:
    """The test's four streams, and publishing into them as the services' relays do."""

    def __init__(self, js: JetStreamContext, settings: Settings) -> None:
        self.js = js
        self.settings = settings
        self.names = {s: stream_for(settings, s).name for s in SERVICES}

    async def publish(self, event: Envelope, msg_id: str | None = None) -> int:
        service = event.type.split(".", 1)[0]
        ack = await self.js.publish(
            subject_for(self.settings.subject_root, event.region_code, event.type),
            event.model_dump_json().encode(),
            stream=self.names[service],
            headers={"Nats-Msg-Id": msg_id or str(event.event_id)},
        )
        return int(ack.seq)

    async def batch(self, services: tuple[str, ...], label: str) -> list[Envelope]:
        """An event of each county (the followed one at village and county level) per service;
        the followed county's events returned."""
        mine: list[Envelope] = []
        for service in services:
            for region in (f"{COUNTY}103201", f"{COUNTY}000000", f"{OTHER}100201"):
                event = envelope(service, region, f"{label}:{service}:{region}")
                await self.publish(event)
                if region.startswith(COUNTY):
                    mine.append(event)
        return mine

    async def last_stored_at(self) -> datetime:
        """When the newest message of any stream was stored, by the server's clock."""
        times = []
        for name in self.names.values():
            last = (await self.js.stream_info(name)).state.last_seq
            if last:
                stored = (await self.js.get_msg(name, seq=last)).time
                assert stored is not None
                times.append(stored)
        return max(times)


@contextlib.asynccontextmanager
async def streams(settings: Settings) -> AsyncIterator[Streams]:
    nc = await nats.connect(settings.nats_url, allow_reconnect=False, connect_timeout=3)
    try:
        js = nc.jetstream()
        found = Streams(js, settings)
        for service in SERVICES:
            await ensure_stream(js, stream_for(settings, service), owner=True)
        yield found
    finally:
        await nc.close()


async def run_example(settings: Settings, db: Path, since: datetime) -> list[dict[str, Any]]:
    """One run of the example until it has caught up; the events it reported as new."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--county", COUNTY,
        "--durable", DURABLE,
        "--since", since.isoformat(),
        "--nats-url", settings.nats_url,
        "--root", settings.subject_root,
        "--stream-prefix", settings.stream_prefix,
        "--streams", *(stream_for(settings, s).name for s in SERVICES),
        "--db", str(db),
        "--until-idle", "1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


def ids(events: list[Envelope]) -> list[str]:
    return sorted(str(e.event_id) for e in events)


def kept(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return sorted(row[0] for row in conn.execute("SELECT event_id FROM events"))


def checkpoint(db: Path, stream: str) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("SELECT last_seq FROM checkpoints WHERE stream = ?", (stream,)).fetchone()[0])


async def test_one_countys_events_from_its_date_each_once_across_restarts(
    settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "county.sqlite"
    async with streams(settings) as s:
        await s.batch(("pairing", "monitoring"), "before")
        since = await s.last_stored_at() + timedelta(microseconds=1)
        await asyncio.sleep(0.01)  # the next message is stored later than `since`
        first = await s.batch(tuple(SERVICES), "first")

        got = await run_example(settings, db, since)
        assert sorted(e["event_id"] for e in got) == ids(first)
        assert all(e["region_code"].startswith(COUNTY) for e in got)
        assert {e["stream"] for e in got} == set(s.names.values())
        assert kept(db) == ids(first)

        # Meanwhile: new events; the pairing relay republishes one it had published (another
        # message id, as after a crash past the duplicate window); the monitoring durable is lost.
        second = await s.batch(("monitoring", "reporting"), "second")
        republished_seq = await s.publish(first[0], msg_id=f"again-{first[0].event_id}")
        monitoring = s.names["monitoring"]
        await s.js.delete_consumer(monitoring, DURABLE)

        got = await run_example(settings, db, since)
        assert sorted(e["event_id"] for e in got) == ids(second)
        assert kept(db) == ids(first + second)
        # The lost durable was made again from the checkpoint, not from the date.
        remade = await s.js.consumer_info(monitoring, DURABLE)
        assert remade.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
        # Its filter is the county's part of the stream, from the stream's name and the prefix.
        assert remade.config.filter_subject == f"{settings.subject_root}.15.1506.{COUNTY}.monitoring.>"
        last_monitoring = (await s.js.stream_info(monitoring)).state.last_seq
        assert checkpoint(db, monitoring) == last_monitoring - 1  # the neighbour's came last
        assert checkpoint(db, s.names["pairing"]) == republished_seq

        # Both the durable and the checkpoint lost: the server delivers everything since the date
        # again, and the event ids keep each event once.
        pairing = s.names["pairing"]
        await s.js.delete_consumer(pairing, DURABLE)
        with contextlib.closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("DELETE FROM checkpoints WHERE stream = ?", (pairing,))

        assert await run_example(settings, db, since) == []
        again = await s.js.consumer_info(pairing, DURABLE)
        assert again.config.deliver_policy == DeliverPolicy.BY_START_TIME
        assert again.delivered.stream_seq == republished_seq

        async def all_acknowledged() -> bool:
            return (await s.js.consumer_info(pairing, DURABLE)).num_ack_pending == 0

        await wait_until(all_acknowledged, 10, "the redelivered messages acknowledged")
        assert kept(db) == ids(first + second)


async def fetch(sub: JetStreamContext.PullSubscription, count: int) -> list[Msg]:
    """Exactly ``count`` messages, however the server splits them over fetches."""
    got: list[Msg] = []
    deadline = asyncio.get_running_loop().time() + 10
    while len(got) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(got)} of {count} messages"
        with contextlib.suppress(TimeoutError):
            got += await sub.fetch(count - len(got), timeout=1)
    return got


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("example_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_a_message_redelivered_before_its_ack_is_handled_once(
    settings: Settings, tmp_path: Path
) -> None:
    example = load_example()
    store = example.Store(str(tmp_path / "county.sqlite"))
    try:
        async with streams(settings) as s:
            mine = await s.batch(("monitoring",), "only")
            monitoring = s.names["monitoring"]
            await s.js.publish(
                subject_for(settings.subject_root, f"{COUNTY}103201", EVENT_TYPES["monitoring"]),
                b"not an event",
                stream=monitoring,
            )
            subjects = example.stream_filter(settings.subject_root, COUNTY, "monitoring")
            sub = await example.attach(s.js, monitoring, DURABLE, subjects, None, store)

            delivered = await fetch(sub, 3)  # the county's two events and the stray message
            handled = [example.handle(store, monitoring, m) for m in delivered]
            assert sorted(h["event_id"] for h in handled if h) == ids(mine)
            # Kept, but the process dies before acknowledging: the server delivers them again.
            for msg in delivered:
                await msg.nak()

            redelivered = await fetch(sub, 3)
            assert [m.metadata.sequence.stream for m in redelivered] == [
                m.metadata.sequence.stream for m in delivered
            ]
            assert all(m.metadata.num_delivered == 2 for m in redelivered)
            assert [example.handle(store, monitoring, m) for m in redelivered] == [None] * len(delivered)
            for msg in redelivered:
                await msg.ack_sync()
            assert store.last_seq(monitoring) == delivered[-1].metadata.sequence.stream
    finally:
        store.close()
    assert kept(tmp_path / "county.sqlite") == ids(mine)
