"""JetStream streams, one per producing service (DESIGN §2), created idempotently at start."""

from __future__ import annotations

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from shared.events.subjects import StreamSpec


def stream_config(spec: StreamSpec) -> StreamConfig:
    # Limits retention, file storage, no max_age: a replay from the very first event stays possible.
    return StreamConfig(
        name=spec.name,
        subjects=spec.subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=spec.replicas,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, *, owner: bool) -> None:
    """Create the stream if it is missing; its owner also brings an existing one up to the spec.

    Consumers create a missing stream too (same canonical spec), so start order does not matter,
    but never change one: only the producing service reconfigures its own stream.
    """
    config = stream_config(spec)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(config)
        return
    current = info.config
    if owner and (
        sorted(current.subjects or []) != sorted(spec.subjects)
        or current.duplicate_window != spec.duplicate_window_s
        or (current.num_replicas or 1) != spec.replicas
    ):
        await js.update_stream(config)


async def connect(url: str, name: str) -> Client:
    """A NATS connection that keeps reconnecting for as long as the process lives."""
    return await nats.connect(
        url,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
    )
