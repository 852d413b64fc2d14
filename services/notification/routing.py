"""Who is told of an event, and on which channels (pure).

An active rule applies when it names the event's type (or ``*``) and its region prefix is a prefix
of the event's region. It reaches the active recipients holding one of its roles whose region
covers the event's (the recipient's prefix is a prefix of the event's region: a county officer
hears of a village in the county, a township officer not of another township's), on the channels
both the rule lists and the recipient has. Rules add up: a recipient two rules reach is told once
per channel, on the channels of either.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.notification.directory import Recipient, RoutingRule
from shared.events.catalogue.notification import ANY_EVENT, Channel, ChannelKind
from shared.regions import within


def rules_for(event_type: str, region_code: str, rules: Iterable[RoutingRule]) -> list[RoutingRule]:
    return [
        rule
        for rule in rules
        if rule.active
        and rule.on_event in (event_type, ANY_EVENT)
        and within(region_code, rule.region_prefix)
    ]


def recipients_for(
    event_type: str,
    region_code: str,
    recipients: Iterable[Recipient],
    rules: Iterable[RoutingRule],
) -> list[tuple[Recipient, Channel]]:
    """Each (recipient, channel) to tell of an event of ``event_type`` in ``region_code``, once,
    ordered by recipient id and then the recipient's own order of channels."""
    applying = rules_for(event_type, region_code, rules)
    if not applying:
        return []
    found: list[tuple[Recipient, Channel]] = []
    for recipient in sorted(recipients, key=lambda r: r.recipient_id):
        if not recipient.active or not within(region_code, recipient.region_code):
            continue
        kinds: set[ChannelKind] = set()
        for rule in applying:
            if recipient.role in rule.roles:
                kinds.update(rule.channels)
        found.extend((recipient, channel) for channel in recipient.channels if channel.kind in kinds)
    return found
