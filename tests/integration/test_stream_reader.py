"""Reading a whole stream for a replay (shared/messaging/stream_reader.py) on a real JetStream:
every stored message once, in order, in chunks; only those stored when the read began; and a
message lost on the way is noticed and read again, not skipped."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.messaging import stream_reader
from shared.messaging.stream_reader import read_stream
from shared.settings import Settings
from tests.support.infra import Broker, jetstream

N = 5_000


async def fill(broker: Broker, n: int, start: int = 0) -> None:
    root = broker.spec.subjects[0].split(".", 1)[0]
    for i in range(start, start + n):
        kind = "even" if i % 2 == 0 else "odd"
        await broker.js.publish_async(f"{root}.15.1506.150602.pairing.{kind}", str(i).encode())
    await broker.js.publish_async_completed()


async def read_all(broker: Broker, subject: str | None = None, batch: int = 700) -> list[tuple[int, bytes]]:
    got = []
    async for chunk in read_stream(
        broker.js, broker.spec.name, subject or broker.spec.subjects[0], batch=batch
    ):
        assert 0 < len(chunk) <= batch
        got.extend((d.stream_sequence, d.payload) for d in chunk)
    return got


async def test_every_stored_message_once_in_order(settings: Settings) -> None:
    async with jetstream(settings) as broker:
        await fill(broker, N)
        got = await read_all(broker)
        assert [seq for seq, _ in got] == list(range(1, N + 1))
        assert [int(p) for _, p in got] == list(range(N))
        odd = await read_all(broker, broker.spec.subjects[0].replace(">", "odd"))
        assert [int(p) for _, p in odd] == list(range(1, N, 2))
        consumers = await broker.js.consumers_info(broker.spec.name)
        assert consumers == []  # each read deletes its consumer


async def test_messages_stored_after_the_read_began_are_left_out(settings: Settings) -> None:
    async with jetstream(settings) as broker:
        await fill(broker, N)
        chunks = read_stream(broker.js, broker.spec.name, broker.spec.subjects[0], batch=1000)
        first = await anext(chunks)
        await fill(broker, 500, start=N)  # while the replay runs
        rest = [d for chunk in [c async for c in chunks] for d in chunk]
        assert [d.stream_sequence for d in [*first, *rest]] == list(range(1, N + 1))


async def test_a_message_lost_on_the_way_is_read_again(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As when the connection drops: a message never reaches the reader (here the 1,234th is
    swallowed once). The count of messages behind the next one gives it away; the reader starts
    a new consumer after the last message it handed out and reads on."""
    swallowed: list[int] = []
    on_message = stream_reader._Reader._on_message

    async def lossy(self: Any, msg: Any) -> None:
        seq, _ = stream_reader.reply_position(msg) if msg.data else (0, 0)
        if seq == 1234 and not swallowed:
            swallowed.append(seq)
            return
        await on_message(self, msg)

    monkeypatch.setattr(stream_reader._Reader, "_on_message", lossy)
    async with jetstream(settings) as broker:
        await fill(broker, N)
        got = await asyncio.wait_for(read_all(broker, batch=500), 60)
        assert swallowed == [1234]
        assert [seq for seq, _ in got] == list(range(1, N + 1))
