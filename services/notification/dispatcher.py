"""The dispatcher: claims due deliveries, sends each on its channel, and records the outcome.

Sends run side by side (at most ``notification_max_in_flight``), so a slow SMTP server does not
hold back a webhook. The router wakes it after each batch it routes; tries due later, and the
rows another instance routed, are found by polling every ``notification_poll_s``. On shutdown it
stops claiming and lets the sends in hand finish and be recorded (``_GRACE_S``); a send cut off
by a kill is failed as interrupted when its lease ends (``queue.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from services.notification.channels import Channel, build_channels, http_client
from services.notification.channels.webhook import resolve_secret
from services.notification.delivery import Failed, RetryPolicy, after_failure, for_delivery, message_from
from services.notification.message import DeliveryError
from services.notification.queue import Claimed, DeliveryQueue
from shared.events.catalogue.notification import ChannelKind
from shared.events.envelope import Envelope
from shared.observability.correlation import correlated
from shared.service import Runtime
from shared.settings import Settings

log = logging.getLogger(__name__)

_GRACE_S = 10.0
_RECORD_TRIES = 3


class Wake:
    """Tells the dispatcher there may be work (routed deliveries, a resend)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.event.set()


def lease_s(settings: Settings) -> float:
    """How long a claimed try may take before it counts as cut off: the configured lease, or the
    longest channel timeout with a margin. A send is itself cut at the lease less a margin."""
    if settings.notification_lease_s is not None:
        return settings.notification_lease_s
    return max(settings.smtp_timeout_s, settings.notification_http_timeout_s) + 30.0


class Dispatcher:
    def __init__(
        self,
        queue: DeliveryQueue,
        channels: Mapping[str, Channel],
        settings: Settings,
        wake: Wake,
    ) -> None:
        self.queue = queue
        self.channels = channels
        self.secrets = settings.webhook_secrets
        self.policy = RetryPolicy(
            settings.notification_max_attempts,
            settings.notification_backoff_base_s,
            settings.notification_backoff_max_s,
        )
        self.lease_s = lease_s(settings)
        # A send is abandoned in time for its outcome to be written before the lease ends.
        self.send_timeout_s = max(self.lease_s * 0.8, self.lease_s - 5.0)
        self.poll_s = settings.notification_poll_s
        self.max_in_flight = settings.notification_max_in_flight
        self.wake = wake
        self._sending: set[asyncio.Task[None]] = set()
        self._lapsed_checked = 0.0

    async def run(self) -> None:
        try:
            while True:
                self.wake.event.clear()
                claimed, asked = await self._step()
                if asked and claimed == asked:
                    continue  # a full claim: there may be more due
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_s):
                        await self.wake.event.wait()
        finally:
            await self._finish_sends()

    async def _step(self) -> tuple[int, int]:
        """Claim what is due, up to the free slots, and start sending it: (claimed, asked for)."""
        try:
            now = time.monotonic()
            if now - self._lapsed_checked >= min(5.0, self.lease_s / 2):
                self._lapsed_checked = now
                await self.queue.fail_lapsed()
            free = self.max_in_flight - len(self._sending)
            if free <= 0:
                return 0, 0
            claimed = await self.queue.claim(free, self.lease_s)
        except Exception:
            log.exception("dispatcher: claiming deliveries failed; trying again")
            await asyncio.sleep(1.0)
            return 0, 0
        for item in claimed:
            task = asyncio.create_task(self._send(item), name=f"deliver-{item.delivery_id}")
            self._sending.add(task)
            task.add_done_callback(self._sent)
        return len(claimed), free

    def _sent(self, task: asyncio.Task[None]) -> None:
        full = len(self._sending) >= self.max_in_flight
        self._sending.discard(task)
        if full:
            self.wake()  # a slot is free again

    async def _finish_sends(self) -> None:
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=_GRACE_S)
            for task in list(self._sending):
                task.cancel()

    async def _send(self, claimed: Claimed) -> None:
        with correlated(claimed.correlation_id):
            await self._deliver(claimed)

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            await self._try(claimed)
        except DeliveryError as error:
            outcome = after_failure(error, claimed.tries, self.policy)
            if isinstance(outcome, Failed):
                await self._record(
                    "failed", lambda: self.queue.failed(claimed, outcome.failure, outcome.error), claimed
                )
            else:
                await self._record(
                    "retry", lambda: self.queue.retry(claimed, outcome.error, outcome.after_s), claimed
                )
            log.info("delivery %s try %d: %s", claimed.delivery_id, claimed.attempts, error.reason)
        else:
            await self._record("delivered", lambda: self.queue.delivered(claimed), claimed)

    async def _try(self, claimed: Claimed) -> None:
        envelope = Envelope.model_validate_json(claimed.envelope) if claimed.envelope else None
        assert claimed.message is not None
        message = for_delivery(
            message_from(
                claimed.message, claimed.alert_id, claimed.alert_type, claimed.region_code, envelope
            ),
            claimed.delivery_id,
        )
        channel = self.channels.get(claimed.channel.value)
        if channel is None:
            raise DeliveryError(f"no {claimed.channel.value} channel is configured", retryable=False)
        secret = (
            resolve_secret(self.secrets, claimed.secret_ref)
            if claimed.channel is ChannelKind.webhook
            else None
        )
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await channel.send(message, claimed.address, secret)
        except TimeoutError as exc:
            raise DeliveryError(f"no answer within {self.send_timeout_s:.0f} s", retryable=True) from exc
        except DeliveryError:
            raise
        except Exception as exc:  # a channel's own bug or an unforeseen error: try again later
            log.exception("delivery %s: unexpected error", claimed.delivery_id)
            raise DeliveryError(f"unexpected error: {exc!r}", retryable=True) from exc

    async def _record(self, what: str, write: Callable[[], Awaitable[bool]], claimed: Claimed) -> None:
        """Write an outcome; a database hiccup is tried again, and a try left unrecorded ends as
        interrupted when its lease ends (never sent twice)."""
        for attempt in range(1, _RECORD_TRIES + 1):
            try:
                if not await write():
                    log.warning(
                        "delivery %s: try %d was closed already", claimed.delivery_id, claimed.attempts
                    )
                return
            except Exception:
                if attempt == _RECORD_TRIES:
                    log.exception("delivery %s: outcome %s not recorded", claimed.delivery_id, what)
                    return
                await asyncio.sleep(0.5 * attempt)


async def dispatch(runtime: Runtime, wake: Wake) -> None:
    """The dispatcher as a service worker."""
    async with http_client(runtime.settings) as client:
        dispatcher = Dispatcher(
            DeliveryQueue(runtime.store), build_channels(runtime.settings, client), runtime.settings, wake
        )
        await dispatcher.run()
