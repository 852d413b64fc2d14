"""Reading a whole JetStream stream, fast and in bounded memory, for replays.

An ephemeral pull consumer without acknowledgements, fed by pull requests the reader sends
itself, each with its own reply subject and a cap in messages and bytes, at most ``IN_FLIGHT`` of
them at a time: the server holds the rest back however long the stream is, and never has more
than a few megabytes waiting for this client (64 MB waiting makes it cut the connection as a
slow consumer). Without acknowledgements a message lost with a dropped connection would be gone:
each message says how many are left behind it, so a loss shows as a drop in that count, and the
reader then starts a new consumer right after the last message it took. (An ordered push
consumer read as fast, but nats-py buffered a whole stream of 230,000 events before flow control
held the server back; nats-py's ``fetch`` waits on each message, at a third of the speed.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.messaging.projector import Delivery

log = logging.getLogger(__name__)

REQUEST_MESSAGES = 1000
REQUEST_BYTES = 2 * 1024 * 1024
IN_FLIGHT = 4  # requests: at most 8 MB on their way to this reader, beyond the chunk it gathers
_EXPIRES_NS = 30 * 1_000_000_000
_SILENCE_S = 60.0


def reply_position(msg: Msg) -> tuple[int, int]:
    """The message's stream sequence and how many messages the consumer had left behind it, read
    off its reply subject: ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.
    <time>.<pending>`` (nine tokens), or with a domain and account hash in front (twelve or more).
    nats-py's ``metadata`` parses every field and builds a timestamp: a tenth of a replayed
    event's cost."""
    tokens = msg.reply.split(".")
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[8])
    if len(tokens) >= 12:
        return int(tokens[7]), int(tokens[10])
    metadata = msg.metadata
    return metadata.sequence.stream, metadata.num_pending


async def read_stream(
    js: JetStreamContext, stream: str, subject: str, *, batch: int = 1000
) -> AsyncIterator[list[Delivery]]:
    """Every message on ``subject`` stored when the call starts, in stream order, in lists of up
    to ``batch`` (fewer when that is all that has come so far)."""
    reader = _Reader(js, stream, subject)
    try:
        async for chunk in reader.chunks(batch):
            yield chunk
    finally:
        await reader.close()


class _Reader:
    def __init__(self, js: JetStreamContext, stream: str, subject: str) -> None:
        self.js = js
        self.nc = js._nc  # the JetStream context's own connection: pull requests are plain publishes
        self.stream = stream
        self.subject = subject
        self.consumer: str | None = None
        self.sub: Any = None
        self.inbox = ""
        self.arrived: list[Delivery] = []
        self.ready = asyncio.Event()
        self.batch = 1
        self.wanted = 0  # messages still to take
        self.credit = 0  # messages asked for and not yet received
        self.lost = False
        self.last_seq = 0  # of the last message taken
        self.behind = 0  # messages the consumer still had after the last one received

    async def chunks(self, batch: int) -> AsyncIterator[list[Delivery]]:
        self.batch = batch
        self.wanted = await self._start()  # the messages stored now: the replay ends after them
        while self.wanted > 0:
            if self.lost:
                log.warning(
                    "replay of %s: messages lost on the way; reading on after %d", self.stream, self.last_seq
                )
                await self._start(after=self.last_seq)
            want = min(batch, self.wanted)
            await self._top_up()
            if len(self.arrived) < want:
                await self._wait()
                continue
            chunk = self.arrived[:want]
            del self.arrived[:want]
            self.wanted -= len(chunk)
            self.last_seq = chunk[-1].stream_sequence or self.last_seq
            yield chunk

    async def close(self) -> None:
        await self._drop()

    async def _start(self, after: int = 0) -> int:
        """A new consumer from the first message (or right after ``after``); how many it holds."""
        await self._drop()
        self.arrived, self.credit, self.lost = [], 0, False
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if after else DeliverPolicy.ALL,
            opt_start_seq=after + 1 if after else None,
            filter_subject=self.subject,
            inactive_threshold=_SILENCE_S,
            mem_storage=True,
            num_replicas=1,
        )
        info = await self.js.add_consumer(self.stream, config)
        self.consumer = info.name
        self.behind = int(info.num_pending)
        self.inbox = self.nc.new_inbox()
        self.sub = await self.nc.subscribe(f"{self.inbox}.*", cb=self._on_message)
        return self.behind

    def _short(self, slack: int = 0) -> bool:
        """Fewer than a chunk and IN_FLIGHT requests' worth (less ``slack``) here or on their way."""
        target = min(self.batch + IN_FLIGHT * REQUEST_MESSAGES, self.wanted) - slack
        return self.credit + len(self.arrived) < target

    async def _top_up(self) -> None:
        while self._short():
            await self._ask()

    async def _ask(self) -> None:
        self.credit += REQUEST_MESSAGES
        body = {"batch": REQUEST_MESSAGES, "max_bytes": REQUEST_BYTES, "expires": _EXPIRES_NS}
        await self.nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}",
            json.dumps(body).encode(),
            reply=f"{self.inbox}.r",
        )

    async def _on_message(self, msg: Msg) -> None:
        if not msg.data and msg.headers and msg.headers.get("Status"):
            # A request ended before it was filled (it expired, or reached its byte cap): what it
            # did not bring is unknown, so ask again; at worst one request too many is on its way.
            await self._ask()
        else:
            self.credit -= 1
            seq, behind = reply_position(msg)
            if behind < self.behind - 1:  # fewer left than there should be: some never came
                self.lost = True
            self.behind = behind
            if not self.lost:
                self.arrived.append(Delivery(msg.subject, msg.data, seq, attempt=1))
            if self._short(slack=REQUEST_MESSAGES):
                await self._top_up()
        self.ready.set()

    async def _wait(self) -> None:
        self.ready.clear()
        try:
            await asyncio.wait_for(self.ready.wait(), timeout=_SILENCE_S)
        except TimeoutError as exc:
            raise TimeoutError(
                f"replay of {self.stream}: nothing for {_SILENCE_S} s after {self.last_seq}"
            ) from exc

    async def _drop(self) -> None:
        if self.sub is not None:
            with contextlib.suppress(Exception):
                await self.sub.unsubscribe()
            self.sub = None
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(self.stream, self.consumer)
            self.consumer = None
