"""Reading a whole JetStream stream, fast and in bounded memory, for replays.

An ephemeral pull consumer without acknowledgements, fed by pull requests the reader sends
itself: at most ``2 × batch`` messages are requested and not yet taken, so the server holds the
rest back however long the stream is. (An ordered push consumer reads as fast, but nats-py
buffered a whole stream of 230,000 events before flow control held the server back; nats-py's
``fetch`` waits on each message, at a third of the speed; bench/README.md.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.messaging.projector import Delivery

_EXPIRES_NS = 30 * 1_000_000_000
_SILENCE_S = 60.0


async def read_stream(
    js: JetStreamContext, stream: str, subject: str, *, batch: int = 1000
) -> AsyncIterator[list[Delivery]]:
    """Every message on ``subject`` stored when the call starts, in stream order, in lists of up
    to ``batch`` (fewer when the server has sent fewer so far)."""
    nc = js._nc  # the JetStream context's own connection: pull requests are plain publishes
    info = await js.add_consumer(
        stream,
        ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=subject,
            inactive_threshold=_SILENCE_S,
            mem_storage=True,
            num_replicas=1,
        ),
    )
    total = info.num_pending
    if not total:
        await _delete(js, stream, info.name)
        return
    arrived: list[Delivery] = []
    ended = asyncio.Event()  # a request ended (408 and the like): ask again
    ready = asyncio.Event()

    async def on_message(msg: Msg) -> None:
        if not msg.data and msg.headers and msg.headers.get("Status"):
            ended.set()
        else:
            arrived.append(Delivery(msg.subject, msg.data, stream_sequence(msg), attempt=1))
        ready.set()

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_message)
    next_request = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{info.name}"
    requested = taken = 0
    try:
        while taken < total:
            if ended.is_set():  # what an ended request did not bring is asked for again
                ended.clear()
                requested = taken + len(arrived)
            while requested - taken < 2 * batch and requested < total:
                body = json.dumps({"batch": batch, "expires": _EXPIRES_NS}).encode()
                await nc.publish(next_request, body, reply=inbox)
                requested += batch
            if not arrived:
                ready.clear()
                try:
                    await asyncio.wait_for(ready.wait(), timeout=_SILENCE_S)
                except TimeoutError as exc:
                    raise TimeoutError(
                        f"{stream}: nothing for {_SILENCE_S} s after {taken} of {total}"
                    ) from exc
                continue
            chunk, arrived[:] = arrived[:batch], arrived[batch:]
            taken += len(chunk)
            yield chunk
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        await _delete(js, stream, info.name)


def stream_sequence(msg: Msg) -> int:
    """The message's stream sequence, read off its reply subject: ``$JS.ACK.<stream>.<consumer>.
    <delivered>.<stream seq>.…`` (nine tokens), or with a domain and account hash in front (twelve
    or more). nats-py's ``metadata`` parses every field and builds a timestamp: a tenth of what a
    replayed event costs."""
    tokens = msg.reply.split(".")
    if len(tokens) == 9:
        return int(tokens[5])
    if len(tokens) >= 12:
        return int(tokens[7])
    return msg.metadata.sequence.stream


async def _delete(js: JetStreamContext, stream: str, consumer: str) -> None:
    with contextlib.suppress(Exception):
        await js.delete_consumer(stream, consumer)
