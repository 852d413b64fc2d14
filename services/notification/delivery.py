"""Delivery decided without I/O: the id of each (alert, recipient, channel address), what to
deliver for an event, the stored form of a message, and what a try's outcome leads to.

A delivery's id is derived, never drawn: the same event redelivered by JetStream, or routed by a
second instance, names the same rows, and the database keeps one of each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from services.notification.directory import Recipient, RoutingRule
from services.notification.message import DeliveryError, Message
from services.notification.routing import NO_PARTIES, EventParties, recipients_for
from shared.events.catalogue.notification import Channel, FailureKind
from shared.events.envelope import Envelope

_NAMESPACE = uuid.UUID("6f1d3c8e-2b0a-5d47-9a61-0c5e8f7b2d14")


def delivery_id_for(alert_id: uuid.UUID, recipient_id: uuid.UUID, channel: Channel) -> uuid.UUID:
    # The address is part of it: a recipient with two e-mail addresses gets two deliveries.
    return uuid.uuid5(_NAMESPACE, f"{alert_id}/{recipient_id}/{channel.kind.value}/{channel.address.lower()}")


@dataclass(frozen=True)
class Intent:
    """One message to deliver: written before anything is sent."""

    delivery_id: uuid.UUID
    alert_id: uuid.UUID
    recipient: Recipient
    channel: Channel


def intents_for(
    envelope: Envelope,
    recipients: Iterable[Recipient],
    rules: Iterable[RoutingRule],
    parties: EventParties = NO_PARTIES,
) -> list[Intent]:
    return [
        Intent(
            delivery_id_for(envelope.event_id, recipient.recipient_id, channel),
            envelope.event_id,
            recipient,
            channel,
        )
        for recipient, channel in recipients_for(
            envelope.type, envelope.region_code, recipients, rules, parties, envelope.data
        )
    ]


def stored_message(message: Message) -> str:
    """The message as the alert keeps it (JSON; the facts as pairs, jsonb would reorder keys)."""
    return json.dumps(
        {
            "subject": message.subject,
            "text": message.text,
            "facts": list(message.facts.items()),
            "link": message.link,
        },
        ensure_ascii=False,
    )


def message_from(
    stored: str | dict[str, Any],
    alert_id: uuid.UUID,
    alert_type: str,
    region_code: str,
    envelope: Envelope | None,
) -> Message:
    data = json.loads(stored) if isinstance(stored, str) else stored
    return Message(
        subject=data["subject"],
        text=data["text"],
        facts=dict((label, value) for label, value in data["facts"]),
        link=data["link"],
        event_id=alert_id,
        event_type=alert_type,
        region_code=region_code,
        envelope=envelope,
    )


def for_delivery(message: Message, delivery_id: uuid.UUID) -> Message:
    return replace(message, delivery_id=delivery_id)


@dataclass(frozen=True)
class RetryPolicy:
    """Tries and the waits between them: ``base_s``, doubled after each failure, at most ``max_s``."""

    max_attempts: int
    base_s: float
    max_s: float

    def wait_s(self, attempts: int, asked_s: float | None = None) -> float:
        """The wait before the next try after ``attempts`` tries failed; a receiver's Retry-After
        is honoured up to ``max_s``."""
        wait = min(self.max_s, self.base_s * 2 ** (attempts - 1))
        if asked_s is not None:
            wait = max(wait, min(asked_s, self.max_s))
        return wait


@dataclass(frozen=True)
class Retry:
    after_s: float
    error: str


@dataclass(frozen=True)
class Failed:
    failure: FailureKind
    error: str


def after_failure(error: DeliveryError, attempts: int, policy: RetryPolicy) -> Retry | Failed:
    """What a failed try leads to: another try later, or the end of the delivery."""
    if not error.retryable:
        return Failed(FailureKind.refused, error.reason)
    if attempts >= policy.max_attempts:
        return Failed(FailureKind.exhausted, f"{attempts} tries failed; the last: {error.reason}")
    return Retry(policy.wait_s(attempts, error.retry_after_s), error.reason)
