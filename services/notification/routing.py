"""Who is told of an event, and on which channels (pure).

An active rule applies when it names the event's type (or ``*``) and its region prefix is a prefix
of the event's region. By role, it reaches the active recipients holding one of its roles whose
region covers the event's (the recipient's prefix is a prefix of the event's region: a county
officer hears of a village in the county, a township officer not of another township's). By
party, it reaches the event's own people: the household's assigned contact, the recipients
registered for the enterprise the event concerns. A recipient registered for an enterprise is
reached only so, never by role: an enterprise hears of its own affairs only.

A rule's ``where`` narrows it to events whose data has given values (``{"card": ["red"]}``). A
recipient is told on the channels both a rule lists and the recipient has. Rules add up: a
recipient two rules reach is told once per channel, on the channels of either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from services.notification.directory import Recipient, RoutingRule
from shared.events.catalogue.notification import ANY_EVENT, Channel, ChannelKind, Party
from shared.regions import within


@dataclass(frozen=True)
class EventParties:
    """The people an event concerns, as found for it (``router.py``)."""

    contact: Recipient | None = None  # the household's assigned contact, by SMS
    enterprises: tuple[Recipient, ...] = ()  # the recipients of the enterprises it names


NO_PARTIES = EventParties()
_NO_DATA: Mapping[str, Any] = MappingProxyType({})


def rules_for(
    event_type: str, region_code: str, rules: Iterable[RoutingRule], data: Mapping[str, Any] = _NO_DATA
) -> list[RoutingRule]:
    """The active rules for the event's type and region whose conditions (``where``) its data meets."""
    return [
        rule
        for rule in rules
        if rule.active
        and rule.on_event in (event_type, ANY_EVENT)
        and within(region_code, rule.region_prefix)
        and rule.matches(data)
    ]


def recipients_for(
    event_type: str,
    region_code: str,
    recipients: Iterable[Recipient],
    rules: Iterable[RoutingRule],
    parties: EventParties = NO_PARTIES,
    data: Mapping[str, Any] = _NO_DATA,
) -> list[tuple[Recipient, Channel]]:
    """Each (recipient, channel) to tell of an event of ``event_type`` in ``region_code`` (its
    ``data``, for the rules' conditions), once, ordered by recipient id and then the recipient's
    own order of channels."""
    applying = rules_for(event_type, region_code, rules, data)
    if not applying:
        return []
    reached: dict[uuid.UUID, tuple[Recipient, set[ChannelKind]]] = {}

    def reach(recipient: Recipient, kinds: Iterable[ChannelKind]) -> None:
        if recipient.active:
            reached.setdefault(recipient.recipient_id, (recipient, set()))[1].update(kinds)

    for recipient in recipients:
        if recipient.enterprise_id is None and within(region_code, recipient.region_code):
            for rule in applying:
                if recipient.role in rule.roles:
                    reach(recipient, rule.channels)
    for rule in applying:
        if Party.assigned_contact in rule.parties and parties.contact is not None:
            reach(parties.contact, rule.channels)
        if Party.enterprise in rule.parties:
            for recipient in parties.enterprises:
                reach(recipient, rule.channels)
    found: list[tuple[Recipient, Channel]] = []
    for recipient_id in sorted(reached):
        recipient, kinds = reached[recipient_id]
        found.extend((recipient, channel) for channel in recipient.channels if channel.kind in kinds)
    return found
