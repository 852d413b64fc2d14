"""Commands on the directory: each loads the stream it decides on and appends after the version it
read, so a concurrent writer gets 409 rather than a silent overwrite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.notification.directory import (
    Recipient,
    RecipientBody,
    RoutingRule,
    RuleBody,
    recipient_of,
    recipient_stream,
    rule_of,
    rule_stream,
    stream_region,
)
from shared.events.catalogue.notification import RecipientRegistered, RecipientUpdated, RoutingRuleSet
from shared.events.envelope import Envelope
from shared.events.registry import decode
from shared.eventstore.context import CommandContext, wrap
from shared.eventstore.store import EventStore, EventStoreSession

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    value: T
    version: int


def latest_recipient(history: list[Envelope]) -> Versioned[Recipient] | None:
    if not history:
        return None
    event = decode(history[-1])
    if not isinstance(event, RecipientRegistered | RecipientUpdated):
        raise TypeError(f"{history[-1].stream_id} holds {history[-1].type}")
    # each event holds the whole recipient, so the last one is the recipient now
    return Versioned(recipient_of(event), history[-1].stream_version)


def latest_rule(history: list[Envelope]) -> Versioned[RoutingRule] | None:
    if not history:
        return None
    event = decode(history[-1])
    if not isinstance(event, RoutingRuleSet):
        raise TypeError(f"{history[-1].stream_id} holds {history[-1].type}")
    return Versioned(rule_of(event), history[-1].stream_version)


async def load_recipient(store: EventStore, recipient_id: uuid.UUID) -> Versioned[Recipient] | None:
    return latest_recipient(await store.load(recipient_stream(recipient_id)))


async def load_rule(store: EventStore, rule_id: uuid.UUID) -> Versioned[RoutingRule] | None:
    return latest_rule(await store.load(rule_stream(rule_id)))


def _recipient_fields(recipient_id: uuid.UUID, body: RecipientBody) -> dict[str, object]:
    return {"recipient_id": recipient_id, **body.model_dump()}


def register_recipient(
    session: EventStoreSession, ctx: CommandContext, recipient_id: uuid.UUID, body: RecipientBody
) -> Versioned[Recipient]:
    """Append ``recipient_registered`` as version 1 (a stream already there refuses it: 409)."""
    event = RecipientRegistered.model_validate(_recipient_fields(recipient_id, body))
    stream = recipient_stream(recipient_id)
    session.append(0, wrap(ctx, stream, 0, stream_region(body.region_code), [event]))
    return Versioned(recipient_of(event), 1)


def update_recipient(
    session: EventStoreSession, ctx: CommandContext, current: Versioned[Recipient], body: RecipientBody
) -> Versioned[Recipient]:
    """Append ``recipient_updated`` after the version read; an unchanged recipient appends nothing."""
    recipient_id = current.value.recipient_id
    event = RecipientUpdated.model_validate(_recipient_fields(recipient_id, body))
    if recipient_of(event) == current.value:
        return current
    stream = recipient_stream(recipient_id)
    session.append(
        current.version, wrap(ctx, stream, current.version, stream_region(body.region_code), [event])
    )
    return Versioned(recipient_of(event), current.version + 1)


def set_rule(
    session: EventStoreSession,
    ctx: CommandContext,
    rule_id: uuid.UUID,
    current: Versioned[RoutingRule] | None,
    body: RuleBody,
) -> Versioned[RoutingRule]:
    """Append ``routing_rule_set`` after the version read; a rule set as it already is appends nothing
    (``PUT`` is idempotent)."""
    event = RoutingRuleSet(rule_id=rule_id, **body.model_dump())
    if current is not None and rule_of(event) == current.value:
        return current
    version = current.version if current else 0
    stream = rule_stream(rule_id)
    session.append(version, wrap(ctx, stream, version, stream_region(body.region_prefix), [event]))
    return Versioned(rule_of(event), version + 1)
