"""The directory (``notification-directory``): recipients and routing rules projected from the
service's own stream. Every event holds the whole recipient or rule, so each is an upsert of its
row; a replay into empty tables gives the same rows."""

from __future__ import annotations

import json

from sqlalchemy import text

from shared.events.catalogue.notification import RecipientRegistered, RecipientUpdated, RoutingRuleSet
from shared.events.envelope import Envelope, EventData
from shared.messaging.batched_writes import StepwiseProjection, Write

_RECIPIENT = text(
    """
    INSERT INTO recipients (recipient_id, name, role, region_code, channels, active, enterprise_id,
        version, registered_at, updated_at)
    VALUES (:recipient_id, :name, :role, :region_code, CAST(:channels AS jsonb), :active, :enterprise_id,
        :version, :at, :at)
    ON CONFLICT (recipient_id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,
        region_code = EXCLUDED.region_code, channels = EXCLUDED.channels, active = EXCLUDED.active,
        enterprise_id = EXCLUDED.enterprise_id, version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at
    WHERE recipients.version < EXCLUDED.version
    """
)
_RULE = text(
    """
    INSERT INTO routing_rules (rule_id, on_event, region_prefix, roles, channels, active, parties,
        condition, version, updated_at)
    VALUES (:rule_id, :on_event, :region_prefix, CAST(:roles AS jsonb), CAST(:channels AS jsonb),
        :active, CAST(:parties AS jsonb), CAST(:condition AS jsonb), :version, :at)
    ON CONFLICT (rule_id) DO UPDATE SET on_event = EXCLUDED.on_event,
        region_prefix = EXCLUDED.region_prefix, roles = EXCLUDED.roles, channels = EXCLUDED.channels,
        active = EXCLUDED.active, parties = EXCLUDED.parties, condition = EXCLUDED.condition,
        version = EXCLUDED.version,
        updated_at = EXCLUDED.updated_at
    WHERE routing_rules.version < EXCLUDED.version
    """
)


def _writes(envelope: Envelope, event: EventData) -> list[Write]:
    common = {"version": envelope.stream_version, "at": envelope.recorded_at}
    match event:
        case RecipientRegistered() | RecipientUpdated():
            channels = [c.model_dump(mode="json") for c in event.channels]
            values = {
                "recipient_id": event.recipient_id,
                "name": event.name,
                "role": event.role.value,
                "region_code": event.region_code,
                "channels": json.dumps(channels, ensure_ascii=False),
                "active": event.active,
                "enterprise_id": event.enterprise_id,
            }
            return [(_RECIPIENT, {**values, **common})]
        case RoutingRuleSet():
            values = {
                "rule_id": event.rule_id,
                "on_event": event.on_event,
                "region_prefix": event.region_prefix,
                "roles": json.dumps([r.value for r in event.roles]),
                "channels": json.dumps([c.value for c in event.channels]),
                "active": event.active,
                "parties": json.dumps([p.value for p in event.parties]),
                "condition": json.dumps(event.where, ensure_ascii=False),
            }
            return [(_RULE, {**values, **common})]
    return []


DIRECTORY_EVENTS = tuple(t.event_type for t in (RecipientRegistered, RecipientUpdated, RoutingRuleSet))
_HANDLED = frozenset(DIRECTORY_EVENTS)


class Directory(StepwiseProjection):
    name = "notification-directory"
    tables = ("recipients", "routing_rules")
    handled = _HANDLED

    def writes(self, envelope: Envelope, event: EventData) -> list[Write]:
        return _writes(envelope, event)
