"""Two instances of a service share a durable consumer, so two batches of one stream can be in
flight at once: version 1 in one instance's transaction, version 2 in the other's. The second
must never apply its events against the read model as it stood before the first committed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.envelope import Envelope, EventData
from shared.messaging.projector import Projector
from shared.settings import Settings
from tests.integration.test_rebuild import village_history
from tests.support.infra import service_database
from tests.support.pairing import village_code


class CountingVersions:
    """A read model in which each event depends on the one before: version 1 creates the row,
    every later version adds one to it. An update applied before version 1 committed is lost."""

    name = "counting-versions"
    tables = ("counted",)

    def __init__(self, held: dict[int, tuple[asyncio.Event, asyncio.Event]]) -> None:
        # first version of a batch → (the batch wrote, the batch may commit)
        self.held = held

    def handles(self, event_type: str) -> bool:
        return True

    async def apply(self, conn: AsyncConnection, envelope: Envelope, event: EventData) -> None:
        await self.apply_many(conn, [(envelope, event)])

    async def apply_many(self, conn: AsyncConnection, events: Sequence[tuple[Envelope, EventData]]) -> None:
        for envelope, _ in events:
            if envelope.stream_version == 1:
                await conn.execute(
                    text("INSERT INTO counted (stream_id, n) VALUES (:s, 1)"), {"s": envelope.stream_id}
                )
            else:
                await conn.execute(
                    text("UPDATE counted SET n = n + 1 WHERE stream_id = :s"), {"s": envelope.stream_id}
                )
        wrote, go_on = self.held.get(events[0][0].stream_version, (None, None))
        if wrote is not None and go_on is not None:
            wrote.set()
            await go_on.wait()


async def test_a_later_batch_of_a_stream_waits_for_the_earlier_one_in_another_instance(
    settings: Settings,
) -> None:
    first, second, *_ = village_history(village_code(1), 1)
    async with service_database(settings, "reporting") as db:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE counted (stream_id text PRIMARY KEY, n integer NOT NULL)"))
        one_wrote, one_commits = asyncio.Event(), asyncio.Event()
        two_wrote, two_commits = asyncio.Event(), asyncio.Event()
        held: dict[int, Any] = {1: (one_wrote, one_commits), 2: (two_wrote, two_commits)}
        instance_one = Projector(db.engine, CountingVersions(held))
        instance_two = Projector(db.engine, CountingVersions(held))

        batch_one = asyncio.create_task(instance_one.apply_batch([first]))
        await asyncio.wait_for(one_wrote.wait(), 10)  # version 1 written, not committed
        batch_two = asyncio.create_task(instance_two.apply_batch([second]))
        # The second batch must not get as far as writing while version 1 is uncommitted; if it
        # did, let the first commit under it, the worst moment for it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(two_wrote.wait(), 1.0)
        one_commits.set()
        assert [o.ack for o in await asyncio.wait_for(batch_one, 10)] == [True]
        two_commits.set()
        outcome = await asyncio.wait_for(batch_two, 10)

        # Applied after version 1 (acknowledged) or put back for later: never lost.
        if outcome[0].ack:
            assert await db.scalar("SELECT n FROM counted") == 2
        else:
            assert await db.scalar("SELECT n FROM counted") == 1
            assert [o.ack for o in await instance_two.apply_batch([second])] == [True]
            assert await db.scalar("SELECT n FROM counted") == 2
