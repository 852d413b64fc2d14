"""What a recipient is told (``Message``), whatever the channel, and how a channel says it failed
(``DeliveryError``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events.envelope import Envelope


@dataclass(frozen=True)
class Message:
    """One alert in Chinese: a subject, the text of an e-mail, and the same facts as label → value
    (in the order a person reads them) for the channels that lay them out themselves."""

    subject: str
    text: str
    facts: Mapping[str, str]
    link: str | None
    event_id: uuid.UUID
    event_type: str
    region_code: str
    # The event it tells of, for the webhooks' receivers (None for a reminder made from time).
    envelope: Envelope | None = field(default=None, repr=False, compare=False)
    # Which delivery this copy is (set when it is sent): receivers drop a second one by it.
    delivery_id: uuid.UUID | None = None

    def summary(self) -> str:
        """One line: the subject and the facts, for an SMS."""
        facts = "；".join(f"{label}：{value}" for label, value in self.facts.items())
        return f"{self.subject}。{facts}" if facts else self.subject

    def as_json(self) -> dict[str, Any]:
        """The webhook body: the message, and the event envelope as the other services publish it."""
        return {
            "event_id": str(self.event_id),
            "delivery_id": None if self.delivery_id is None else str(self.delivery_id),
            "event_type": self.event_type,
            "region_code": self.region_code,
            "subject": self.subject,
            "text": self.text,
            "facts": dict(self.facts),
            "link": self.link,
            "envelope": None if self.envelope is None else self.envelope.model_dump(mode="json"),
        }


class DeliveryError(Exception):
    """A channel could not deliver. ``retryable``: the same message may go through later (the
    server was away, busy or said 4xx); otherwise trying again cannot help (address refused, bad
    configuration, the receiver rejects the request)."""

    def __init__(self, reason: str, *, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        # What the receiver asked for (HTTP Retry-After), if it did; the backoff may honour it.
        self.retry_after_s = retry_after_s

    def __repr__(self) -> str:
        return f"DeliveryError({self.reason!r}, retryable={self.retryable})"
