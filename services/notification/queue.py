"""The deliveries as a work queue (SQL on the service's own database).

A try is claimed before it is made: the row goes to ``sending`` with a lease, in a transaction of
its own, and the send starts only after that commit. Its outcome is written, with its event
(``notification_delivered`` / ``notification_failed``), only while the row is still the claimed
try. A row still ``sending`` when its lease ends belongs to an instance that stopped mid-send:
the message may have gone out, so it is not sent again but failed as ``interrupted``.
Times are the database's (``now()``): tries and leases are operational time, not the clock
business dates come from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from shared.auth import Role
from shared.events.catalogue.notification import (
    ChannelKind,
    FailureKind,
    NotificationDelivered,
    NotificationFailed,
)
from shared.events.envelope import Actor, Envelope, EventData
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import EventStore, EventStoreSession

DISPATCHER = Actor(id="notification-dispatcher", role=Role.platform.value, region_code="")

_CLAIM = """
    WITH due AS (
        SELECT delivery_id FROM deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT $1
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE deliveries d
        SET status = 'sending', attempts = d.attempts + 1,
            lease_until = now() + make_interval(secs => $2)
        FROM due WHERE d.delivery_id = due.delivery_id
        RETURNING d.*
    ), tried AS (
        INSERT INTO delivery_attempts (delivery_id, attempt, started_at)
        SELECT delivery_id, attempts, now() FROM claimed
    )
    SELECT c.delivery_id, c.alert_id, c.alert_type, c.region_code, c.recipient_id, c.channel,
        c.address, c.secret_ref, c.attempts, c.resent_after, c.events, a.message::text AS message,
        a.envelope::text AS envelope, a.correlation_id
    FROM claimed c JOIN alerts a USING (alert_id)
"""


def _closing(change: str) -> str:
    """A try closed in one statement: the delivery's row changed by ``change`` only while it is
    still this try ($1 the delivery, $2 the attempt: a try whose lease ended was failed as
    interrupted), and the try's own row given its outcome ($3) and error ($4). The moment, or no
    row when the try was closed already."""
    return f"""
    WITH closed AS (
        UPDATE deliveries SET lease_until = NULL, {change}
        WHERE delivery_id = $1 AND status = 'sending' AND attempts = $2
        RETURNING delivery_id, attempts
    ), tried AS (
        UPDATE delivery_attempts a SET finished_at = now(), outcome = $3, error = $4
        FROM closed WHERE a.delivery_id = closed.delivery_id AND a.attempt = closed.attempts
    )
    SELECT now() FROM closed
    """


_DELIVERED = _closing("status = 'delivered', finished_at = now(), last_error = NULL, events = events + 1")
_RETRY = _closing("status = 'pending', last_error = $4, next_attempt_at = now() + make_interval(secs => $5)")
_FAILED = _closing(
    "status = 'failed', finished_at = now(), failure = $3, last_error = $4, events = events + 1"
)
_LAPSED = """
    SELECT d.delivery_id, d.alert_id, d.alert_type, d.region_code, d.recipient_id, d.channel,
        d.address, d.secret_ref, d.attempts, d.resent_after, d.events, NULL::text AS message,
        NULL::text AS envelope, a.correlation_id
    FROM deliveries d JOIN alerts a USING (alert_id)
    WHERE d.status = 'sending' AND d.lease_until < now()
    ORDER BY d.lease_until
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
"""
_RESEND = """
    UPDATE deliveries SET status = 'pending', next_attempt_at = now(), failure = NULL,
        finished_at = NULL, resent_after = attempts
    WHERE delivery_id = $1 AND status = 'failed'
    RETURNING delivery_id
"""
INTERRUPTED = (
    "the service stopped while this try was being sent; it may have arrived, so it is not sent again"
)


@dataclass(frozen=True)
class Claimed:
    """One try of a delivery, claimed."""

    delivery_id: uuid.UUID
    alert_id: uuid.UUID
    alert_type: str
    region_code: str
    recipient_id: uuid.UUID
    channel: ChannelKind
    address: str
    secret_ref: str | None
    attempts: int  # tries made, this one included
    resent_after: int  # tries made before the last resend
    events: int  # its stream's version
    message: str | None
    envelope: str | None
    correlation_id: str | None

    @property
    def tries(self) -> int:
        """Tries since the delivery was routed or last resent: what the retry policy counts."""
        return self.attempts - self.resent_after

    @classmethod
    def of(cls, row: asyncpg.Record) -> Claimed:
        return cls(**{**dict(row), "channel": ChannelKind(row["channel"])})


class DeliveryQueue:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def claim(self, limit: int, lease_s: float) -> list[Claimed]:
        # One statement: atomic on its own, one round trip.
        async with self.store.pool.acquire() as conn:
            return [Claimed.of(row) for row in await conn.fetch(_CLAIM, limit, lease_s)]

    async def delivered(self, claimed: Claimed) -> bool:
        async with self.store.session(transaction=True) as session:
            at = await session.conn.fetchval(
                _DELIVERED, claimed.delivery_id, claimed.attempts, "delivered", None
            )
            if at is None:
                return False
            _record(session, claimed, NotificationDelivered(**_common(claimed), delivered_at=at), at)
            return True

    async def retry(self, claimed: Claimed, error: str, after_s: float) -> bool:
        async with self.store.pool.acquire() as conn:
            args = (claimed.delivery_id, claimed.attempts, "retry", error[:1000], after_s)
            return await conn.fetchval(_RETRY, *args) is not None

    async def failed(self, claimed: Claimed, failure: FailureKind, error: str) -> bool:
        async with self.store.session(transaction=True) as session:
            return await _fail(session, claimed, failure, error)

    async def fail_lapsed(self, limit: int = 100) -> int:
        """Fail the tries whose lease ended (their instance stopped mid-send) as interrupted."""
        async with self.store.session(transaction=True) as session:
            rows = await session.conn.fetch(_LAPSED, limit)
            for row in rows:
                await _fail(session, Claimed.of(row), FailureKind.interrupted, INTERRUPTED)
            return len(rows)

    async def resend(self, delivery_id: uuid.UUID) -> bool:
        """A failed delivery tried again (an officer asked): False when it is not failed."""
        async with self.store.pool.acquire() as conn:
            return await conn.fetchval(_RESEND, delivery_id) is not None


async def _fail(session: EventStoreSession, claimed: Claimed, failure: FailureKind, error: str) -> bool:
    reason = error[:1000]
    at = await session.conn.fetchval(_FAILED, claimed.delivery_id, claimed.attempts, failure.value, reason)
    if at is None:
        return False
    event = NotificationFailed(**_common(claimed), failure=failure, reason=reason, failed_at=at)
    _record(session, claimed, event, at)
    return True


def _common(claimed: Claimed) -> dict[str, object]:
    return {
        "delivery_id": claimed.delivery_id,
        "alert_id": claimed.alert_id,
        "alert_type": claimed.alert_type,
        "recipient_id": claimed.recipient_id,
        "channel": claimed.channel,
        "attempts": claimed.attempts,
    }


def _record(session: EventStoreSession, claimed: Claimed, event: EventData, at: datetime) -> None:
    ctx = CommandContext(
        actor=DISPATCHER,
        now=at,
        correlation_id=claimed.correlation_id or str(claimed.alert_id),
        causation_id=str(claimed.alert_id),
    )
    envelopes: list[Envelope] = wrap(
        ctx, f"delivery-{claimed.delivery_id}", claimed.events, claimed.region_code, [event]
    )
    session.append(claimed.events, envelopes)
