"""Appends wake the outbox relay, whichever instance of the service holds it.

A plain NATS message (no JetStream, nothing stored) after each append's commit. A lost one costs
at most the relay's one-second safety poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)


def wake_subject(subject_root: str, service: str) -> str:
    # Outside the event subjects (xingcun.<2>.<4>.<6>.<service>.<event>): no stream captures it.
    return f"_internal.{subject_root}.{service}.appended"


class AppendSignal:
    def __init__(self, nc: Client, subject: str) -> None:
        self.nc = nc
        self.subject = subject

    async def appended(self) -> None:
        """Called after a commit: the events are stored whatever happens here."""
        try:
            await self.nc.publish(self.subject, b"")
        except Exception as exc:
            log.debug("append signal not sent (%r); the relay's safety poll will find the events", exc)

    async def listen(self, wake: Callable[[], None]) -> Subscription:
        async def on_signal(_: object) -> None:
            wake()

        return await self.nc.subscribe(self.subject, cb=on_signal)
